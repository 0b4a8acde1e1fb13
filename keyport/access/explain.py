"""Why can't they get in? The doors' own decision for one person at one access point and instant,
with the chain of facts behind it in words staff can act on.

The answer comes from the functions the doors use (`holder_at_door`, `access_judge` and the
keypad's `_pin_throttle`), never from a copy of their rules. It is a read: it logs no access
event and counts no wrong PIN.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from keyport.access.models import (
    AccessGrant,
    AccessHolder,
    BookingAccess,
    ShareState,
    SyncState,
)
from keyport.access.queries import BookingWithAccess
from keyport.access.services import Decision, Judgement, access_judge
from keyport.access.services.decisions import _pin_throttle
from keyport.access.services.doors import Door, GrantAtDoor, holder_at_door, holders_at_doors
from keyport.contacts.models import Contact
from keyport.facilities.models import AccessPoint, AccessProvider, Location, Unit, UnitAccessPoint

PIN = "pin"
OPEN_BUTTON = "open_button"


@dataclass(frozen=True)
class ChainStep:
    check: str  # booking, share, revocation, overdue_lock, mapping, window, opening_hours, provider, keypad
    ok: bool
    text: str


@dataclass(frozen=True)
class Explanation:
    access_point: AccessPoint
    when: dt.datetime
    decision: Decision
    steps: list[ChainStep]

    @property
    def reason_text(self) -> str:
        return reason_for_staff(self.decision.reason)


def reason_for_staff(reason: str) -> str:
    words = {
        "ok": _("Allowed: the door opens."),
        "not_mapped": _("They hold no access to this access point."),
        "outside_window": _("Their access is not valid at this time."),
        "revoked": _("Their access is revoked."),
        "location_closed": _("The site is closed at this hour."),
        "slow_down": _("The keypad is slowed down after wrong PINs."),
        "blocked": _("The keypad is blocked after wrong PINs."),
    }
    return words.get(reason, reason)


def access_explain(
    *,
    access_point: AccessPoint,
    when: dt.datetime,
    channel: str,
    contact: Contact | None = None,
    holder: AccessHolder | None = None,
) -> Explanation:
    """May this contact (or this guest's holder) open this access point at `when`, and why not?"""
    if contact is not None:
        holder = AccessHolder.objects.filter(location=access_point.location_id, contact=contact).first()
    elif holder is not None and holder.location_id != access_point.location_id:
        # A guest is a holder per location: the same email's holder at this access point's.
        holder = AccessHolder.objects.filter(
            location=access_point.location_id, contact__isnull=True, email=holder.email
        ).first()
    door = Door.of(access_point)
    found = holder_at_door(door, when=when, holder_id=holder.pk) if holder is not None else None
    return _explain(
        door,
        access_point,
        when,
        channel,
        contact=contact,
        holder=holder,
        grants=found.grants if found is not None else [],
        grant_of=lambda grant_id: _grants_with_facts().filter(pk=grant_id).first(),
    )


def _explain(
    door: Door,
    access_point: AccessPoint,
    when: dt.datetime,
    channel: str,
    *,
    contact: Contact | None,
    holder: AccessHolder | None,
    grants: Sequence[GrantAtDoor],
    grant_of: Callable[[int], AccessGrant | None],
) -> Explanation:
    """The doors' decision on these grants (the keypad's throttle first, for a PIN), in words."""
    steps: list[ChainStep] = []
    throttled = None
    if channel == PIN:
        throttled = _pin_throttle(door, when)
        steps.append(_keypad_step(throttled))
    judged = access_judge(door, grants, when)
    grant = grant_of(judged.grant.grant_id) if judged.grant is not None else None
    steps += _judged_steps(judged, grant, door, access_point, when, contact=contact, holder=holder)
    if grant is not None:
        steps.append(_provider_step(access_point.location, grant))
    return Explanation(access_point, when, throttled or judged.decision, steps)


@dataclass(frozen=True)
class UnitDoors:
    """The Doors step for one unit: whether the person opens its access points now, and if not, why."""

    unit: str
    opens: bool
    why: str


def doors_of_contacts(
    contacts: Sequence[Contact], bookings: Sequence[BookingWithAccess], *, when: dt.datetime | None = None
) -> dict[int, list[UnitDoors]]:
    """The portal check's Doors step: for each person and each unit of those of these bookings that
    have not ended, whether their grants on it open all its access points now with the Open
    button, and if not, why. The same few statements however many people, units and doors."""
    when = when or timezone.now()
    current = [item for item in bookings if not item.booking.is_over_at(when)]
    units = [(item.booking, unit) for item in current for unit in item.units]
    points = _access_points_of([unit for _, unit in units])
    doors = {point.pk: Door.of(point) for mapped in points.values() for point in mapped}
    grants = {grant.pk: grant for item in current for grant in item.grants}
    holders = {(grant.holder.contact_id, grant.holder.location_id): grant.holder for grant in grants.values()}
    at_doors = holders_at_doors(list({holder.pk for holder in holders.values()}), list(doors), when=when)
    answers: dict[int, list[UnitDoors]] = {}
    for contact in contacts:
        answers[contact.pk] = []
        for booking, unit in units:
            holder = holders.get((contact.pk, booking.location_id))
            refusals = [] if points.get(unit.pk) else [_("not mapped to any access point")]
            for point in points.get(unit.pk, []):
                found = at_doors.get((holder.pk, point.pk)) if holder is not None else None
                explained = _explain(
                    doors[point.pk],
                    point,
                    when,
                    OPEN_BUTTON,
                    contact=contact,
                    holder=holder,
                    grants=[grant for grant in found.grants if grant.unit_id == unit.pk] if found else [],
                    grant_of=grants.get,
                )
                failed = [step.text for step in explained.steps if not step.ok]
                if failed:
                    refusals.append(_("%(door)s: %(why)s") % {"door": point.name, "why": " ".join(failed)})
                if holder is None:
                    break  # no access at this location: the same answer at every access point
            answers[contact.pk].append(UnitDoors(unit.number, not refusals, "; ".join(refusals)))
    return answers


def _access_points_of(units: Sequence[Unit]) -> dict[int, list[AccessPoint]]:
    mappings = (
        UnitAccessPoint.objects.filter(unit__in=list(units))
        .select_related("access_point__location")
        .prefetch_related("access_point__location__opening_hours")
        .order_by("access_point__kind", "access_point__name")
    )
    points: dict[int, list[AccessPoint]] = {}
    for mapping in mappings:
        points.setdefault(mapping.unit_id, []).append(mapping.access_point)
    return points


def _grants_with_facts() -> QuerySet[AccessGrant]:
    """Grants with what their chain speaks of: booking, its revocation, customer, share, unit."""
    return AccessGrant.objects.select_related(
        "booking__location", "booking__customer", "booking__access", "share__shared_by", "unit"
    )


def _keypad_step(throttled: Decision | None) -> ChainStep:
    if throttled is None:
        return ChainStep("keypad", True, _("Keypad: not blocked by wrong PINs."))
    return ChainStep(
        "keypad",
        False,
        _(
            "Keypad: %(reason)s PINs are refused for about %(seconds)s more seconds; "
            "the portal's Open button and the guest key page still open."
        )
        % {"reason": reason_for_staff(throttled.reason), "seconds": throttled.retry_after},
    )


def _judged_steps(
    judged: Judgement,
    grant: AccessGrant | None,
    door: Door,
    access_point: AccessPoint,
    when: dt.datetime,
    *,
    contact: Contact | None,
    holder: AccessHolder | None,
) -> list[ChainStep]:
    facts = dict(judged.checks)
    if not facts["mapped"] or grant is None:  # (a grant deleted since it was read: none)
        return _unmapped_steps(access_point, contact=contact, holder=holder)
    steps = [_origin_step(grant), _mapping_step(grant, access_point)]
    local = when.astimezone(door.zone)
    if facts["opens_now"]:
        steps.append(
            ChainStep("window", True, _("%(window)s covers this time.") % {"window": _window(grant)})
        )
        steps.append(_hours_step(access_point.location, local, open_now=facts["opening_hours"]))
    elif facts["active"]:
        steps.append(
            ChainStep(
                "window",
                False,
                _("Outside the window: %(window)s does not cover %(when)s.")
                % {"window": _window(grant), "when": date_format(local, "DATETIME_FORMAT")},
            )
        )
    elif not facts["not_ended"]:
        steps.append(ChainStep("window", False, _("Ended: %(window)s is over.") % {"window": _window(grant)}))
    else:
        steps += _revocation_steps(grant)
    return steps


def _unmapped_steps(
    access_point: AccessPoint, *, contact: Contact | None, holder: AccessHolder | None
) -> list[ChainStep]:
    location = access_point.location
    if holder is None:
        steps = [
            ChainStep(
                "booking",
                False,
                _("They hold no access at %(location)s: no grant of a booking or a share there.")
                % {"location": location.name},
            )
        ]
        if contact is not None and not contact.can_access_portal:
            steps.append(
                ChainStep(
                    "booking",
                    False,
                    _("Can access customer portal is off: bookings open doors for portal contacts only."),
                )
            )
        elif contact is not None and not contact.customer.is_active:
            steps.append(ChainStep("booking", False, _("The customer is Inactive: door access is paused.")))
        return steps
    return [
        ChainStep(
            "mapping",
            False,
            _("Not mapped: none of their units is mapped to %(door)s.") % {"door": access_point.name},
        )
    ]


def _origin_step(grant: AccessGrant) -> ChainStep:
    booking = grant.booking
    if grant.share is not None:
        sharer = grant.share.shared_by.full_name if grant.share.shared_by else booking.customer.name
        return ChainStep(
            "share",
            True,
            _("Shared access from %(sharer)s, of booking #%(booking)s of %(customer)s.")
            % {"sharer": sharer, "booking": booking.pk, "customer": booking.customer.name},
        )
    return ChainStep(
        "booking",
        True,
        _("Booking #%(booking)s of %(customer)s, from %(starts)s, %(ends)s.")
        % {
            "booking": booking.pk,
            "customer": booking.customer.name,
            "starts": date_format(booking.starts_on),
            "ends": _("until %(day)s") % {"day": date_format(booking.ends_on)}
            if booking.ends_on
            else _("open-ended"),
        },
    )


def _mapping_step(grant: AccessGrant, access_point: AccessPoint) -> ChainStep:
    return ChainStep(
        "mapping",
        True,
        _("Unit %(unit)s is mapped to %(door)s.") % {"unit": grant.unit.number, "door": access_point.name},
    )


def _window(grant: AccessGrant) -> str:
    zone = grant.booking.location.zone
    starts = date_format(grant.starts_at.astimezone(zone), "DATETIME_FORMAT")
    if grant.ends_at is None:
        return _("Their access from %(starts)s, open-ended,") % {"starts": starts}
    ends = date_format(grant.ends_at.astimezone(zone), "DATETIME_FORMAT")
    return _("Their access from %(starts)s until %(ends)s") % {"starts": starts, "ends": ends}


def _hours_step(location: Location, local: dt.datetime, *, open_now: bool) -> ChainStep:
    hours = list(location.opening_hours.all())
    if not hours:
        return ChainStep("opening_hours", True, _("No opening hours: the site is open around the clock."))
    listed = ", ".join(str(period) for period in hours)
    if open_now:
        text = _("Opening hours (%(hours)s) cover %(time)s.")
    else:
        text = _("Outside opening hours: %(hours)s do not cover %(time)s.")
    return ChainStep("opening_hours", open_now, text % {"hours": listed, "time": date_format(local, "l H:i")})


def _revocation_steps(grant: AccessGrant) -> list[ChainStep]:
    try:
        state: BookingAccess | None = grant.booking.access
    except BookingAccess.DoesNotExist:
        state = None
    if state is not None and not state.is_revoked:
        state = None
    if state is not None and state.is_overdue_lock:
        return [
            ChainStep(
                "overdue_lock",
                False,
                _(
                    "Overdue lock: an unpaid invoice locked this booking's access on %(day)s; "
                    "it opens again once the invoice is paid."
                )
                % {"day": date_format(state.revoked_at or grant.updated_at)},
            )
        ]
    if state is not None:
        return [
            ChainStep(
                "revocation",
                False,
                _("Revoke access on %(day)s by %(by)s: %(reason)s")
                % {
                    "day": date_format(state.revoked_at or grant.updated_at),
                    "by": state.revoked_by,
                    "reason": state.revoked_reason,
                },
            )
        ]
    if not grant.booking.customer.is_active:
        return [ChainStep("revocation", False, _("The customer is Inactive: door access is paused."))]
    if grant.share is not None and grant.share.state == ShareState.DELETED:
        return [ChainStep("share", False, _("The tenant deleted this shared access."))]
    return [
        ChainStep(
            "revocation",
            False,
            _("Revoked: %(reason)s") % {"reason": grant.revoked_reason or _("no reason recorded")},
        )
    ]


def _provider_step(location: Location, grant: AccessGrant) -> ChainStep:
    if location.access_provider == AccessProvider.BUILTIN:
        return ChainStep(
            "provider", True, _("Keyport's own access server answers this door: nothing to sync.")
        )
    provider = location.get_access_provider_display()
    if grant.sync_state == SyncState.SYNCED:
        return ChainStep("provider", True, _("%(provider)s: synced.") % {"provider": provider})
    if grant.sync_state == SyncState.PENDING:
        return ChainStep(
            "provider",
            False,
            _("%(provider)s: not synced yet; until the change arrives the door may still answer as before.")
            % {"provider": provider},
        )
    return ChainStep(
        "provider",
        False,
        _("%(provider)s: sync failed (%(error)s); use Retry sync on the booking.")
        % {"provider": provider, "error": grant.sync_error or _("no detail")},
    )
