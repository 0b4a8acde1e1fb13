"""The operator's Revoke access and Restore access, and billing's overdue lockout through them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keyport.access.emails import access_changed_emails
from keyport.access.models import (
    AccessGrant,
    BookingAccess,
    GrantOrigin,
    GrantState,
    RevocationOrigin,
    SharedAccess,
    ShareState,
)
from keyport.access.services.grants import _end_grants, _shares_end, grants_sync_for_booking
from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from keyport.bookings.services import booking_audit


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
    booking_audit(
        actor=actor,
        action="access.booking_revoked",
        booking=booking,
        details={
            "reason": reason.strip(),
            "origin": origin.value,
            "grants": [g.pk for g in grants],
            "shares": [s.pk for s in shares],
        },
    )
    if booking.may_get_in_now_or_later():
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
    taken = AccessGrant.objects.filter(booking=booking, state=GrantState.REVOKED, revoked_with_booking=True)
    taken_ids = list(taken.values_list("pk", flat=True))
    grants_sync_for_booking(actor=actor, booking=booking)
    given_back = AccessGrant.objects.filter(pk__in=taken_ids, state=GrantState.ACTIVE).order_by("pk")
    restored = list(
        SharedAccess.objects.filter(pk__in=paused_ids, state=ShareState.ACTIVE)
        .select_related("holder")
        .prefetch_related("units")
    )
    booking_audit(
        actor=actor,
        action="access.booking_restored",
        booking=booking,
        details={"grants": list(given_back.values_list("pk", flat=True)), "shares": [s.pk for s in restored]},
    )
    if booking.may_get_in_now_or_later():
        access_changed_emails(booking=booking, shares=restored, revoked=False)
    return booking
