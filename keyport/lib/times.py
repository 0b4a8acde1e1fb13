"""One rule for times in lists: each row in its location's time zone, in Django's date formatting.

A list whose rows all share a zone names it once (a caption or its column head) and its rows do
not repeat it; a list that mixes zones names each row's zone, so that 09:00 in Chicago after 15:00
in Berlin reads as the later instant it is. Lists are ordered by the instant itself, never by a
local time.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Protocol

from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

# Dense and sortable by eye, for the dashboard's tables; the portal passes its own, friendlier one.
ROW_FORMAT = "Y-m-d H:i"
DATE_FORMAT = "Y-m-d"


class HasTimeZone(Protocol):
    """A location, or a row that knows the zone its times show in (an audit entry, a contact)."""

    @property
    def time_zone(self) -> str: ...


def zone_of(location: HasTimeZone | None) -> str:
    """The zone a row's times show in: its location's; for a row of no location, the install's."""
    if location is None or not location.time_zone:
        return timezone.get_default_timezone_name()
    return location.time_zone


def list_zone(rows: Iterable[HasTimeZone]) -> str | None:
    """The zone every row of a list shows its times in, or None when the rows mix zones (or there
    are none): then each row names its own."""
    zones = {zone_of(row) for row in rows}
    return zones.pop() if len(zones) == 1 else None


def local_time_html(
    value: dt.datetime | None, zone: str, *, list_zone: str | None, format: str = ROW_FORMAT
) -> SafeString:
    """`value` in `zone` as `<time datetime="ISO">…</time>`, followed by the zone's abbreviation
    (CET, CST) unless the list already names that zone once (`list_zone`)."""
    if value is None:
        return SafeString("")
    zone = zone or timezone.get_default_timezone_name()
    local = timezone.localtime(value, zoneinfo.ZoneInfo(zone))
    stamp = format_html(
        '<time datetime="{}">{}</time>', formats.date_format(local, "c"), formats.date_format(local, format)
    )
    if list_zone == zone:
        return stamp
    return format_html(
        '{} <abbr class="text-body-secondary" title="{}">{}</abbr>',
        stamp,
        zone,
        formats.date_format(local, "T"),
    )


def local_date_html(value: dt.datetime | None, zone: str, *, format: str = DATE_FORMAT) -> SafeString:
    """The calendar day `value` falls on in `zone` (a day needs no zone beside it)."""
    return local_time_html(value, zone, list_zone=zone or timezone.get_default_timezone_name(), format=format)


def local_day(day: dt.date) -> str:
    """A day as emails and messages write it: Fri 3 Jul 2026."""
    return f"{day:%a} {day.day} {day:%b %Y}"
