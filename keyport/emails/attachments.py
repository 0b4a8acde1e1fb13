"""Files an email carries, made when it is sent rather than when it is queued (an invoice's PDF):
the log keeps only what to attach, by kind and id, and the app that owns the kind makes the file.

An app registers a maker for each of its kinds when its emails.py loads.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


AttachmentMaker = Callable[[int], Attachment | None]
_MAKERS: dict[str, AttachmentMaker] = {}


def register_attachment(kind: str, maker: AttachmentMaker) -> None:
    if _MAKERS.get(kind, maker) is not maker:
        raise ValueError(f"Two attachment makers are registered as {kind!r}.")
    _MAKERS[kind] = maker


def attachment_ref(kind: str, object_id: int) -> dict[str, object]:
    """What an email's log row keeps of one attachment."""
    if kind not in _MAKERS:
        raise ValueError(f"{kind!r} is not a registered attachment.")
    return {"kind": kind, "id": object_id}


def attachments_made(refs: list[dict[str, object]]) -> list[Attachment]:
    """The files to attach now; one whose object is gone is left out."""
    made = []
    for ref in refs:
        attachment = _MAKERS[str(ref["kind"])](int(str(ref["id"])))
        if attachment is not None:
            made.append(attachment)
    return made
