"""Uploaded files: a file's kind read from its first bytes, and unguessable storage names."""

import secrets

# The kinds Keyport accepts, by their signature. Four fixed formats need no libmagic
# (a native library the app would then depend on); the name and the browser's claim are ignored.
SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"%PDF-", 0, "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"WEBP", 8, "image/webp", ".webp"),
)


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    """The (content type, extension) of a file from its first 16 bytes, or None when not accepted."""
    for signature, offset, content_type, extension in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if content_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return content_type, extension
    return None


def unguessable_name(folder: str, extension: str) -> str:
    return f"{folder}/{secrets.token_urlsafe(24)}{extension}"
