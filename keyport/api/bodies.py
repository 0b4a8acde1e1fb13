"""The request bodies the API takes: one flat JSON object of a few scalar values, small.

Nothing else reaches the JSON parser. A body of nested arrays or objects would have Python's
parser recurse once a level (a thousand `[` end in a RecursionError); a shape check first, in one
regular expression that runs in C without recursing, lets only objects whose values are strings,
numbers, true, false or null through, and the parser then meets nothing nested.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

# `{`, then anything but brackets and quotes, or whole strings (which may hold any of them),
# then `}`. The alternatives start with different characters, so the match never backtracks.
_FLAT_OBJECT = re.compile(r'\s*\{(?:[^"{}\[\]]|"(?:[^"\\]|\\.)*")*\}\s*', re.DOTALL)

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class BodyRefused:
    """Why a body was refused, as the API answers it."""

    error: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


def flat_json_object(request: HttpRequest, *, max_bytes: int) -> dict[str, Scalar] | BodyRefused:
    """The body as one flat JSON object, or why it is not one (too large, not UTF-8, not JSON,
    not an object, or an object holding arrays or objects). At most `max_bytes` are read."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isascii() or not declared.isdigit() or int(declared) > max_bytes:
        return _too_large(max_bytes)
    raw = request.read(max_bytes + 1)
    if len(raw) > max_bytes:
        return _too_large(max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BodyRefused("bad_request", "The body must be UTF-8 encoded JSON.")
    if _FLAT_OBJECT.fullmatch(text) is None:
        return _not_flat()
    try:
        body: Any = json.loads(text, parse_constant=_no_constant)
    except ValueError:  # also NaN and Infinity, and numbers of more digits than Python reads
        return _not_flat()
    if not isinstance(body, dict) or not all(_is_scalar(value) for value in body.values()):
        return _not_flat()
    return body


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _no_constant(name: str) -> None:
    raise ValueError(name)


def _not_flat() -> BodyRefused:
    return BodyRefused(
        "bad_request",
        "The body must be one JSON object whose values are strings, numbers, true, false or null.",
    )


def _too_large(max_bytes: int) -> BodyRefused:
    return BodyRefused("body_too_large", f"The body must be at most {max_bytes} bytes.")
