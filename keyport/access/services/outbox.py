"""The sync outbox: every grant change at a provider-connected location commits with its intent, which
a task sends, backs off, retries and reconciles."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from keyport.access.models import (
    MEMBERSHIP_REF_PREFIX,
    AccessGrant,
    GrantState,
    ReconcileCursor,
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
from keyport.access.providers.sensorberg.memberships import membership_body, unit_external_id
from keyport.audit.services import Actor, audit_record
from keyport.facilities.models import AccessProvider, Location, Unit
from keyport.lib.background import enqueue_on_commit

if TYPE_CHECKING:
    from django_tasks.base import Task


logger = logging.getLogger(__name__)


# 2 s, 4 s, ... doubling up to the cap: the last tries are half an hour apart, about 1.5 hours in all.
SYNC_MAX_ATTEMPTS = 12
SYNC_BACKOFF_CAP = dt.timedelta(minutes=30)


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
    if location.access_provider == AccessProvider.BUILTIN:
        return 0
    try:
        provider = provider_for(location)
    except ProviderError as error:
        logger.warning("Reconcile of location %s skipped: %s", location.pk, error)
        return 0
    now = timezone.now()
    queued = 0
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
