"""Every write of access: grants from bookings and shares, revocation, the sync outbox, decisions.

The rules in one place:
- a booking grants its customer's portal contacts its units for its dates, unless revoked;
- a share grants its guest some of the booking's units for a window inside the booking;
- a share never outlives nor outreaches its booking: whenever the booking changes, its shares
  are clamped or revoked in the same transaction;
- every change of a grant at a provider-connected location commits with its sync intent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from keyport.access.doors import (
    Door,
    GrantAtDoor,
    HolderAtDoor,
    access_event_record,
    door_for_device_key,
    holder_at_door,
)
from keyport.access.emails import keypad_blocked_email
from keyport.access.models import (
    MEMBERSHIP_REF_PREFIX,
    AccessEvent,
    AccessGrant,
    AccessHolder,
    BookingAccess,
    DeviceKey,
    GrantOrigin,
    GrantState,
    ReconcileCursor,
    RevocationOrigin,
    SharedAccess,
    ShareState,
    SyncIntent,
    SyncIntentStatus,
    SyncOperation,
    SyncState,
)
from keyport.access.providers import (
    MayStillLand,
    Provider,
    ProviderError,
    RetryLater,
    provider_for,
    provider_named,
)
from keyport.audit.services import Actor, audit_record
from keyport.bookings.models import Booking, BookingStatus
from keyport.contacts.models import Contact, Customer
from keyport.facilities.models import AccessPoint, Location, Unit, UnitAccessPoint
from keyport.lib.background import enqueue_on_commit

if TYPE_CHECKING:
    from django_tasks.base import Task

logger = logging.getLogger(__name__)

# 2 s, 4 s, ... doubling up to the cap: the last tries are half an hour apart, about 1.5 hours in all.
SYNC_MAX_ATTEMPTS = 12
SYNC_BACKOFF_CAP = dt.timedelta(minutes=30)


# Holders and PINs.


def _pin_length() -> int:
    return int(getattr(settings, "ACCESS_PIN_LENGTH", 6))


# Up to this many PINs of a length, a crowded location lists its free ones; beyond, random
# draws cannot all miss.
_PINS_LISTED_UP_TO = 10**6
NO_FREE_PIN = (
    "Every PIN of this length is taken at this location. The facility needs longer PINs "
    "(ACCESS_PIN_LENGTH) before anyone else can be given access."
)


def _new_pin(location: Location) -> str:
    """A PIN nobody at this location has: drawn at random, and when the draws keep meeting taken
    ones, picked from those still free; a ValidationError when there are none."""
    length = _pin_length()
    for _ in range(20):
        pin = "".join(secrets.choice("0123456789") for _ in range(length))
        if not AccessHolder.objects.filter(location=location, pin=pin).exists():
            return pin
    if 10**length <= _PINS_LISTED_UP_TO:
        taken = set(AccessHolder.objects.filter(location=location).values_list("pin", flat=True))
        free = [pin for pin in (f"{n:0{length}d}" for n in range(10**length)) if pin not in taken]
        if free:
            return secrets.choice(free)
    raise ValidationError({"__all__": [NO_FREE_PIN]})


def _holder(*, location: Location, contact: Contact | None, email: str, name: str) -> AccessHolder:
    lookup: dict[str, object] = (
        {"contact": contact} if contact is not None else {"contact__isnull": True, "email": email}
    )
    for _ in range(5):
        holder = AccessHolder.objects.filter(location=location, **lookup).first()
        if holder is not None:
            return holder
        try:
            with transaction.atomic():
                return AccessHolder.objects.create(
                    location=location, contact=contact, email=email, name=name, pin=_new_pin(location)
                )
        except IntegrityError:  # the PIN was taken meanwhile, or this person got their holder: again
            continue
    raise RuntimeError("Could not give this person a PIN.")


def holder_for_contact(*, location: Location, contact: Contact) -> AccessHolder:
    return _holder(location=location, contact=contact, email=contact.email or "", name=contact.full_name)


def _holders_follow_contacts(customer: Customer) -> None:
    """Holders carry their contact's email and name; a change reaches the provider with the grants."""
    holders = AccessHolder.objects.filter(contact__customer=customer).select_related("contact")
    for holder in holders:
        contact = holder.contact
        if contact is None:
            continue
        email, name = contact.email or "", contact.full_name
        if (holder.email, holder.name) == (email, name):
            continue
        holder.email, holder.name = email, name
        holder.save(update_fields=["email", "name"])
        grants = list(
            holder.grants.filter(state=GrantState.ACTIVE).select_related("booking__location", "holder")
        )
        _intend(grants, SyncOperation.UPSERT)


def holder_for_guest(*, location: Location, email: str) -> AccessHolder:
    return _holder(location=location, contact=None, email=email, name="")


# The sync outbox.


def _intend(grants: Sequence[AccessGrant], operation: SyncOperation, *, provider: str | None = None) -> None:
    """Record that the provider must learn these grants' state, in the caller's transaction; push
    after commit. `operation` is what the change calls for; the worker sends what the grant is then.
    """
    by_location: dict[int, list[AccessGrant]] = {}
    for grant in grants:
        by_location.setdefault(grant.booking.location_id, []).append(grant)
    for group in by_location.values():
        _intend_at_location(group, operation, provider or group[0].booking.location.access_provider)


def _intend_at_location(grants: list[AccessGrant], operation: SyncOperation, provider: str) -> None:
    from keyport.facilities.models import AccessProvider

    ids = [g.pk for g in grants]
    if provider == AccessProvider.BUILTIN:  # Keyport answers the doors itself: nothing to send
        on_the_way = [SyncIntentStatus.PENDING, SyncIntentStatus.SENDING]  # to a provider it left
        AccessGrant.objects.filter(pk__in=ids).exclude(sync_intents__status__in=on_the_way).update(
            sync_state=SyncState.SYNCED
        )
        return
    from keyport.access.tasks import sync_intent_push

    # An intent being sent finishes first; those still waiting are replaced by the new one.
    SyncIntent.objects.filter(grant_id__in=ids, status=SyncIntentStatus.PENDING).update(
        status=SyncIntentStatus.SUPERSEDED
    )
    intents = SyncIntent.objects.bulk_create(
        [SyncIntent(grant=g, operation=operation, provider=provider) for g in grants]
    )
    AccessGrant.objects.filter(pk__in=ids).update(sync_state=SyncState.PENDING, sync_error="")
    for grant in grants:
        grant.sync_state = SyncState.PENDING
    for intent in intents:
        if intent.pk is None:  # backends without RETURNING on bulk insert
            intent = SyncIntent.objects.get(idempotency_key=intent.idempotency_key)
        enqueue_on_commit(sync_intent_push, intent.pk)


def _backoff(attempts: int) -> dt.timedelta:
    return min(SYNC_BACKOFF_CAP, dt.timedelta(seconds=2 ** min(attempts, 16)))


def _operation_now(grant: AccessGrant, provider: str, now: dt.datetime) -> SyncOperation:
    """What this provider must hold of the grant now: its membership while the grant opens and the
    location uses the provider, else none."""
    current = grant.state == GrantState.ACTIVE and (grant.ends_at is None or grant.ends_at > now)
    used = grant.booking.location.access_provider == provider
    return SyncOperation.UPSERT if current and used else SyncOperation.DELETE


def _sendable(now: dt.datetime) -> Q:
    """Intents due, and intents whose worker's lease ran out (it died or lost its connection)."""
    return Q(status__in=[SyncIntentStatus.PENDING, SyncIntentStatus.SENDING], next_attempt_at__lte=now)


def sync_intent_process(*, intent_id: int, now: dt.datetime | None = None) -> SyncIntent:
    """Send one intent to the provider. Safe to run twice: a finished intent is left alone.

    The intent is claimed in one short transaction, leased so that nobody else sends it, the
    provider is called outside any transaction (a slow vendor must not hold the database's
    write lock), and the outcome is recorded in a second transaction. While another intent of
    the same grant is being sent, this one waits for it. A removal sent while an earlier push
    that got no answer may still land is sent again once it no longer can.
    """
    now = now or timezone.now()
    with transaction.atomic():
        intent = (
            SyncIntent.objects.select_for_update(skip_locked=True)
            .filter(_sendable(now), pk=intent_id)
            .first()
        )
        if intent is None:
            return SyncIntent.objects.get(pk=intent_id)
        sending = (
            SyncIntent.objects.filter(
                grant_id=intent.grant_id, status=SyncIntentStatus.SENDING, next_attempt_at__gt=now
            )
            .exclude(pk=intent.pk)
            .first()
        )
        if sending is not None:
            intent.next_attempt_at = sending.next_attempt_at
            intent.save(update_fields=["next_attempt_at"])
            _later(intent.pk, intent.next_attempt_at)
            return intent
        grant = AccessGrant.objects.select_related(
            "holder", "unit", "booking__location__sensorberg_account"
        ).get(pk=intent.grant_id)
        intent.operation = _operation_now(grant, intent.provider, now)
        intent.status = SyncIntentStatus.SENDING
        intent.attempts += 1
        intent.next_attempt_at = now + dt.timedelta(seconds=settings.ACCESS_SYNC_LEASE_SECONDS)
        intent.save(update_fields=["operation", "status", "attempts", "next_attempt_at"])
    error = _send_intent(intent, grant)
    with transaction.atomic():
        if isinstance(error, MayStillLand):
            _push_may_land(grant)
        current = SyncIntent.objects.select_for_update().get(pk=intent.pk)
        if current.status != SyncIntentStatus.SENDING or current.attempts != intent.attempts:
            return current  # the lease ran out and another worker sent it again
        waiting = list(
            grant.sync_intents.filter(status=SyncIntentStatus.PENDING).values_list("pk", flat=True)
        )
        if error is not None and not waiting:
            return _sync_failed(current, grant, error)
        if error is None and not waiting and current.operation == SyncOperation.DELETE:
            may_land_until = _push_may_land_until(grant)
            if may_land_until is not None and may_land_until > now:
                return _removal_unconfirmed(current, grant, until=may_land_until)
        # Done, or failed with a newer intent waiting, which carries the grant's state now.
        current.status = SyncIntentStatus.DONE if error is None else SyncIntentStatus.SUPERSEDED
        current.done_at = timezone.now()
        current.last_error = "" if error is None else str(error)[:2000]
        current.save(update_fields=["status", "done_at", "last_error"])
        if not waiting:
            AccessGrant.objects.filter(pk=grant.pk).update(sync_state=SyncState.SYNCED, sync_error="")
        from keyport.access.tasks import sync_intent_push

        for intent_waiting in waiting:
            SyncIntent.objects.filter(pk=intent_waiting).update(next_attempt_at=timezone.now())
            enqueue_on_commit(sync_intent_push, intent_waiting)
        return current


def _send_intent(intent: SyncIntent, grant: AccessGrant) -> ProviderError | None:
    """Make the provider call the intent stands for; any failure comes back as an error, never raised."""
    try:
        provider = provider_named(intent.provider, grant.booking.location)
        if intent.operation == SyncOperation.UPSERT:
            provider.push(grant, idempotency_key=str(intent.idempotency_key))
        else:
            provider.remove(grant, idempotency_key=str(intent.idempotency_key))
    except ProviderError as error:
        return error
    except Exception as error:  # a fault of ours or an answer nobody foresaw: a failed attempt, kept
        logger.exception("Sync of grant %s raised", grant.pk)
        return ProviderError(f"Keyport could not send this change ({type(error).__name__}).")
    return None


def _push_may_land(grant: AccessGrant) -> None:
    """A push of this grant got no answer: the provider may still apply it for a while."""
    until = timezone.now() + dt.timedelta(seconds=settings.SENSORBERG_LATE_PUSH_SECONDS)
    AccessGrant.objects.filter(pk=grant.pk).filter(
        Q(push_may_land_until__isnull=True) | Q(push_may_land_until__lt=until)
    ).update(push_may_land_until=until)


def _push_may_land_until(grant: AccessGrant) -> dt.datetime | None:
    return AccessGrant.objects.filter(pk=grant.pk).values_list("push_may_land_until", flat=True).get()


LATE_PUSH_NOTE = (
    "Removed at the provider, but an earlier push that got no answer may still arrive there; "
    "the removal is sent again once it no longer can."
)


def _removal_unconfirmed(intent: SyncIntent, grant: AccessGrant, *, until: dt.datetime) -> SyncIntent:
    """The removal went through (or found nothing: a 404) while a push of the grant may still
    land after it and hold the membership again. Not done: sent again once that can no longer
    happen, and the grant shows pending until then."""
    intent.status = SyncIntentStatus.PENDING
    intent.next_attempt_at = until
    intent.last_error = LATE_PUSH_NOTE
    intent.save(update_fields=["status", "next_attempt_at", "last_error"])
    AccessGrant.objects.filter(pk=grant.pk).update(sync_state=SyncState.PENDING, sync_error=LATE_PUSH_NOTE)
    _later(intent.pk, until)
    return intent


def _sync_failed(intent: SyncIntent, grant: AccessGrant, error: ProviderError) -> SyncIntent:
    intent.last_error = str(error)[:2000]
    wait = _backoff(intent.attempts)
    if isinstance(error, RetryLater):
        wait = max(wait, dt.timedelta(seconds=error.after_seconds))
    failed = intent.attempts >= SYNC_MAX_ATTEMPTS
    intent.status = SyncIntentStatus.FAILED if failed else SyncIntentStatus.PENDING
    intent.next_attempt_at = timezone.now() + wait
    intent.save(update_fields=["last_error", "status", "next_attempt_at"])
    AccessGrant.objects.filter(pk=grant.pk).update(
        sync_state=SyncState.FAILED if failed else SyncState.PENDING, sync_error=intent.last_error
    )
    logger.warning("Sync of grant %s failed (attempt %s): %s", grant.pk, intent.attempts, error)
    if not failed:
        _later(intent.pk, intent.next_attempt_at)
    return intent


def _later(intent_id: int, when: dt.datetime) -> None:
    from keyport.access.tasks import sync_intent_push

    _enqueue_at(sync_intent_push, intent_id, when=when)


def _enqueue_at(task: Task, *args: object, when: dt.datetime) -> None:
    """Schedule for an instant where the backend can; otherwise the periodic sweep catches it."""
    if task.get_backend().supports_defer:
        enqueue_on_commit(task, *args, run_after=when)


def sync_redrive(*, now: dt.datetime | None = None) -> int:
    """Send every intent that is due: a lost task, a worker restart or a backoff elapsed.

    One intent's failure is recorded on it and does not stop the others.
    """
    now = now or timezone.now()
    due = list(
        SyncIntent.objects.filter(_sendable(now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:500]
    )
    for intent_id in due:
        sync_intent_process(intent_id=intent_id, now=now)
    return len(due)


@transaction.atomic
def sync_intent_retry(*, actor: Actor, location: Location, grants: Iterable[AccessGrant]) -> int:
    """Staff's Retry on grants whose sync failed at this location: sent again from the first
    attempt. Grants of other locations, and those not failed, are left alone. Returns how many."""
    failed = [
        grant
        for grant in grants
        if grant.sync_state == SyncState.FAILED and grant.booking.location_id == location.pk
    ]
    if not failed:
        return 0
    # Each to the provider its change failed at: the location may have left it since.
    by_provider: dict[str, list[AccessGrant]] = {}
    for grant in failed:
        last = grant.sync_intents.order_by("-pk").first()
        by_provider.setdefault(last.provider if last else location.access_provider, []).append(grant)
    for provider, grants_there in by_provider.items():
        _intend(grants_there, SyncOperation.UPSERT, provider=provider)  # sent as each grant is then
    audit_record(
        actor=actor,
        action="access.sync_retried",
        target=location,
        location=location,
        details={"grants": [grant.pk for grant in failed]},
    )
    return len(failed)


def sync_reconcile(*, location: Location, units: int | None = None) -> int:
    """Read back what the provider holds and set right whatever drifted: a membership missing,
    one it should no longer hold, one whose validity, PIN or name differ, and one Keyport made
    for a grant that no longer exists. Returns how many were set right.

    With `units`, only that many of the location's units, from where the last call stopped: each
    call asks the provider a bounded number of questions, and a large site is gone through in turn.
    """
    from keyport.facilities.models import AccessProvider

    if location.access_provider == AccessProvider.BUILTIN:
        return 0
    try:
        provider = provider_for(location)
    except ProviderError as error:
        logger.warning("Reconcile of location %s skipped: %s", location.pk, error)
        return 0
    now = timezone.now()
    queued = 0
    from keyport.access.providers.sensorberg import unit_external_id

    for unit in _units_to_reconcile(location, units):
        try:
            held = provider.memberships(unit_external_id(unit))
        except ProviderError as error:
            logger.warning("Reconcile of unit %s skipped: %s", unit.pk, error)
            continue
        grants = list(
            AccessGrant.objects.filter(unit=unit)
            .select_related("booking__location", "holder", "unit")
            .exclude(sync_intents__status__in=[SyncIntentStatus.PENDING, SyncIntentStatus.SENDING])
        )
        drifted = [g for g in grants if _held_wrongly(g, held.get(g.membership_ref), now)]
        with transaction.atomic():
            _intend(drifted, SyncOperation.UPSERT)  # the worker sends what each grant is then
        queued += len(drifted) + _orphans_remove(provider, location, unit, held)
    return queued


def _units_to_reconcile(location: Location, limit: int | None) -> list[Unit]:
    """The location's units with grants, in order; with `limit`, the next ones after the last
    call's (the cursor is a row: two sweeps at once take turns on it)."""
    units = (
        Unit.objects.filter(location=location)
        .filter(Exists(AccessGrant.objects.filter(unit=OuterRef("pk"))))
        .order_by("pk")
    )
    if limit is None:
        return list(units)
    with transaction.atomic():
        ReconcileCursor.objects.get_or_create(location=location)
        cursor = ReconcileCursor.objects.select_for_update().get(location=location)
        batch = list(units.filter(pk__gt=cursor.after_unit_id)[:limit])
        cursor.after_unit_id = batch[-1].pk if len(batch) == limit else 0
        cursor.save(update_fields=["after_unit_id", "updated_at"])
    return batch


def _held_wrongly(grant: AccessGrant, held: dict[str, object] | None, now: dt.datetime) -> bool:
    """Whether the provider's copy of this grant (None: it has none) differs from what it should hold."""
    from keyport.access.providers.sensorberg import membership_body

    if _operation_now(grant, grant.booking.location.access_provider, now) == SyncOperation.DELETE:
        return held is not None
    if held is None:
        return True
    wanted = membership_body(grant)
    return any(_normalised(held.get(name)) != _normalised(value) for name, value in wanted.items())


def _normalised(value: object) -> object:
    """An instant as the same instant however it is written ("Z" or "+00:00"); anything else as is."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _orphans_remove(
    provider: Provider, location: Location, unit: Unit, held: dict[str, dict[str, object]]
) -> int:
    """Remove the memberships named after grants that no longer exist (a booking deleted from a shell)."""
    from keyport.access.providers.sensorberg import unit_external_id

    named = {
        ref: ref.removeprefix(MEMBERSHIP_REF_PREFIX) for ref in held if ref.startswith(MEMBERSHIP_REF_PREFIX)
    }
    ids = {int(grant_id) for grant_id in named.values() if grant_id.isdecimal()}
    existing = {str(pk) for pk in AccessGrant.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    orphans = sorted(ref for ref, grant_id in named.items() if grant_id not in existing)
    removed = []
    for ref in orphans:
        try:
            provider.remove_ref(unit_external_id(unit), ref, idempotency_key=str(uuid.uuid4()))
        except ProviderError as error:
            logger.warning("Reconcile could not remove %s from unit %s: %s", ref, unit.pk, error)
            continue
        removed.append(ref)
    if removed:
        audit_record(
            actor=Actor.system("access reconcile"),
            action="access.orphan_memberships_removed",
            target=unit,
            location=location,
            details={"memberships": removed},
        )
    return len(removed)


def grants_remove_from_provider(*, location: Location, provider: str) -> int:
    """The location left this provider for another: remove every grant it may still hold there
    (the active ones, and those whose last change never got there), in the caller's transaction;
    the worker sends the removals after commit."""
    grants = list(
        AccessGrant.objects.filter(booking__location=location)
        .filter(Q(state=GrantState.ACTIVE) | ~Q(sync_state=SyncState.SYNCED))
        .select_related("booking__location")
    )
    _intend(grants, SyncOperation.DELETE, provider=provider)
    return len(grants)


def grants_push_for_location(*, location: Location) -> int:
    """A location now reaches its doors through a provider (chosen, or a new login): push every
    current grant there, in the caller's transaction; the worker sends them after commit."""
    grants = list(
        AccessGrant.objects.filter(booking__location=location, state=GrantState.ACTIVE)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now()))
        .select_related("booking__location")
    )
    _intend(grants, SyncOperation.UPSERT)
    return len(grants)


# Grants from bookings.


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
    created = [
        AccessGrant.objects.create(
            holder_id=holder_id,
            unit_id=unit_id,
            booking=booking,
            origin=GrantOrigin.BOOKING,
            starts_at=windows[unit_id][0],
            ends_at=windows[unit_id][1],
        )
        for holder_id, unit_id in wanted
        if not _has_ended(windows[unit_id], now)
    ]
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


Window = tuple[dt.datetime, dt.datetime | None]


def unit_windows(booking: Booking) -> dict[int, Window]:
    """When the booking holds each of its units, as instants: a unit a transfer brought in later than
    the booking's start is held from its own first day, one a transfer on a later day takes away
    until the start of the transfer's day, the others until the booking ends."""
    location = booking.location
    ends_at = booking.ends_at()
    windows: dict[int, Window] = {}
    rows = booking.booking_units.values_list("unit_id", "starts_on", "transfer_to__starts_on")
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
    from keyport.access.emails import access_changed_emails

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


# Move-out and transfer.


def booking_access_end_now(*, booking: Booking) -> int:
    """A move-out with access ending now, once the booking's grants end at its `ended_at`: every
    share of the booking ends for good (a paused one does not come back with Restore access), and
    the grants end at once, at the provider too."""
    with transaction.atomic():
        shares = list(
            SharedAccess.objects.filter(booking=booking).filter(
                Q(state=ShareState.ACTIVE) | Q(state=ShareState.REVOKED, revoked_with_booking=True)
            )
        )
        _shares_end(shares, state=ShareState.REVOKED, reason="The tenant moved out")
        return grants_end_due(booking=booking)


@dataclass(frozen=True)
class Transferred:
    ended: list[int]  # the old unit's grants, ended now
    shares: list[int]  # the shares that had the old unit and have the new one now


def grants_transfer(*, booking: Booking, from_unit: Unit, to_unit: Unit) -> Transferred:
    """The booking moved from one unit to another: the old unit's grants end now, and each share
    of the old unit has the new one instead, with a grant for it in the share's window (paused
    along with the share while the booking's access is revoked). The booking's own grants of the
    new unit come from `grants_sync_for_booking`."""
    with transaction.atomic():
        now = timezone.now()
        old = list(
            AccessGrant.objects.filter(
                booking=booking, unit=from_unit, state=GrantState.ACTIVE
            ).select_related("booking__location")
        )
        AccessGrant.objects.filter(pk__in=[grant.pk for grant in old]).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        ).update(ends_at=now)
        _end_grants(old, state=GrantState.ENDED, reason=f"Transferred to unit {to_unit.number}")
        # A paused grant of the old unit must not come back with Restore access.
        AccessGrant.objects.filter(booking=booking, unit=from_unit, revoked_with_booking=True).update(
            revoked_with_booking=False
        )
        shares = list(SharedAccess.objects.filter(booking=booking, units=from_unit).select_related("holder"))
        created = []
        for share in shares:
            share.units.remove(from_unit)
            share.units.add(to_unit)
            paused = share.state == ShareState.REVOKED and share.revoked_with_booking
            if (share.state == ShareState.ACTIVE or paused) and share.ends_at() > now:
                created.append(
                    AccessGrant.objects.create(
                        holder=share.holder,
                        unit=to_unit,
                        booking=booking,
                        share=share,
                        origin=GrantOrigin.SHARE,
                        starts_at=share.starts_at(),
                        ends_at=share.ends_at(),
                        state=GrantState.REVOKED if paused else GrantState.ACTIVE,
                        revoked_reason="The booking's access is paused" if paused else "",
                        revoked_with_booking=paused,
                    )
                )
        _intend([grant for grant in created if grant.state == GrantState.ACTIVE], SyncOperation.UPSERT)
        return Transferred(ended=[grant.pk for grant in old], shares=[share.pk for share in shares])


def _share_grant(
    share: SharedAccess, unit: Unit, window: Window, *, paused: bool = False
) -> AccessGrant | None:
    """A grant of the unit to the share's guest, in the share's window within the unit's; None when
    they do not meet."""
    starts_at, ends_at = _within(window, share.starts_at(), share.ends_at())
    if ends_at <= starts_at:
        return None
    return AccessGrant.objects.create(
        holder=share.holder,
        unit=unit,
        booking=share.booking,
        share=share,
        origin=GrantOrigin.SHARE,
        starts_at=starts_at,
        ends_at=ends_at,
        state=GrantState.REVOKED if paused else GrantState.ACTIVE,
        revoked_reason="The booking's access is paused" if paused else "",
        revoked_with_booking=paused,
    )


def _shares_of_unit(booking: Booking, unit: Unit) -> list[SharedAccess]:
    """The booking's shares of this unit that have doors now or will again (a paused one)."""
    return list(
        SharedAccess.objects.filter(booking=booking, units=unit)
        .filter(Q(state=ShareState.ACTIVE) | Q(state=ShareState.REVOKED, revoked_with_booking=True))
        .select_related("holder", "booking__location")
    )


def grants_transfer_at(*, booking: Booking, from_unit: Unit, to_unit: Unit, at: dt.datetime) -> Transferred:
    """A transfer on a later day, at the instant `at`: each share of the old unit has the new one as
    well, with a grant for it from `at` within the share's window (paused along with the share while
    the booking's access is revoked). The booking's rows say which unit it holds when, and
    `grants_sync_for_booking` fits every grant to them: the old unit's end at `at`, where the end
    task and the sweep end them, and the new unit's start then."""
    with transaction.atomic():
        created = []
        shares = _shares_of_unit(booking, from_unit)
        for share in shares:
            share.units.add(to_unit)
            paused = share.state == ShareState.REVOKED
            grant = _share_grant(share, to_unit, (at, None), paused=paused)
            if grant is not None:
                created.append(grant)
        _intend([grant for grant in created if grant.state == GrantState.ACTIVE], SyncOperation.UPSERT)
        ending = AccessGrant.objects.filter(booking=booking, unit=from_unit, state=GrantState.ACTIVE)
        return Transferred(ended=list(ending.values_list("pk", flat=True)), shares=[s.pk for s in shares])


def grants_transfer_cancel(*, booking: Booking, from_unit: Unit, to_unit: Unit) -> list[int]:
    """A transfer on a later day is cancelled before it happens: the grants of the new unit end
    (none has opened a door yet), the shares have the old unit only, as before, and one whose grant
    of the old unit ended for the transfer has it again. The booking's own grants of the old unit
    get their end back from `grants_sync_for_booking`. Returns the grants revoked."""
    with transaction.atomic():
        new = list(
            AccessGrant.objects.filter(booking=booking, unit=to_unit, state=GrantState.ACTIVE).select_related(
                "booking__location"
            )
        )
        _end_grants(new, state=GrantState.REVOKED, reason=f"Transfer to unit {to_unit.number} cancelled")
        AccessGrant.objects.filter(booking=booking, unit=to_unit, revoked_with_booking=True).update(
            revoked_with_booking=False
        )
        restored = []
        for share in SharedAccess.objects.filter(booking=booking, units=to_unit).select_related(
            "holder", "booking__location"
        ):
            share.units.remove(to_unit)
            share.units.add(from_unit)
            has_grant = share.grants.filter(unit=from_unit, state__in=[GrantState.ACTIVE, GrantState.REVOKED])
            paused = share.state == ShareState.REVOKED and share.revoked_with_booking
            current = share.ends_at() > timezone.now()
            if (share.state == ShareState.ACTIVE or paused) and current and not has_grant.exists():
                grant = _share_grant(share, from_unit, (share.starts_at(), None), paused=paused)
                if grant is not None and grant.state == GrantState.ACTIVE:
                    restored.append(grant)
        _intend(restored, SyncOperation.UPSERT)
        return [grant.pk for grant in new]


# Shares.


@dataclass(frozen=True)
class ShareRequest:
    emails: list[str]
    units: list[Unit]
    starts_on: dt.date
    ends_on: dt.date


def share_limit() -> int:
    return int(getattr(settings, "ACCESS_SHARES_PER_BOOKING", 20))


def mapped_unit_ids(units: Iterable[Unit]) -> set[int]:
    return set(
        UnitAccessPoint.objects.filter(unit__in=list(units)).values_list("unit_id", flat=True).distinct()
    )


def share_validate(*, booking: Booking, request: ShareRequest, today: dt.date) -> None:
    """Every rule of a share, each error under its field; raises ValidationError with all of them."""
    errors: dict[str, list[str]] = {}
    booking_units = {u.pk for u in booking.units.all()}
    if not request.units:
        errors.setdefault("units", []).append("Choose at least one unit.")
    if any(u.pk not in booking_units for u in request.units):
        errors.setdefault("units", []).append("Choose only units of this booking.")
    unmapped = [u.number for u in request.units if u.pk not in mapped_unit_ids(request.units)]
    if unmapped:
        errors.setdefault("units", []).append(
            f"These units have no access points mapped yet: {', '.join(sorted(unmapped))}."
        )
    if request.starts_on < today:
        errors.setdefault("starts_on", []).append("The start date cannot be in the past.")
    if request.starts_on < booking.starts_on:
        errors.setdefault("starts_on", []).append(
            f"The start date cannot be before the booking starts ({booking.starts_on:%d %b %Y})."
        )
    if request.ends_on < request.starts_on:
        errors.setdefault("ends_on", []).append("The end date cannot be before the start date.")
    if booking.ends_on is not None and request.ends_on > booking.ends_on:
        errors.setdefault("ends_on", []).append(
            f"The end date cannot be after the booking ends ({booking.ends_on:%d %b %Y})."
        )
    refusal = share_refusal(booking, today=today)
    if refusal is not None:
        errors.setdefault("__all__", []).append(refusal)
    for message in _guests_with_access_already(booking, request):
        errors.setdefault("emails", []).append(message)
    live = (
        SharedAccess.objects.filter(booking=booking)
        .filter(state=ShareState.ACTIVE, ends_on__gte=today)
        .count()
    )
    if live + len(request.emails) > share_limit():
        errors.setdefault("emails", []).append(
            f"A booking can have at most {share_limit()} active shares; it has {live}."
        )
    if errors:
        raise ValidationError(errors)


def share_refusal(booking: Booking, *, today: dt.date) -> str | None:
    """Why this booking cannot be shared at all now, or None when it can."""
    if booking.ends_on is not None and booking.ends_on < today:
        return "This booking has ended, so it cannot be shared."
    if not booking.may_get_in_now_or_later() or booking.access_is_revoked():
        return "This booking's access is not active, so it cannot be shared."
    return None


def _guests_with_access_already(booking: Booking, request: ShareRequest) -> list[str]:
    """The asked emails that would get nothing new: the tenant's own people, and guests whose
    current share of this booking already covers some of these units on some of these days."""
    asked = {email.lower() for email in request.emails}
    own = sorted(asked & {(contact.email or "").lower() for contact in _people_with_doors(booking.customer)})
    messages = [f"{email} already has access to this booking through the account." for email in own]
    overlapping = (
        SharedAccess.objects.filter(booking=booking, state=ShareState.ACTIVE, holder__email__in=asked)
        .filter(starts_on__lte=request.ends_on, ends_on__gte=request.starts_on)
        .filter(units__in=[unit.pk for unit in request.units])
        .values_list("holder__email", flat=True)
        .distinct()
    )
    messages += [
        f"{email} already has access to some of these units on these dates; delete that share first."
        for email in sorted(set(overlapping))
    ]
    return messages


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def share_create(
    *, actor: Actor, booking: Booking, shared_by: Contact | None, request: ShareRequest
) -> list[SharedAccess]:
    """Share some of a booking's units with one or more guests, all or nothing, and email each."""
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    location = booking.location
    share_validate(booking=booking, request=request, today=location.local_now().date())
    windows = unit_windows(booking)
    shares = []
    for email in request.emails:
        holder = holder_for_guest(location=location, email=email)
        key = secrets.token_urlsafe(32)
        share = SharedAccess.objects.create(
            booking=booking,
            holder=holder,
            shared_by=shared_by,
            starts_on=request.starts_on,
            ends_on=request.ends_on,
            key_hash=_key_hash(key),
        )
        share.units.set(request.units)
        made = [_share_grant(share, unit, windows[unit.pk]) for unit in request.units if unit.pk in windows]
        grants = [grant for grant in made if grant is not None]
        _intend(grants, SyncOperation.UPSERT)
        audit_record(
            actor=actor,
            action="access.shared",
            target=share,
            location=location,
            customer=booking.customer,
            details={
                "email": email,
                "units": sorted(u.number for u in request.units),
                "starts_on": request.starts_on.isoformat(),
                "ends_on": request.ends_on.isoformat(),
                "grants": [g.pk for g in grants],
            },
        )
        from keyport.access.emails import shared_access_email

        shared_access_email(share=share, key=key)
        shares.append(share)
    return shares


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


@transaction.atomic
def share_delete(*, actor: Actor, share: SharedAccess) -> SharedAccess:
    """The tenant's Delete: the guest loses access at once, and a share paused with its booking
    does not come back with it."""
    share = SharedAccess.objects.select_for_update().select_related("booking__location").get(pk=share.pk)
    paused = share.state == ShareState.REVOKED and share.revoked_with_booking
    if share.state != ShareState.ACTIVE and not paused:
        return share
    _shares_end([share], state=ShareState.DELETED, reason="Deleted by the tenant")
    audit_record(
        actor=actor,
        action="access.share_deleted",
        target=share,
        location=share.booking.location,
        customer=share.booking.customer,
        details={"email": share.holder.email},
    )
    return share


# The operator's Revoke access / Restore access.


@transaction.atomic
def booking_revoke_access(
    *, actor: Actor, booking: Booking, reason: str, origin: RevocationOrigin = RevocationOrigin.OPERATOR
) -> Booking:
    """Revoke the booking's access and every share of it, at once and at the provider. The origin
    tells staff's Revoke access from billing's overdue lockout, which only a payment undoes."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why access is revoked."})
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    state, _ = BookingAccess.objects.get_or_create(booking=booking)
    if state.is_revoked:
        return booking
    state.revoked_at = timezone.now()
    state.revoked_reason = reason.strip()[:300]
    state.revoked_by = actor.label[:200]
    state.revoked_origin = origin
    state.save()
    grants = list(
        AccessGrant.objects.filter(
            booking=booking, origin=GrantOrigin.BOOKING, state=GrantState.ACTIVE
        ).select_related("booking__location")
    )
    _end_grants(grants, state=GrantState.REVOKED, reason=reason.strip(), with_booking=True)
    shares = list(
        SharedAccess.objects.filter(
            booking=booking, state=ShareState.ACTIVE, ends_on__gte=booking.location.local_now().date()
        )
        .select_related("holder")
        .prefetch_related("units")
    )
    _shares_end(shares, state=ShareState.REVOKED, reason=reason.strip(), with_booking=True)
    audit_record(
        actor=actor,
        action="access.booking_revoked",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={
            "reason": reason.strip(),
            "origin": origin.value,
            "grants": [g.pk for g in grants],
            "shares": [s.pk for s in shares],
        },
    )
    if booking.may_get_in_now_or_later():
        from keyport.access.emails import access_changed_emails

        access_changed_emails(booking=booking, shares=shares, revoked=True)
    return booking


@transaction.atomic
def booking_restore_access(*, actor: Actor, booking: Booking) -> Booking:
    """Give back the booking's grants, and the shares Revoke took, where their windows are still current."""
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    state = BookingAccess.objects.filter(booking=booking).first()
    if state is None or not state.is_revoked:
        return booking
    state.revoked_at = None
    state.revoked_reason = ""
    state.revoked_origin = ""
    state.save(update_fields=["revoked_at", "revoked_reason", "revoked_origin"])
    paused = SharedAccess.objects.filter(booking=booking, state=ShareState.REVOKED, revoked_with_booking=True)
    paused_ids = list(paused.values_list("pk", flat=True))
    grants_sync_for_booking(actor=actor, booking=booking)
    restored = list(
        SharedAccess.objects.filter(pk__in=paused_ids, state=ShareState.ACTIVE)
        .select_related("holder")
        .prefetch_related("units")
    )
    audit_record(
        actor=actor,
        action="access.booking_restored",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={"shares": [s.pk for s in restored]},
    )
    if booking.may_get_in_now_or_later():
        from keyport.access.emails import access_changed_emails

        access_changed_emails(booking=booking, shares=restored, revoked=False)
    return booking


# Device keys.


@transaction.atomic
@transaction.atomic
def device_key_issue(*, actor: Actor, access_point: AccessPoint) -> str:
    """Issue (or rotate) an access point's device key; the key is returned once, only its hash kept.
    A rotated key stops working at once."""
    key = "kpd_" + secrets.token_urlsafe(32)
    _, created = DeviceKey.objects.update_or_create(
        access_point=access_point,
        defaults={"key_hash": _key_hash(key), "prefix": key[:10], "created_at": timezone.now()},
    )
    audit_record(
        actor=actor,
        action="access.device_key_issued",
        target=access_point,
        location=access_point.location,
        details={"prefix": key[:10], "replaced_a_key": not created},
    )
    return key


@transaction.atomic
def device_key_revoke(*, actor: Actor, access_point: AccessPoint) -> bool:
    """Withdraw an access point's device key (a lost or stolen device): the door's checks are refused
    from now on, until a new key is issued. False when it had none."""
    deleted, _ = DeviceKey.objects.filter(access_point=access_point).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="access.device_key_revoked",
            target=access_point,
            location=access_point.location,
        )
    return bool(deleted)


def door_for_device(key: str) -> Door | None:
    """The door a device key belongs to, or None for an unknown key."""
    found = door_for_device_key(_key_hash(key))
    return found[0] if found is not None else None


# Decisions at the doors.

Reason = str
OK = "ok"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason
    retry_after: int | None = None


def _pin_throttle(door: Door, now: dt.datetime) -> Decision | None:
    """Wrong PINs at one access point: after a few, each try waits longer; after more, blocked a while.

    The counts come with the door (read with its device key), so a check spends no statement on them.
    """
    if door.pins_blocked_until is not None and door.pins_blocked_until > now:
        return Decision(False, "blocked", retry_after=_seconds_until(door.pins_blocked_until, now))
    recent = _recent_wrong_pins(door.wrong_pins, door.last_wrong_pin_at, door.pins_blocked_until, now)
    if recent >= settings.ACCESS_PIN_SLOW_AFTER and door.last_wrong_pin_at is not None:
        wait_until = door.last_wrong_pin_at + dt.timedelta(
            seconds=2 ** (recent - settings.ACCESS_PIN_SLOW_AFTER)
        )
        if now < wait_until:
            return Decision(False, "slow_down", retry_after=_seconds_until(wait_until, now))
    return None


def _recent_wrong_pins(
    count: int, last: dt.datetime | None, blocked_until: dt.datetime | None, now: dt.datetime
) -> int:
    """The wrong PINs that still count: none once the window has passed or a block has run out."""
    if last is None:
        return 0
    window = dt.timedelta(seconds=settings.ACCESS_PIN_FAILURE_WINDOW_SECONDS)
    if last <= now - window or (blocked_until is not None and blocked_until <= now):
        return 0
    return count


def _seconds_until(instant: dt.datetime, now: dt.datetime) -> int:
    return int((instant - now).total_seconds()) + 1


def _door_locked(door: Door) -> tuple[Door, AccessPoint]:
    """The door with its wrong-PIN counts as they are now, its access point's row locked until the
    transaction ends: wrong PINs typed at the same moment, in any process, are judged one by one."""
    point = AccessPoint.objects.select_for_update().get(pk=door.access_point_id)
    locked = dataclasses.replace(
        door,
        wrong_pins=point.wrong_pins,
        last_wrong_pin_at=point.last_wrong_pin_at,
        pins_blocked_until=point.pins_blocked_until,
        wrong_pin_serial=point.wrong_pin_serial,
    )
    return locked, point


# The access point's wrong-PIN counts, written together whenever one of them changes.
PIN_COUNT_FIELDS = [
    "wrong_pins",
    "last_wrong_pin_at",
    "pins_blocked_until",
    "wrong_pins_since",
    "wrong_pin_serial",
]


def _pin_failed(door: Door, *, channel: str, when: dt.datetime) -> Decision:
    """A PIN nobody here has: judged and counted with the counts locked, so that however many come
    at once, no more are answered "unknown_pin" than the slow-down and the block let through; the
    rest hear what the counts say by then. The try that blocks the keypad tells the staff."""
    # A block, not the decorator: make mutate mutates no decorated function.
    with transaction.atomic():
        locked, point = _door_locked(door)
        throttled = _pin_throttle(locked, when)
        if throttled is not None:
            access_event_record(door, channel=channel, allowed=False, reason=throttled.reason, when=when)
            return throttled
        count = (
            _recent_wrong_pins(point.wrong_pins, point.last_wrong_pin_at, point.pins_blocked_until, when) + 1
        )
        if count == 1:
            point.wrong_pins_since = when
        point.wrong_pins, point.last_wrong_pin_at = count, when
        point.wrong_pin_serial += 1
        if point.pins_blocked_until is not None and point.pins_blocked_until <= when:
            point.pins_blocked_until = None  # a block that has run out starts the count again
        if count >= settings.ACCESS_PIN_BLOCK_AFTER:
            point.pins_blocked_until = when + dt.timedelta(seconds=settings.ACCESS_PIN_BLOCK_SECONDS)
            logger.warning("Access point %s blocked after %s wrong PINs", door.access_point_id, count)
        elif count >= settings.ACCESS_PIN_SLOW_AFTER:
            logger.warning("Access point %s: %s wrong PINs; slowing down", door.access_point_id, count)
        point.save(update_fields=PIN_COUNT_FIELDS)
        access_event_record(door, channel=channel, allowed=False, reason="unknown_pin", when=when)
        if count == settings.ACCESS_PIN_BLOCK_AFTER:
            _pin_block_started(point, when=when)
        return Decision(False, "unknown_pin")


def _pin_block_started(point: AccessPoint, *, when: dt.datetime) -> None:
    """A keypad blocked: audited, and its location's managers are emailed, once for the block."""
    location = Location.objects.get(pk=point.location_id)
    audit_record(
        actor=Actor.system("Keypad"),
        action="access.pin_block_started",
        target=point,
        location=location,
        details={
            "wrong_pins": point.wrong_pins,
            "since": point.wrong_pins_since.isoformat() if point.wrong_pins_since else None,
            "blocked_until": point.pins_blocked_until.isoformat() if point.pins_blocked_until else None,
        },
    )
    keypad_blocked_email(access_point=point, location=location, when=when)


def _pin_judged_locked(door: Door, found: HolderAtDoor, *, channel: str, when: dt.datetime) -> Decision:
    """A known PIN whose door counted a wrong PIN after it was read: judged again by the counts now."""
    with transaction.atomic():
        locked, _ = _door_locked(door)
        decision = _pin_throttle(locked, when)
        grant = None
        if decision is None:
            judged = access_judge(locked, found.grants, when)
            decision, grant = judged.decision, judged.grant
        access_event_record(
            locked,
            channel=channel,
            allowed=decision.allowed,
            reason=decision.reason,
            when=when,
            holder_id=found.holder_id,
            grant=grant,
        )
        return decision


@transaction.atomic
def access_point_pin_block_lift(*, actor: Actor, access_point: AccessPoint) -> bool:
    """Lift a keypad's block by hand (a tenant who forgot their PIN, not an attack): its wrong PINs
    are forgotten and PINs open again at once. False when it was not blocked."""
    point = AccessPoint.objects.select_for_update().select_related("location").get(pk=access_point.pk)
    now = timezone.now()
    if point.pins_blocked_until is None or point.pins_blocked_until <= now:
        return False
    details = {"wrong_pins": point.wrong_pins, "blocked_until": point.pins_blocked_until.isoformat()}
    point.wrong_pins, point.last_wrong_pin_at, point.pins_blocked_until = 0, None, None
    point.wrong_pins_since = None
    point.wrong_pin_serial += 1
    point.save(update_fields=PIN_COUNT_FIELDS)
    audit_record(
        actor=actor, action="access.pin_block_lifted", target=point, location=point.location, details=details
    )
    return True


class DeviceRefused(Exception):
    """A device asked with a key that is unknown, or that belongs to another access point."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def device_access_decide(*, key: str, access_point_ref: str, pin: str) -> Decision:
    """A door's or keypad's question with its device key: may this PIN open it now? Logged either way.

    The door and the PIN's holder come in one read. Raises DeviceRefused ("invalid_device_key",
    "wrong_access_point") before anything is decided or logged.
    """
    when = timezone.now()
    found = door_for_device_key(_key_hash(key), pin=pin, when=when)
    if found is None:
        raise DeviceRefused("invalid_device_key")
    door, holder = found
    if access_point_ref != door.external_id:
        raise DeviceRefused("wrong_access_point")
    return _pin_decide(door, found=holder, channel=AccessEvent.Channel.DEVICE, when=when)


def access_decide(
    *,
    door: Door,
    channel: str,
    pin: str | None = None,
    holder: AccessHolder | None = None,
    share: SharedAccess | None = None,
    when: dt.datetime | None = None,
) -> Decision:
    """May this PIN (or this signed-in holder) open this access point now? Logged either way."""
    when = when or timezone.now()
    if pin is not None:
        return _pin_decide(door, found=holder_at_door(door, when=when, pin=pin), channel=channel, when=when)
    if holder is None:
        raise ValueError("Pass a PIN or a holder.")
    found = holder_at_door(
        door, when=when, holder_id=holder.pk, share_id=share.pk if share is not None else None
    )
    if found is None:
        raise ValueError("This holder belongs to another location.")
    return _holder_decide(door, found, channel=channel, when=when)


def _pin_decide(door: Door, *, found: HolderAtDoor | None, channel: str, when: dt.datetime) -> Decision:
    """The PIN's rules: a door slowed or blocked by wrong PINs answers so; an unknown PIN counts as one.

    No more PINs are judged than the limits allow, however many come at once: a wrong one is judged
    with the counts locked (`_pin_failed`); a known one's answer is logged, and given, only while no
    wrong PIN has been counted since the door was read, else it is judged again with them locked.
    """
    throttled = _pin_throttle(door, when)
    if throttled is not None:
        holder_id = found.holder_id if found is not None else None
        access_event_record(
            door, channel=channel, allowed=False, reason=throttled.reason, when=when, holder_id=holder_id
        )
        return throttled
    if found is None:
        return _pin_failed(door, channel=channel, when=when)
    judged = access_judge(door, found.grants, when)
    decision, grant = judged.decision, judged.grant
    logged = access_event_record(
        door,
        channel=channel,
        allowed=decision.allowed,
        reason=decision.reason,
        when=when,
        holder_id=found.holder_id,
        grant=grant,
        if_wrong_pin_serial=door.wrong_pin_serial,
    )
    return decision if logged else _pin_judged_locked(door, found, channel=channel, when=when)


def _holder_decide(door: Door, found: HolderAtDoor, *, channel: str, when: dt.datetime) -> Decision:
    judged = access_judge(door, found.grants, when)
    access_event_record(
        door,
        channel=channel,
        allowed=judged.decision.allowed,
        reason=judged.decision.reason,
        when=when,
        holder_id=found.holder_id,
        grant=judged.grant,
    )
    return judged.decision


@dataclass(frozen=True)
class Judgement:
    """A decision on a holder's grants at a door, the grant it rests on, and the facts it asked on
    the way, in order, with their answers: "mapped" (a grant on a unit this door serves),
    "opens_now" (one active and inside its window), then "opening_hours", or "active" (one neither
    revoked nor ended) and "not_ended". The doors log the decision; "Why can't they get in?"
    shows the facts and logs nothing."""

    decision: Decision
    grant: GrantAtDoor | None
    checks: tuple[tuple[str, bool], ...]


def access_judge(door: Door, grants: Sequence[GrantAtDoor], when: dt.datetime) -> Judgement:
    """The decision on a holder's grants at a door. Reads and writes nothing.

    The event is filed under the grant it rests on, so it must be the grant the reason
    comes from: a guest two tenants shared with holds grants of both bookings. Where several
    grants open the door, the oldest; where the reason is an ended or revoked grant, the newest.
    """
    checks: list[tuple[str, bool]] = []

    def check(name: str, passed: bool) -> bool:
        checks.append((name, passed))
        return passed

    def judged(decision: Decision, grant: GrantAtDoor | None) -> Judgement:
        return Judgement(decision, grant, tuple(checks))

    grants = sorted(grants, key=lambda grant: grant.grant_id)
    if not check("mapped", bool(grants)):
        return judged(Decision(False, "not_mapped"), None)
    open_now = [grant for grant in grants if grant.opens_now]
    if check("opens_now", bool(open_now)):
        if check("opening_hours", door.is_open_at(when)):
            return judged(Decision(True, OK), open_now[0])
        return judged(Decision(False, "location_closed"), open_now[0])
    active = [grant for grant in grants if grant.is_active]
    if check("active", bool(active)):
        return judged(Decision(False, "outside_window"), active[0])
    current = [grant for grant in grants if not grant.has_ended]
    if not check("not_ended", bool(current)):
        return judged(Decision(False, "outside_window"), grants[-1])
    return judged(Decision(False, "revoked"), current[-1])


def guest_share_for_key(key: str) -> SharedAccess | None:
    return (
        SharedAccess.objects.select_related("booking__location", "holder", "booking__customer")
        .filter(key_hash=_key_hash(key))
        .first()
    )


def shares_active_q() -> Q:
    return Q(state=ShareState.ACTIVE)
