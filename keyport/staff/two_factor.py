"""Two-factor sign-in with django-otp: a TOTP device for the staff member's authenticator app and a
static device for their one-time recovery codes; an owner may require it of the whole team."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyport.audit.services import Actor, audit_record
from keyport.lib.rate_limits import (
    rate_limit_hit,
    rate_limit_reset,
)
from keyport.staff.models import StaffUser, TeamSettings
from keyport.staff.queries import staff_has_two_factor
from keyport.staff.services import staff_sessions_end

RECOVERY_CODES = 10
TWO_FACTOR_SCOPE = "staff-two-factor"


def two_factor_setup_start(*, member: StaffUser) -> TOTPDevice:
    """The authenticator app's secret to scan, not yet in use: the same one until it is confirmed
    (a reload shows the same QR code), a new one once two-factor sign-in is on."""
    pending = TOTPDevice.objects.filter(user=member, confirmed=False).order_by("-pk").first()
    return pending or TOTPDevice.objects.create(user=member, name="Authenticator app", confirmed=False)


@transaction.atomic
def two_factor_enable(*, member: StaffUser, code: str) -> list[str] | None:
    """Turn two-factor sign-in on with the first code the app shows; returns the new recovery
    codes (shown once), None when the code is wrong (nothing changes). Every other session of the
    person ends: from now on each sign-in needs a code."""
    device = (
        TOTPDevice.objects.select_for_update().filter(user=member, confirmed=False).order_by("-pk").first()
    )
    if device is None or not device.verify_token(code.strip()):
        return None
    TOTPDevice.objects.filter(user=member).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_new(member=member)
    staff_sessions_end(member=member)
    audit_record(actor=Actor.staff(member), action="staff.two_factor_enabled", target=member, details={})
    return codes


@transaction.atomic
def two_factor_recovery_codes_renew(*, member: StaffUser) -> list[str]:
    """New recovery codes; the earlier ones stop working."""
    codes = _recovery_codes_new(member=member)
    audit_record(
        actor=Actor.staff(member), action="staff.two_factor_recovery_codes_renewed", target=member, details={}
    )
    return codes


def _recovery_codes_new(*, member: StaffUser) -> list[str]:
    StaticDevice.objects.filter(user=member).delete()
    device = StaticDevice.objects.create(user=member, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def two_factor_disable(*, actor: Actor, member: StaffUser) -> None:
    """Turn a person's two-factor sign-in off: by themselves (refused while the team requires it)
    or by an owner for someone who lost their phone and codes (they set it up again at their next
    sign-in while the team requires it). Every session of theirs ends."""
    is_self = actor.id == member.pk
    if is_self and TeamSettings.current().two_factor_required:
        raise ValidationError("Your team requires two-factor sign-in: it stays on.")
    TOTPDevice.objects.filter(user=member).delete()
    StaticDevice.objects.filter(user=member).delete()
    staff_sessions_end(member=member)
    audit_record(
        actor=actor,
        action="staff.two_factor_disabled" if is_self else "staff.two_factor_reset",
        target=member,
        details={},
    )


@transaction.atomic
def team_two_factor_require(*, actor: Actor, owner: StaffUser, required: bool) -> bool:
    """An owner requires two-factor sign-in of every staff member (or no longer does). Requiring it
    ends the sessions of everyone who has none, so that each sets it up before anything else.
    Returns whether anything changed."""
    team = TeamSettings.current()
    if team.two_factor_required == required:
        return False
    if required and not staff_has_two_factor(owner):
        raise ValidationError("Turn on two-factor sign-in for yourself first.")
    team.two_factor_required = required
    team.save()
    ended = []
    if required:
        without = StaffUser.objects.filter(is_active=True).exclude(
            pk__in=TOTPDevice.objects.filter(confirmed=True).values("user_id")
        )
        ended = sorted(without.values_list("email", flat=True))
        without.update(session_generation=F("session_generation") + 1)
    audit_record(
        actor=actor,
        action="staff.two_factor_required" if required else "staff.two_factor_not_required",
        target=team,
        details={"sessions_ended": ended},
    )
    return True


def two_factor_verify(*, member: StaffUser, code: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepts this code at sign-in: the app's code, or a recovery code (used up
    by it). Attempts are counted per person like wrong passwords; past the limit every code is
    refused until the window ends, and django-otp's own throttle slows guesses down as well."""
    window = settings.STAFF_SIGN_IN_WINDOW_SECONDS
    answer = rate_limit_hit(
        scope=TWO_FACTOR_SCOPE,
        identity=str(member.pk),
        limit=settings.STAFF_SIGN_IN_FAILURES_PER_ACCOUNT,
        window_seconds=window,
    )
    if not answer.allowed:
        return None
    code = code.strip().replace(" ", "")
    with transaction.atomic():
        totp = TOTPDevice.objects.select_for_update().filter(user=member, confirmed=True).first()
        if totp is not None and code.isdigit() and totp.verify_token(code):
            device: TOTPDevice | StaticDevice = totp
        else:
            static = StaticDevice.objects.select_for_update().filter(user=member, confirmed=True).first()
            if static is None or not static.verify_token(code):
                return None
            device = static
            audit_record(
                actor=Actor.staff(member),
                action="staff.two_factor_recovery_code_used",
                target=member,
                details={"recovery_codes_left": static.token_set.count()},
            )
    rate_limit_reset(scope=TWO_FACTOR_SCOPE, identity=str(member.pk), window_seconds=window)
    return device
