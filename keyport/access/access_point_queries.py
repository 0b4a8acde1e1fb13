"""Reads of access points for staff: the keypads wrong PINs have blocked, and the Access points
page with each device's key and last check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy

from keyport.access.emails import in_minutes, local_time
from keyport.access.models import AccessEvent
from keyport.facilities.models import AccessPoint, Location, Unit, UnitStatus
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff

# What a wrong PIN hears: told so, or turned away unread while the keypad is slowed or blocked.
# Those refusals name no holder; a known PIN turned away by a block names its holder.
WRONG_PIN_REASONS = ("unknown_pin", "slow_down", "blocked")


@dataclass(frozen=True)
class PinBlock:
    """A keypad that wrong PINs have blocked: which, how many wrong PINs over how long, until when."""

    access_point: AccessPoint
    wrong_pins: int
    first_at: dt.datetime
    last_at: dt.datetime

    @property
    def location(self) -> Location:
        return self.access_point.location

    @property
    def in_minutes(self) -> str:
        return in_minutes((self.last_at - self.first_at).total_seconds())

    @property
    def until_local(self) -> str:
        """When the block ends, on the location's clock."""
        return local_time(self.location, self.access_point.pins_blocked_until or self.last_at)


def pin_blocks_for_staff(
    user: StaffUser, now: dt.datetime, *, location: Location | None = None
) -> list[PinBlock]:
    """The keypads blocked now at the staff member's locations, or at this one of them."""
    locations = locations_for_staff(user)
    if location is not None:
        locations = locations.filter(pk=location.pk)
    return pin_blocks_at(locations, now)


def pin_blocks_at(locations: QuerySet[Location], now: dt.datetime) -> list[PinBlock]:
    """The keypads blocked now at these locations, with the wrong PINs of their burst: one query."""
    wrong = AccessEvent.objects.filter(
        location_id=OuterRef("location_id"),
        access_point_id=OuterRef("pk"),
        occurred_at__gte=OuterRef("wrong_pins_since"),
        allowed=False,
        holder__isnull=True,
        reason__in=WRONG_PIN_REASONS,
    ).order_by()
    points = (
        AccessPoint.objects.filter(
            location__in=locations, pins_blocked_until__gt=now, retired_at__isnull=True
        )
        .select_related("location")
        .annotate(
            burst=Coalesce(Subquery(wrong.values("access_point_id").annotate(n=Count("pk")).values("n")), 0),
            burst_last=Subquery(wrong.order_by("-occurred_at").values("occurred_at")[:1]),
        )
        .order_by("location__name", "name")
    )
    return [
        PinBlock(
            access_point=point,
            wrong_pins=max(point.burst, point.wrong_pins),
            first_at=point.wrong_pins_since or point.last_wrong_pin_at or now,
            last_at=point.burst_last or point.last_wrong_pin_at or now,
        )
        for point in points
    ]


# What a device's last check answered, for staff: whether it works, and what to do when not.
DEVICE_CHECK_WORDS = {
    "ok": gettext_lazy("Opened for a PIN"),
    "unknown_pin": gettext_lazy("Refused a PIN nobody has"),
    "outside_window": gettext_lazy("Refused a PIN outside its dates"),
    "revoked": gettext_lazy("Refused a withdrawn PIN"),
    "not_mapped": gettext_lazy("Refused a PIN of no unit it serves"),
    "location_closed": gettext_lazy("Refused: the site was closed"),
    "slow_down": gettext_lazy("Refused: too many wrong PINs"),
    "blocked": gettext_lazy("Refused: keypad blocked"),
    "wrong_access_point": gettext_lazy("Misconfigured: it asks with another access point's identifier"),
    "bad_request": gettext_lazy("Misconfigured: it sends questions the API cannot read"),
    "body_too_large": gettext_lazy("Misconfigured: it sends questions far too long to read"),
}
DEVICE_MISCONFIGURED = frozenset({"wrong_access_point", "bad_request", "body_too_large"})


def access_points_at(location: Location) -> QuerySet[AccessPoint]:
    """The location's access points for its Access points page, in service first, each with its
    device key (or None) and how many units it serves: one query."""
    return (
        location.access_points.select_related("device_key")
        .annotate(unit_count=Count("unit_mappings"))
        .order_by(F("retired_at").asc(nulls_first=True), "kind", "name")
    )


def get_access_point_at(location: Location, access_point_id: int) -> AccessPoint:
    """One of the location's access points with its device key, or 404."""
    return get_object_or_404(
        location.access_points.select_related("location", "device_key"), pk=access_point_id
    )


def units_for_access_point(access_point: AccessPoint) -> QuerySet[Unit]:
    """The units an access point can be mapped to: its location's, not retired, and those it serves."""
    served = Q(access_mappings__access_point=access_point)
    return (
        Unit.objects.filter(location_id=access_point.location_id)
        .filter(~Q(status=UnitStatus.RETIRED) | served)
        .distinct()
        .order_by("number")
    )
