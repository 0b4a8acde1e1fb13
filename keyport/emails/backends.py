"""An email backend for a laptop: every message becomes one readable file under var/mail/."""

import email
import email.message
import email.policy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone
from django.utils.crypto import get_random_string


class OneFilePerMessageBackend(BaseEmailBackend):
    # Django's file backend appends every message of a connection to one file;
    # a person looking for an invite wants one file a message, named by time.

    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            name = f"{stamp}-{get_random_string(6)}.eml"
            (self.directory / name).write_bytes(message.message().as_bytes())
        return len(email_messages)


def read_message_file(path: Path) -> tuple[str, str]:
    """The recipient and the plain-text body of a message this backend wrote."""
    message = email.message_from_bytes(
        path.read_bytes(), _class=email.message.EmailMessage, policy=email.policy.default
    )
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return str(message["To"]), str(text)
