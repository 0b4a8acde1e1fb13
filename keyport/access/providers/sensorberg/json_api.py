"""Requests and answers as they go over the wire: OAuth forms, JSON:API documents, and the error
an answer's HTTP status means, told in words staff can act on."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import urllib.parse
from dataclasses import dataclass
from typing import Any

from keyport.access.providers import ProviderError, RetryLater

# A vendor asking for a longer pause is still retried after a day.
RETRY_AFTER_MAX_SECONDS = 24 * 3600.0
REFUSED = "Sensorberg refused the client id and secret."
NOT_UNDERSTOOD = "Sensorberg answered with something Keyport does not understand."
CUT_OFF = "Sensorberg's answer was cut off or garbled on the way."
# Sensorberg's REST APIs follow JSON:API: its media type, both ways.
JSON_API = "application/vnd.api+json"
GROUPS_PATH = "/v1/access-groups"
GROUP_TYPE = "access-groups"
MEMBERSHIP_TYPE = "memberships"
# A list longer than this many pages is taken for a loop.
MAX_PAGES = 10_000
# Of an error answer, only this much is read, and this much of its errors' words kept.
ERROR_BODY_MAX_BYTES = 64 * 1024
ERROR_TEXT_MAX = 300
# A gateway's answers that say nothing of whether the vendor behind it applied the call.
NO_ANSWER_STATUSES = (502, 504)


class _Unauthorized(Exception):
    pass


class _NotFound(ProviderError):
    pass


class _NoAnswer(ProviderError):
    """The request went out and no answer came back: the vendor may have applied it."""


@dataclass(frozen=True)
class _Outgoing:
    method: str
    path: str  # below the base URL, with its query
    headers: dict[str, str]
    content: bytes | None = None


def _form_request(path: str, form: dict[str, str]) -> _Outgoing:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    return _Outgoing("POST", path, headers, urllib.parse.urlencode(form).encode())


def _status_error(status: int, retry_after: str | None, request: _Outgoing, detail: str = "") -> Exception:
    """The error for an answer with this HTTP status, followed by what its JSON:API `errors` said.

    The error's `summary` is the message without the vendor's words, for Test connection.
    """
    if status == 401:
        return _Unauthorized()
    if status == 403:
        return ProviderError(REFUSED, status=status)
    if status == 429:
        return RetryLater(
            "Sensorberg asked us to slow down (429).",
            after_seconds=retry_after_seconds(retry_after),
            status=status,
        )
    path = urllib.parse.urlsplit(request.path).path
    summary = f"Sensorberg answered {status} to {request.method} {path}."
    message = f"{summary} {detail}" if detail else summary
    kind = _NotFound if status == 404 else _NoAnswer if status in NO_ANSWER_STATUSES else ProviderError
    error = kind(message, status=status)
    error.summary = summary  # type: ignore[attr-defined]
    return error


def _errors_said(raw: bytes) -> str:
    """What a JSON:API errors document says, for staff: each error's title and detail, in one
    line, without control characters and cut short; "" for any other body."""
    try:
        document = json.loads(raw)
    except ValueError:
        return ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return ""
    said = []
    for error in errors[:3]:
        if not isinstance(error, dict):
            continue
        words = [error.get(name) for name in ("title", "detail")]
        text = ": ".join(str(word) for word in words if isinstance(word, str) and word)
        if text:
            said.append("".join(c if c.isprintable() else " " for c in text))
    joined = "; ".join(said)
    return joined if len(joined) <= ERROR_TEXT_MAX else joined[: ERROR_TEXT_MAX - 1] + "…"


def _resources(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The resources of a JSON:API list document: each with `type` `kind`, an `id` (as str) and
    `attributes`; anything else is not understood."""
    data = answer.get("data")
    if not isinstance(data, list):
        raise ProviderError(NOT_UNDERSTOOD)
    resources = []
    for item in data:
        if not isinstance(item, dict) or item.get("type") != kind:
            raise ProviderError(NOT_UNDERSTOOD)
        attributes = item.get("attributes", {})
        if not isinstance(attributes, dict):
            raise ProviderError(NOT_UNDERSTOOD)
        resources.append({"id": _identifier(item), "attributes": attributes})
    return resources


def _identifier(item: dict[str, Any]) -> str:
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ProviderError(NOT_UNDERSTOOD)
    return str(value)


def _next_link(answer: dict[str, Any]) -> str | None:
    """A list document's `links.next` (a string, or an object with `href`), or None."""
    links = answer.get("links") or {}
    following = links.get("next") if isinstance(links, dict) else None
    if isinstance(following, dict):
        following = following.get("href")
    if following is None:
        return None
    if not isinstance(following, str) or not following:
        raise ProviderError(NOT_UNDERSTOOD)
    return following


def _path_part(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float:
    """A Retry-After header in seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 1.0
        if when.tzinfo is None:  # "-0000": the RFC's GMT
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return 1.0 if math.isnan(seconds) else RETRY_AFTER_MAX_SECONDS
    return min(max(0.0, seconds), RETRY_AFTER_MAX_SECONDS)


def _refusal(error: _Unauthorized | ProviderError) -> tuple[int | None, str]:
    """The status and Keyport's words for a refused step of Test connection, never the answer's body."""
    if isinstance(error, _Unauthorized):
        return 401, REFUSED
    return error.status, getattr(error, "summary", str(error))
