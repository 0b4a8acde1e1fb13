"""Uploaded files: a file's kind read from its first bytes, unguessable storage names, and images
opened with a cap on their pixels."""

import contextlib
import secrets
from collections.abc import Iterator
from typing import IO

from PIL import Image

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


# The most pixels an uploaded image may have: decoded, each costs 3-4 bytes of memory, so this keeps
# one upload under about 160 MB however well its file compresses (a PNG of one colour is tiny).
MAX_IMAGE_PIXELS = 40_000_000
PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


class ImageTooLarge(ValueError):
    """An uploaded image has more than MAX_IMAGE_PIXELS pixels."""


@contextlib.contextmanager
def open_uploaded_image(upload: IO[bytes], *, content_type: str) -> Iterator[Image.Image]:
    """An uploaded image opened as the format its first bytes named, refused with ImageTooLarge
    before any pixel is decoded: Image.open reads only the header, the pixels load on first use.

    Unreadable files raise UnidentifiedImageError or OSError (Pillow's own bomb check:
    DecompressionBombError).
    """
    upload.seek(0)
    with Image.open(upload, formats=[PILLOW_FORMATS[content_type]]) as opened:
        width, height = opened.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ImageTooLarge(f"{width} × {height} pixels")
        yield opened
