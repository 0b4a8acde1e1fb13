"""Reads of the access engine, scoped to who asks."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max, Prefetch, Q, QuerySet, Subquery, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from keyport.access.models import (
    AccessEvent,
    AccessGrant,
    AccessHolder,
    BookingAccess,
    GrantState,
    MissingAccessGroup,
    ProviderCallTally,
    SensorbergAccount,
    SharedAccess,
    ShareState,
    SyncIntent,
    SyncIntentStatus,
    SyncState,
)
from keyport.bookings.models import Booking, BookingUnit
from keyport.bookings.queries import bookings_of_customer
from keyport.contacts.models import Contact, Customer
from keyport.facilities.models import (
    ACCESS_POINT_IN_SERVICE,
    AccessPoint,
    Location,
    Unit,
    UnitAccessPoint,
)
from keyport.lib.tokens import token_hash
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def access_points_of_units(units: Sequence[Unit]) -> QuerySet[AccessPoint]:
    return (
        AccessPoint.objects.filter(unit_mappings__unit__in=list(units))
        .select_related("location")
        .distinct()
        .order_by("kind", "name")
    )


def share_phase(share: SharedAccess, now: dt.datetime) -> str:
    """What the guest page says: upcoming, current, ended, or revoked/deleted."""
    if share.state != ShareState.ACTIVE:
        return "revoked"
    if now < share.starts_at():
        return "upcoming"
    if now >= share.ends_at():
        return "ended"
    return "current"


def get_booking_for_customer(customer: Customer, booking_id: int) -> Booking:
    return get_object_or_404(
        Booking.objects.select_related("location", "customer").prefetch_related("units"),
        pk=booking_id,
        customer=customer,
    )


def get_share_for_customer(customer: Customer, share_id: int) -> SharedAccess:
    return get_object_or_404(
        SharedAccess.objects.select_related("booking__location", "holder"),
        pk=share_id,
        booking__customer=customer,
    )


def shares_of_booking(booking: Booking, *, today: dt.date | None = None) -> QuerySet[SharedAccess]:
    """Current and upcoming shares (all active shares when `today` is None)."""
    shares = SharedAccess.objects.filter(booking=booking).filter(state=ShareState.ACTIVE)
    if today is not None:
        shares = shares.filter(ends_on__gte=today)
    return shares.select_related("holder").prefetch_related("units").order_by("starts_on", "pk")


def holder_of_contact(location: Location, contact: Contact) -> AccessHolder | None:
    return AccessHolder.objects.filter(location=location, contact=contact).first()


def booking_access_state(booking: Booking) -> BookingAccess | None:
    """The booking's Revoke state, None if it was never revoked (no query after select_related)."""
    try:
        return booking.access
    except BookingAccess.DoesNotExist:
        return None


def _grants_in_display_order() -> QuerySet[AccessGrant]:
    return AccessGrant.objects.select_related("holder", "unit", "share").order_by(
        "origin", "unit__number", "pk"
    )


def _shares_newest_first() -> QuerySet[SharedAccess]:
    return (
        SharedAccess.objects.select_related("holder").prefetch_related("units").order_by("-created_at", "-pk")
    )


def grants_of_booking(booking: Booking) -> QuerySet[AccessGrant]:
    return _grants_in_display_order().filter(booking=booking)


def grants_failed_to_sync(location: Location) -> QuerySet[AccessGrant]:
    """The grants at this location whose change the provider never took: staff's to retry."""
    return (
        AccessGrant.objects.filter(booking__location=location, sync_state=SyncState.FAILED)
        .select_related("holder", "unit", "booking__location", "booking__customer")
        .order_by("-updated_at", "-pk")
    )


def all_shares_of_booking(booking: Booking) -> QuerySet[SharedAccess]:
    return _shares_newest_first().filter(booking=booking)


@dataclass(frozen=True)
class BookingWithAccess:
    """One booking as the customer page shows it: its units, Revoke state, grants and shares."""

    booking: Booking
    units: list[Unit]
    access: BookingAccess | None
    grants: list[AccessGrant]
    shares: list[SharedAccess]

    @property
    def phase(self) -> str:
        return self.booking.phase_label(self.booking.location.local_now().date())

    @property
    def sync_counts(self) -> list[tuple[str, str, int]]:
        """(state, label, how many grants) for each provider sync state that occurs, worst first."""
        counts = Counter(grant.sync_state for grant in self.grants)
        order = [SyncState.FAILED, SyncState.PENDING, SyncState.SYNCED]
        return [(state.value, state.label, counts[state.value]) for state in order if counts[state.value]]


def bookings_with_access_for_staff(user: StaffUser, customer: Customer) -> list[BookingWithAccess]:
    """The customer's bookings at the staff member's locations, newest first, with their access,
    grants and shares prefetched: the same number of queries however many bookings there are."""
    bookings = (
        bookings_of_customer(customer)
        .filter(location__in=locations_for_staff(user))
        .select_related("access", "customer")
        .prefetch_related(
            Prefetch("grants", queryset=_grants_in_display_order()),
            Prefetch("shares", queryset=_shares_newest_first()),
        )
    )
    return [
        BookingWithAccess(
            booking=booking,
            units=list(booking.units.all()),
            access=booking_access_state(booking),
            grants=list(booking.grants.all()),
            shares=list(booking.shares.all()),
        )
        for booking in bookings
    ]


def events_of_units(units: Sequence[Unit], *, limit: int = 50) -> QuerySet[AccessEvent]:
    return (
        AccessEvent.objects.filter(unit__in=list(units))
        .select_related("access_point", "holder__contact", "unit")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def events_of_location(location: Location, *, limit: int = 100) -> QuerySet[AccessEvent]:
    return (
        AccessEvent.objects.filter(location=location)
        .select_related("access_point", "holder__contact", "unit")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def events_for_customer(customer: Customer, *, limit: int = 30) -> QuerySet[AccessEvent]:
    """A tenant sees their bookings' events, their guests' included.

    Asked by the bookings' units as well, which the events' index leads with (an event of a
    booking always names its unit).
    """
    bookings = Booking.objects.filter(customer=customer).values("pk")
    units = BookingUnit.objects.filter(booking__customer=customer).values("unit")
    return (
        AccessEvent.objects.filter(unit__in=units, booking__in=bookings)
        .select_related("access_point", "holder", "unit", "location")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def active_holder_q() -> Q:
    return Q(grants__state="active")


def sync_changes_on_the_way(location: Location) -> int:
    """How many grant changes at this location still wait to reach its provider (or are being sent)."""
    return SyncIntent.objects.filter(
        grant__booking__location=location,
        status__in=[SyncIntentStatus.PENDING, SyncIntentStatus.SENDING],
    ).count()


@dataclass(frozen=True)
class ProviderState:
    """What the location's access settings page shows of its Sensorberg login at work."""

    last_ok_at: dt.datetime | None
    token_expires_at: dt.datetime | None
    calls_last_hour: int
    failures_last_hour: int
    units_without_group: list[Unit]
    changes_waiting: int
    grants_failed: list[AccessGrant]


def provider_state(location: Location, *, now: dt.datetime | None = None) -> ProviderState | None:
    """The Sensorberg login's state at this location, or None without a login. Five queries."""
    account = SensorbergAccount.objects.filter(location=location).first()
    if account is None:
        return None
    now = now or timezone.now()
    hour = ProviderCallTally.objects.filter(account=account, minute__gt=now - dt.timedelta(hours=1))
    counts = hour.aggregate(calls=Sum("calls"), failures=Sum("failures"))
    last_ok_at = ProviderCallTally.objects.filter(account=account).aggregate(last=Max("last_ok_at"))["last"]
    missing = MissingAccessGroup.objects.filter(account=account).values("external_id")
    # A unit's External Identifier is its number
    # (keyport.access.providers.sensorberg.memberships.unit_external_id).
    units = list(Unit.objects.filter(location=location, number__in=Subquery(missing)).order_by("number"))
    return ProviderState(
        last_ok_at=last_ok_at,
        token_expires_at=account.token_expires_at if account.access_token else None,
        calls_last_hour=counts["calls"] or 0,
        failures_last_hour=counts["failures"] or 0,
        units_without_group=units,
        changes_waiting=sync_changes_on_the_way(location),
        grants_failed=list(grants_failed_to_sync(location)[:50]),
    )


@dataclass(frozen=True)
class EventCursor:
    """Where a page of events ends: its last event's time and id, the order's two keys.

    Written as `<UTC time>_<id>` (e.g. `2026-03-04T09:00:00.000000Z_812`), readable in a link.
    """

    occurred_at: dt.datetime
    id: int

    def __str__(self) -> str:
        return f"{self.occurred_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S.%fZ}_{self.id}"

    @classmethod
    def parse(cls, text: str) -> EventCursor:
        """The cursor a link carries; ValueError if it is not one."""
        when, separator, event_id = text.rpartition("_")
        # Up to 18 digits: any larger id would overflow the database's 64-bit integer.
        if not separator or not (event_id.isascii() and event_id.isdigit() and len(event_id) <= 18):
            raise ValueError("Not an event cursor.")
        occurred_at = dt.datetime.fromisoformat(when)
        if occurred_at.tzinfo is None:
            raise ValueError("An event cursor's time names its zone.")
        try:
            occurred_at = occurred_at.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("An event cursor's time is out of range.") from None
        return cls(occurred_at=occurred_at, id=int(event_id))


@dataclass(frozen=True)
class EventsPage:
    """One page of a location's events, newest first, and the cursor of the older page (or None)."""

    events: list[AccessEvent]
    older: EventCursor | None
    total: int  # every event of the filter, on all pages


def events_page(
    location: Location,
    *,
    unit: Unit | None = None,
    allowed: bool | None = None,
    before: EventCursor | None = None,
    limit: int = 50,
) -> EventsPage:
    """The location's events before the cursor, newest first: seeks on the (location, occurred_at)
    index, where OFFSET would read and drop every newer event first. Events of the same instant
    follow their ids, so none is shown twice or skipped across pages."""
    events = AccessEvent.objects.filter(location=location)
    if unit is not None:
        events = events.filter(unit=unit)
    if allowed is not None:
        events = events.filter(allowed=allowed)
    total = events.count()
    if before is not None:
        # The leading `occurred_at <= t` gives the database a range to seek to on the index.
        events = events.filter(occurred_at__lte=before.occurred_at).filter(
            Q(occurred_at__lt=before.occurred_at) | Q(occurred_at=before.occurred_at, id__lt=before.id)
        )
    rows = list(
        events.select_related("access_point", "holder__contact", "unit").order_by("-occurred_at", "-id")[
            : limit + 1
        ]
    )
    shown = rows[:limit]
    older = EventCursor(shown[-1].occurred_at, shown[-1].id) if len(rows) > limit else None
    return EventsPage(events=shown, older=older, total=total)


@dataclass(frozen=True)
class AccessLoss:
    """Who loses door access if a change goes ahead: the people by name, guests counted.

    Read from the grants that open doors now or later, so it names exactly those the change takes
    access from, not everyone on the account.
    """

    people: list[str]
    guests: int

    @property
    def anyone(self) -> bool:
        return bool(self.people or self.guests)

    def sentence(self) -> str:
        """ "Mara Schneider, Jonas Schneider and 1 guest lose door access now"."""
        if not self.anyone:
            return gettext("Nobody loses door access: nobody holds a grant that opens a door now or later.")
        parts = list(self.people)
        if self.guests:
            parts.append(
                ngettext("%(count)d guest", "%(count)d guests", self.guests) % {"count": self.guests}
            )
        names = (
            parts[0]
            if len(parts) == 1
            else gettext("%(names)s and %(last)s")
            % {
                "names": ", ".join(parts[:-1]),
                "last": parts[-1],
            }
        )
        if len(self.people) + self.guests == 1:
            return gettext("%(names)s loses door access now.") % {"names": names}
        return gettext("%(names)s lose door access now.") % {"names": names}


def _access_loss(grants: QuerySet[AccessGrant]) -> AccessLoss:
    now = timezone.now()
    holding = (
        grants.filter(state=GrantState.ACTIVE)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("holder__contact")
    )
    people: dict[int, Contact] = {}
    guests: set[str] = set()
    for grant in holding:
        holder = grant.holder
        if holder.contact is None:
            guests.add(holder.email.lower())
        else:
            people[holder.contact.pk] = holder.contact
    # The primary contact first, then the others in the order they were added.
    named = sorted(people.values(), key=lambda contact: (not contact.is_primary, contact.pk))
    return AccessLoss(
        people=[contact.full_name or contact.email or "" for contact in named], guests=len(guests)
    )


def access_loss_for_customer(customer: Customer) -> AccessLoss:
    """Who loses door access when the account turns Inactive: its people and every guest of it."""
    return _access_loss(AccessGrant.objects.filter(booking__customer=customer))


def access_loss_for_booking(booking: Booking) -> AccessLoss:
    """Who loses door access when the booking's access is revoked: its people and its guests."""
    return _access_loss(AccessGrant.objects.filter(booking=booking))


def access_loss_for_share(share: SharedAccess) -> AccessLoss:
    """Who loses door access when the tenant deletes the share: its guest, if their key opens anything."""
    return _access_loss(AccessGrant.objects.filter(share=share))


def access_points_for_staff(user: StaffUser, *, booked_by: Customer) -> QuerySet[AccessPoint]:
    """The doors of the staff member's locations where this customer has a booking."""
    locations = locations_for_staff(user).filter(bookings__customer=booked_by).distinct()
    return AccessPoint.objects.filter(ACCESS_POINT_IN_SERVICE, location__in=locations)


def share_limit() -> int:
    return int(getattr(settings, "ACCESS_SHARES_PER_BOOKING", 20))


def mapped_unit_ids(units: Iterable[Unit]) -> set[int]:
    return set(
        UnitAccessPoint.objects.filter(unit__in=list(units)).values_list("unit_id", flat=True).distinct()
    )


def guest_share_for_key(key: str) -> SharedAccess | None:
    return (
        SharedAccess.objects.select_related("booking__location", "holder", "booking__customer")
        .filter(key_hash=token_hash(key))
        .first()
    )
