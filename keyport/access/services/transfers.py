"""The access side of Move out and Transfer: grants end now, or move to another unit at once or from a
date, with the shares of the old unit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from keyport.access.models import (
    AccessGrant,
    GrantOrigin,
    GrantState,
    SharedAccess,
    ShareState,
    SyncOperation,
)
from keyport.access.services.grants import _end_grants, _shares_end, grants_end_due
from keyport.access.services.outbox import _intend
from keyport.access.services.shares import _share_grant
from keyport.bookings.models import Booking
from keyport.facilities.models import Unit


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
