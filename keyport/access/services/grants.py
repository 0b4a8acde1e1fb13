"""Grants from bookings: a booking grants its customer's portal people its units for its dates, unless
revoked; its shares follow it; ended grants are ended."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from keyport.access.emails import access_changed_emails
from keyport.access.models import (
    AccessGrant,
    GrantOrigin,
    GrantState,
    SharedAccess,
    ShareState,
    SyncOperation,
)
from keyport.access.services.holders import _holders_follow_contacts, holder_for_contact
from keyport.access.services.outbox import _enqueue_at, _intend
from keyport.audit.services import Actor, audit_record
from keyport.bookings.models import Booking, BookingStatus
from keyport.contacts.models import Contact, Customer
from keyport.facilities.models import Location


def _people_with_doors(customer: Customer) -> list[Contact]:
    """An active account's portal people; a paused account's get no doors."""
    return customer.portal_people() if customer.is_active else []


def _end_grants(
    grants: list[AccessGrant], *, state: GrantState, reason: str, with_booking: bool = False
) -> None:
    if not grants:
        return
    now = timezone.now()
    AccessGrant.objects.filter(pk__in=[g.pk for g in grants]).update(
        state=state, revoked_reason=reason[:300], revoked_with_booking=with_booking, updated_at=now
    )
    for grant in grants:
        grant.state = state
    _intend(grants, SyncOperation.DELETE)


@transaction.atomic
def grants_sync_for_booking(*, actor: Actor, booking: Booking) -> list[AccessGrant]:
    """Make the booking's grants and its shares match the booking as it now is."""
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    location = booking.location
    windows = unit_windows(booking)
    active = list(
        AccessGrant.objects.filter(
            booking=booking, origin=GrantOrigin.BOOKING, state=GrantState.ACTIVE
        ).select_related("booking__location")
    )
    wanted: dict[tuple[int, int], None] = {}
    revoked = booking.access_is_revoked()
    if not booking.is_cancelled and not revoked:
        for contact in _people_with_doors(booking.customer):
            holder = holder_for_contact(location=location, contact=contact)
            for unit_id in windows:
                wanted[(holder.pk, unit_id)] = None
    ends_at = booking.ends_at()
    gone, changed = [], []
    for grant in active:
        if (grant.holder_id, grant.unit_id) not in wanted:
            gone.append(grant)
            continue
        wanted.pop((grant.holder_id, grant.unit_id))
        starts_at, unit_ends_at = windows[grant.unit_id]
        if grant.starts_at != starts_at or grant.ends_at != unit_ends_at:
            grant.starts_at, grant.ends_at, grant.updated_at = starts_at, unit_ends_at, timezone.now()
            grant.save(update_fields=["starts_at", "ends_at", "updated_at"])
            changed.append(grant)
    now = timezone.now()
    created = _grants_give_back(booking, wanted, windows, now)
    reason = "Booking cancelled" if booking.is_cancelled else "No longer a portal contact of the booking"
    _end_grants(gone, state=GrantState.REVOKED, reason=reason)
    _intend(created + changed, SyncOperation.UPSERT)
    shares_changed = _shares_follow_booking(booking, paused=revoked or not booking.customer.is_active)
    if created or changed or gone or shares_changed:
        audit_record(
            actor=actor,
            action="access.booking_synced",
            target=booking,
            location=location,
            customer=booking.customer,
            details={
                "granted": [g.pk for g in created],
                "changed": [g.pk for g in changed],
                "revoked": [g.pk for g in gone],
                "shares_changed": shares_changed,
            },
        )
    from keyport.access.tasks import booking_access_end

    if ends_at is not None:
        _enqueue_at(booking_access_end, booking.pk, when=ends_at)
    # A transfer on a later day: the end task also runs when it takes the old unit away.
    moves = {until for _, until in windows.values() if until is not None and now < until != ends_at}
    for when in sorted(moves):
        _enqueue_at(booking_access_end, booking.pk, when=when)
    return created + changed


def _grants_give_back(
    booking: Booking, wanted: dict[tuple[int, int], None], windows: dict[int, Window], now: dt.datetime
) -> list[AccessGrant]:
    """The grants a booking should have and has not: a grant that Revoke access took comes back as
    the same grant (one row, its states over time in the audit), any other is a new grant."""
    paused = {
        (grant.holder_id, grant.unit_id): grant
        for grant in AccessGrant.objects.filter(
            booking=booking, origin=GrantOrigin.BOOKING, state=GrantState.REVOKED, revoked_with_booking=True
        ).order_by("pk")
    }
    given: list[AccessGrant] = []
    for holder_id, unit_id in wanted:
        starts_at, ends_at = windows[unit_id]
        if _has_ended(windows[unit_id], now):
            continue
        grant = paused.get((holder_id, unit_id))
        if grant is None:
            grant = AccessGrant.objects.create(
                holder_id=holder_id,
                unit_id=unit_id,
                booking=booking,
                origin=GrantOrigin.BOOKING,
                starts_at=starts_at,
                ends_at=ends_at,
            )
        else:
            grant.state, grant.revoked_reason, grant.revoked_with_booking = GrantState.ACTIVE, "", False
            grant.starts_at, grant.ends_at, grant.updated_at = starts_at, ends_at, now
            grant.save(
                update_fields=[
                    "state",
                    "revoked_reason",
                    "revoked_with_booking",
                    "starts_at",
                    "ends_at",
                    "updated_at",
                ]
            )
        given.append(grant)
    return given


Window = tuple[dt.datetime, dt.datetime | None]


def unit_windows(booking: Booking) -> dict[int, Window]:
    """When the booking holds each of its units, as instants: a unit a transfer brought in later than
    the booking's start is held from its own first day, one a transfer on a later day takes away
    until the start of the transfer's day, the others until the booking ends."""
    location = booking.location
    ends_at = booking.ends_at()
    windows: dict[int, Window] = {}
    rows = booking.booking_units.order_by("unit_id").values_list(
        "unit_id", "starts_on", "transfer_to__starts_on"
    )
    for unit_id, first, transferred_on in rows:
        until = ends_at
        if transferred_on is not None:
            moved_at = location.start_of_day(transferred_on)
            until = moved_at if ends_at is None else min(ends_at, moved_at)
        windows[unit_id] = (max(booking.starts_at(), location.start_of_day(first)), until)
    return windows


def _within(window: Window, starts_at: dt.datetime, ends_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The part of a unit's window inside a share's window (it may be empty: start not before end)."""
    unit_starts_at, unit_ends_at = window
    return max(starts_at, unit_starts_at), ends_at if unit_ends_at is None else min(ends_at, unit_ends_at)


def _has_ended(window: Window, now: dt.datetime) -> bool:
    return window[1] is not None and window[1] <= now


def _shares_follow_booking(booking: Booking, *, paused: bool) -> list[int]:
    """Keep the booking's shares inside it: none outlives or outreaches it.

    A share that no longer fits is revoked for good. While the booking's access is `paused`
    (revoked by the operator, or the tenant's account inactive) its shares are revoked with it,
    and they come back once it is not, where their window is still current.
    """
    changed: list[int] = []
    booking_units = set(booking.units.values_list("pk", flat=True))
    today = booking.location.local_now().date()
    shares = SharedAccess.objects.filter(booking=booking).filter(
        Q(state=ShareState.ACTIVE)
        | Q(state=ShareState.REVOKED, revoked_with_booking=True, ends_on__gte=today)
    )
    gone: list[SharedAccess] = []
    to_pause: list[SharedAccess] = []
    to_resume: list[SharedAccess] = []
    current: list[SharedAccess] = []
    for share in shares.prefetch_related("units"):
        if _share_outside_booking(share, booking, booking_units):
            gone.append(share)
        elif share.state == ShareState.ACTIVE:
            (to_pause if paused else current).append(share)
        elif not paused:
            to_resume.append(share)
    # A paused share that no longer fits is revoked for good as well: it will not come back.
    _shares_end(gone, state=ShareState.REVOKED, reason="The booking no longer covers this share")
    _shares_end(
        to_pause, state=ShareState.REVOKED, reason="The booking's access is paused", with_booking=True
    )
    _shares_resume(to_resume)
    windows = unit_windows(booking)
    for share in current + to_resume:
        if _share_clamp(share, booking, windows):
            changed.append(share.pk)
    return changed + [share.pk for share in gone + to_pause + to_resume]


def _share_outside_booking(share: SharedAccess, booking: Booking, booking_units: set[int]) -> bool:
    return (
        booking.is_cancelled
        or not {unit.pk for unit in share.units.all()} <= booking_units
        or (booking.ends_on is not None and share.starts_on > booking.ends_on)
        or share.ends_on < booking.starts_on
    )


def _shares_resume(shares: Sequence[SharedAccess]) -> None:
    """Give back shares, and their grants, that were revoked with their booking's access."""
    if not shares:
        return
    SharedAccess.objects.filter(pk__in=[share.pk for share in shares]).update(
        state=ShareState.ACTIVE, revoked_with_booking=False, ended_at=None
    )
    for share in shares:
        share.state, share.revoked_with_booking, share.ended_at = ShareState.ACTIVE, False, None
    grants = AccessGrant.objects.filter(
        share__in=list(shares), state=GrantState.REVOKED, revoked_with_booking=True
    )
    resumed = list(grants.select_related("booking__location"))
    AccessGrant.objects.filter(pk__in=[g.pk for g in resumed]).update(
        state=GrantState.ACTIVE, revoked_reason="", revoked_with_booking=False, updated_at=timezone.now()
    )
    for grant in resumed:
        grant.state = GrantState.ACTIVE
    _intend(resumed, SyncOperation.UPSERT)


def _share_clamp(share: SharedAccess, booking: Booking, windows: dict[int, Window]) -> bool:
    """Fit a share's dates inside its booking's, and its grants' instants to the share's local dates
    (which move with the location's time zone) within the booking's window of each grant's unit.
    A grant left with no time at all ends. True when anything changed."""
    first = max(share.starts_on, booking.starts_on)
    last = share.ends_on if booking.ends_on is None else min(share.ends_on, booking.ends_on)
    dates_changed = (first, last) != (share.starts_on, share.ends_on)
    if dates_changed:
        share.starts_on, share.ends_on = first, last
        share.save(update_fields=["starts_on", "ends_on"])
    share_starts_at, share_ends_at = share.starts_at(), share.ends_at()
    moved, empty = [], []
    for grant in share.grants.filter(state=GrantState.ACTIVE).select_related("booking__location"):
        window = windows.get(grant.unit_id, (share_starts_at, share_ends_at))
        starts_at, ends_at = _within(window, share_starts_at, share_ends_at)
        if ends_at <= starts_at:
            empty.append(grant)
        elif (grant.starts_at, grant.ends_at) != (starts_at, ends_at):
            grant.starts_at, grant.ends_at, grant.updated_at = starts_at, ends_at, timezone.now()
            grant.save(update_fields=["starts_at", "ends_at", "updated_at"])
            moved.append(grant)
    _intend(moved, SyncOperation.UPSERT)
    _end_grants(
        empty, state=GrantState.ENDED, reason="The booking does not hold this unit in the share's window"
    )
    return dates_changed or bool(moved) or bool(empty)


def grants_sync_for_customer(
    *, actor: Actor, customer: Customer, tell_people: bool = False, reason: str = ""
) -> None:
    """The account's people changed (added, portal access switched, new email or name) or the
    account turned (in)active: its holders and the grants of its current bookings follow.

    With `tell_people`, a booking whose doors all shut for its people and guests sends the "Access
    revoked" emails (with `reason` for the tenant's people), one whose doors open again "Access restored".
    """
    with transaction.atomic():
        _holders_follow_contacts(customer)
        before = _bookings_opening(customer) if tell_people else {}
        _grants_sync_for_current(actor, customer.bookings.all())
        if tell_people:
            _tell_access_changed(before, _bookings_opening(customer), reason=reason)


def _bookings_opening(customer: Customer) -> dict[int, set[int]]:
    """For each of the account's bookings whose grants open a door now or later: its shares that do."""
    now = timezone.now()
    opening = AccessGrant.objects.filter(booking__customer=customer, state=GrantState.ACTIVE).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )
    bookings: dict[int, set[int]] = {}
    for booking_id, share_id in opening.values_list("booking_id", "share_id"):
        shares = bookings.setdefault(booking_id, set())
        if share_id is not None:
            shares.add(share_id)
    return bookings


def _tell_access_changed(before: dict[int, set[int]], after: dict[int, set[int]], *, reason: str) -> None:
    for booking_id in sorted(set(before) ^ set(after)):
        revoked = booking_id in before
        share_ids = before[booking_id] if revoked else after[booking_id]
        booking = Booking.objects.select_related("location", "customer").get(pk=booking_id)
        shares = list(
            SharedAccess.objects.filter(pk__in=share_ids).select_related("holder").prefetch_related("units")
        )
        access_changed_emails(booking=booking, shares=shares, revoked=revoked, reason=reason)


@transaction.atomic
def grants_sync_for_location(*, actor: Actor, location: Location) -> None:
    """The location's time zone changed: its bookings' and shares' local dates are other instants now."""
    _grants_sync_for_current(actor, Booking.objects.filter(location=location))


def _grants_sync_for_current(actor: Actor, bookings: QuerySet[Booking]) -> None:
    """Sync the grants of those of these bookings that have not ended."""
    now = timezone.now()
    current = bookings.exclude(status=BookingStatus.CANCELLED).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=now.date() - dt.timedelta(days=1))
    )
    for booking in current.select_related("location"):
        ends_at = booking.ends_at()
        if ends_at is None or ends_at > now:
            grants_sync_for_booking(actor=actor, booking=booking)


# The most grants one sweep ends: a backlog (after downtime) is ended over the runs that follow.
GRANTS_ENDED_PER_SWEEP = 5000


def grants_end_due(*, now: dt.datetime | None = None, booking: Booking | None = None) -> int:
    """End grants whose window is over (the booking's end, a share's end) and tell the provider."""
    # A block, not the decorator: make mutate mutates no decorated function.
    with transaction.atomic():
        now = now or timezone.now()
        due = AccessGrant.objects.filter(state=GrantState.ACTIVE, ends_at__lte=now)
        if booking is not None:
            due = due.filter(booking=booking)
        # Locked, and those locked elsewhere skipped: the end task and the sweep, or a Delete or a
        # Revoke at the same moment, must not end the same grant twice or write over its revocation.
        grants = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("booking__location", "booking__customer")
            .order_by("booking_id", "pk")[:GRANTS_ENDED_PER_SWEEP]
        )
        if not grants:
            return 0
        _end_grants(grants, state=GrantState.ENDED, reason="The window ended")
        by_booking: dict[int, list[AccessGrant]] = {}
        for grant in grants:
            by_booking.setdefault(grant.booking_id, []).append(grant)
        for group in by_booking.values():
            ended = group[0].booking
            audit_record(
                actor=Actor.system("access sweep"),
                action="access.window_ended",
                target=ended,
                location=ended.location,
                customer=ended.customer,
                details={"grants": [g.pk for g in group]},
            )
        return len(grants)


def _shares_end(
    shares: Sequence[SharedAccess], *, state: ShareState, reason: str, with_booking: bool = False
) -> None:
    """End these shares and their active grants: a few statements, however many shares."""
    if not shares:
        return
    now = timezone.now()
    SharedAccess.objects.filter(pk__in=[share.pk for share in shares]).update(
        state=state, revoked_with_booking=with_booking, ended_at=now
    )
    for share in shares:
        share.state, share.revoked_with_booking, share.ended_at = state, with_booking, now
    AccessGrant.objects.filter(share__in=list(shares), revoked_with_booking=True).exclude(
        state=GrantState.ACTIVE
    ).update(revoked_with_booking=with_booking)
    grants = list(
        AccessGrant.objects.filter(share__in=list(shares), state=GrantState.ACTIVE).select_related(
            "booking__location"
        )
    )
    _end_grants(grants, state=GrantState.REVOKED, reason=reason, with_booking=with_booking)
