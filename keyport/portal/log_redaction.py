import logging
import re

TOKEN_IN_PATH = re.compile(r"(/login/link/|/key/)[^/\s\"?]+")


class RedactSignInTokens(logging.Filter):
    """Removes magic-link tokens and guest keys from log lines, such as request paths logged by runserver."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/login/link/" in message or "/key/" in message:
            record.msg = TOKEN_IN_PATH.sub(r"\1[redacted]", message)
            record.args = None
        return True
