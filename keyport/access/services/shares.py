"""Share Access: a share grants its guest some of the booking's units for a window inside the booking."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from keyport.access.emails import shared_access_email
from keyport.access.models import (
    AccessGrant,
    GrantOrigin,
    GrantState,
    SharedAccess,
    ShareState,
    SyncOperation,
)
from keyport.access.queries import mapped_unit_ids, share_limit
from keyport.access.services.grants import Window, _people_with_doors, _shares_end, _within, unit_windows
from keyport.access.services.holders import holder_for_guest
from keyport.access.services.outbox import _intend
from keyport.audit.services import Actor, audit_record
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact
from keyport.facilities.models import Unit
from keyport.lib.tokens import token_hash


@dataclass(frozen=True)
class ShareRequest:
    emails: list[str]
    units: list[Unit]
    starts_on: dt.date
    ends_on: dt.date


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
            key_hash=token_hash(key),
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
        shared_access_email(share=share, key=key)
        shares.append(share)
    return shares


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
