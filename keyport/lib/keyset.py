"""Keyset paging: a page seeks past the last row of the page before it on the sort's keys.

As fast at row 100,000 as at row 1, where OFFSET would read and drop every row before the
page. A sort is a tuple of keys ending in the id, so that it is total; a cursor holds the
values of those keys for one row, encoded for a link.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Q

Row = TypeVar("Row")


@dataclass(frozen=True)
class Window(Generic[Row]):
    """The rows of one page and whether there are pages before and after it."""

    rows: list[Row]
    has_previous: bool
    has_next: bool


# fetch(beyond, backwards): up to size + 1 rows matching `beyond`, nearest the cursor first
# when backwards, returned in the page's order.
Fetch = Callable[[Q, bool], list[Row]]


def seek_window(
    fetch: Fetch[Row],
    *,
    keys: tuple[str, ...],
    descending: bool,
    after: list[Any] | None,
    before: list[Any] | None,
    size: int,
) -> Window[Row]:
    """The page after (or before) a cursor's values, or the first page when there is none.

    A Previous page that turns out empty (its rows went meanwhile) gives the first page.
    """
    if before is not None:
        rows = fetch(rows_beyond(keys, before, forwards=descending), True)
        if rows:
            return Window(rows[-size:], has_previous=len(rows) > size, has_next=True)
    if after is not None:
        rows = fetch(rows_beyond(keys, after, forwards=not descending), False)
        return Window(rows[:size], has_previous=True, has_next=len(rows) > size)
    rows = fetch(Q(), False)
    return Window(rows[:size], has_previous=False, has_next=len(rows) > size)


def rows_beyond(keys: tuple[str, ...], values: list[Any], *, forwards: bool) -> Q:
    """Rows whose keys come after `values` (forwards) or before them, as (a > x) or (a = x and b > y)...

    The leading `a >= x` gives the database a range to seek to on the index.
    """
    step = "gt" if forwards else "lt"
    beyond = Q()
    for position, key in enumerate(keys):
        equal = {keys[n]: values[n] for n in range(position)}
        beyond |= Q(**equal, **{f"{key}__{step}": values[position]})
    return Q(**{f"{keys[0]}__{step}e": values[0]}) & beyond


def encode_cursor_values(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor_values(cursor: str, count: int) -> list[Any] | None:
    """The list of `count` values a cursor holds, unchecked; None if it is not one."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != count:
        return None
    return values


def is_cursor_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
