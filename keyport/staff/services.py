"""Writes about staff: who is on the team (invites, deactivation) and works where in which role
(audited, and every session of the person ends when it changes), the count of their wrong
passwords, and a staff member's own preferences (no access changes, so no audit rows)."""

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from keyport.audit.models import ActorKind
from keyport.audit.services import Actor, audit_record
from keyport.facilities.models import Location
from keyport.lib.email_addresses import normalize_email_address
from keyport.lib.rate_limits import (
    RateLimitAnswer,
    rate_limit_give_back,
    rate_limit_hit,
    rate_limit_reset,
    rate_limit_window_end,
)
from keyport.lib.tokens import token_hash
from keyport.staff.emails import staff_invite_email, staff_password_reset_email
from keyport.staff.models import ContactListSettings, Role, StaffInvite, StaffUser

INVITE_LIFETIME = dt.timedelta(hours=72)


@transaction.atomic
def staff_scope_change(
    *, actor: Actor, member: StaffUser, role: str, all_locations: bool, locations: Iterable[Location]
) -> bool:
    """Set a staff member's role and the locations they work at (their own list, or All locations).
    When anything changed, every session of theirs ends on every device, so nothing they opened
    under the old scope goes on under the new one, and an audit row says what changed. Returns
    whether anything changed."""
    wanted = sorted({location.pk for location in locations})
    before = _scope_of(member)
    member.role = role
    member.all_locations = all_locations
    member.save(update_fields=["role", "all_locations"])
    member.locations.set(wanted)
    after = _scope_of(member)
    if after == before:
        return False
    staff_sessions_end(member=member)
    audit_record(
        actor=actor,
        action="staff.scope_changed",
        target=member,
        details={"before": before, "after": after, "sessions_ended": True},
    )
    return True


def staff_scope_validate(*, role: str, all_locations: bool, locations: Iterable[Location]) -> None:
    """A manager or employee works somewhere: their locations, or All locations, chosen on purpose."""
    if role not in Role.values:
        raise ValidationError({"role": "Choose Owner, Manager or Employee."})
    if role != Role.OWNER and not all_locations and not list(locations):
        raise ValidationError({"locations": "Choose the locations they work at, or All locations."})


@transaction.atomic
def staff_member_update(
    *, actor: Actor, member: StaffUser, role: str, all_locations: bool, locations: Iterable[Location]
) -> bool:
    """The Staff page's change of role and locations: checked, then `staff_scope_change`. The last
    active owner stays an owner (someone must be able to run the team)."""
    if not member.is_active:
        raise ValidationError("A deactivated member works nowhere.")
    locations = list(locations)
    staff_scope_validate(role=role, all_locations=all_locations, locations=locations)
    if member.is_owner and role != Role.OWNER and _is_last_active_owner(member):
        raise ValidationError({"role": "This is the last active owner: make someone else an owner first."})
    return staff_scope_change(
        actor=actor, member=member, role=role, all_locations=all_locations, locations=locations
    )


def _is_last_active_owner(member: StaffUser) -> bool:
    # Locked, so that two owners taking each other's role at once cannot leave none.
    owners = list(
        StaffUser.objects.select_for_update()
        .filter(role=Role.OWNER, is_active=True)
        .values_list("pk", flat=True)
    )
    return member.is_active and owners == [member.pk]


@transaction.atomic
def staff_invite(
    *,
    actor: Actor,
    full_name: str,
    email: str,
    role: str,
    all_locations: bool,
    locations: Iterable[Location],
) -> StaffUser:
    """Add a person to the team, without a password, and email them a one-time link to set one."""
    email = normalize_email_address(email)
    locations = list(locations)
    staff_scope_validate(role=role, all_locations=all_locations, locations=locations)
    if StaffUser.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "This email already belongs to a member of the team."})
    if not full_name.strip():
        raise ValidationError({"full_name": "Enter the person's name."})
    member = StaffUser.objects.create_user(
        email, None, full_name=full_name.strip(), role=role, all_locations=all_locations
    )
    member.locations.set(locations)
    audit_record(actor=actor, action="staff.invited", target=member, details=_scope_of(member))
    _invite_send(actor=actor, member=member)
    return member


@transaction.atomic
def staff_invite_resend(*, actor: Actor, member: StaffUser) -> StaffInvite:
    """A new link for someone who has not set a password yet; the earlier links stop working."""
    if not member.is_active:
        raise ValidationError("A deactivated member gets no invite.")
    if member.has_usable_password():
        raise ValidationError("They have set their password already: they sign in, or use Forgot password?.")
    invite = _invite_send(actor=actor, member=member)
    audit_record(actor=actor, action="staff.invite_resent", target=member, details={"sent_to": member.email})
    return invite


def _invite_send(*, actor: Actor, member: StaffUser) -> StaffInvite:
    now = timezone.now()
    StaffInvite.objects.filter(member=member, used_at=None, voided_at=None).update(voided_at=now)
    token = secrets.token_urlsafe(32)
    invite = StaffInvite.objects.create(
        member=member,
        token_hash=token_hash(token),
        sent_to=member.email,
        created_at=now,
        expires_at=now + INVITE_LIFETIME,
    )
    inviter = StaffUser.objects.filter(pk=actor.id).first() if actor.id is not None else None
    staff_invite_email(
        member=member,
        invited_by=str(inviter) if inviter is not None else actor.label,
        token=token,
        lifetime_seconds=int(INVITE_LIFETIME.total_seconds()),
    )
    return invite


def staff_invite_accept(*, token: str, password: str) -> StaffUser | None:
    """Use an invite once: the person's password is set (Django's password validators decide what
    is good enough). None when the link is no good (used, expired, voided, the member
    deactivated); a ValidationError about the password uses nothing up."""
    with transaction.atomic():
        invite = (
            StaffInvite.objects.select_for_update()
            .select_related("member")
            .filter(token_hash=token_hash(token))
            .first()
        )
        now = timezone.now()
        # A member who has a password (set through Forgot password?) signs in with it, and with
        # their second factor: an invite left unused is no way around them.
        if invite is None or not invite.is_usable_at(now) or invite.member.has_usable_password():
            return None
        member = invite.member
        validate_password(password, member)
        member.set_password(password)
        member.save(update_fields=["password"])
        invite.used_at = now
        invite.save(update_fields=["used_at"])
        audit_record(actor=Actor.staff(member), action="staff.invite_accepted", target=member, details={})
        return member


@transaction.atomic
def staff_deactivate(*, actor: Actor, member: StaffUser) -> None:
    """Take a person off the team: every session of theirs ends at once, their links stop working,
    and everything they did stays in the history. The last active owner cannot be deactivated."""
    if not member.is_active:
        return
    if member.is_owner and _is_last_active_owner(member):
        raise ValidationError("This is the last active owner: make someone else an owner first.")
    member.is_active = False
    member.save(update_fields=["is_active"])
    StaffInvite.objects.filter(member=member, used_at=None, voided_at=None).update(voided_at=timezone.now())
    staff_sessions_end(member=member)
    audit_record(actor=actor, action="staff.deactivated", target=member, details={"sessions_ended": True})


RESET_EMAIL_SCOPE = "staff-password-reset-email"
RESET_ADDRESS_SCOPE = "staff-password-reset-address"
RESET_WINDOW_SECONDS = 3600


def staff_password_reset_request(*, email: str, address: str) -> RateLimitAnswer | None:
    """Forgot password?: email a link to set a new password (Django's password-reset token) when
    the address is an active member's. The answer is the same for known and unknown emails: None
    when the request was taken, else how long to wait (counted per email typed and per address)."""
    email = normalize_email_address(email)
    for scope, identity, limit in (
        (RESET_ADDRESS_SCOPE, address, settings.STAFF_PASSWORD_RESETS_PER_ADDRESS),
        (RESET_EMAIL_SCOPE, email, settings.STAFF_PASSWORD_RESETS_PER_EMAIL),
    ):
        answer = rate_limit_hit(
            scope=scope, identity=identity, limit=limit, window_seconds=RESET_WINDOW_SECONDS
        )
        if not answer.allowed:
            return answer
    member = StaffUser.objects.filter(email=email, is_active=True).first()
    if member is not None:
        _password_reset_send(member=member, address=address)
    return None


@transaction.atomic
def _password_reset_send(*, member: StaffUser, address: str) -> None:
    staff_password_reset_email(
        member=member,
        uidb64=urlsafe_base64_encode(force_bytes(member.pk)),
        token=default_token_generator.make_token(member),
    )
    audit_record(
        actor=Actor(kind=ActorKind.SYSTEM, label=address),
        action="staff.password_reset_requested",
        target=member,
        details={"address": address},
    )


@transaction.atomic
def staff_password_set(*, member: StaffUser, password: str) -> None:
    """A new password from a reset link (checked there, by Django's token and password validators):
    every other session of theirs ends with the old password, and the link with it."""
    validate_password(password, member)
    member.set_password(password)
    member.save(update_fields=["password"])
    StaffInvite.objects.filter(member=member, used_at__isnull=True, voided_at__isnull=True).update(
        voided_at=timezone.now()
    )
    audit_record(actor=Actor.staff(member), action="staff.password_reset", target=member, details={})


def staff_sessions_end(*, member: StaffUser) -> None:
    """End every session of this staff member, on every device: the session check Django makes on
    each request no longer matches (see StaffUser.get_session_auth_hash)."""
    StaffUser.objects.filter(pk=member.pk).update(session_generation=F("session_generation") + 1)
    member.refresh_from_db(fields=["session_generation"])


def _scope_of(member: StaffUser) -> dict[str, object]:
    """Role and locations, as the audit row shows them (names) and as they are compared (ids)."""
    rows = list(member.locations.order_by("name", "pk").values_list("pk", "name"))
    return {
        "role": member.role,
        "all_locations": member.all_locations,
        "location_ids": sorted(pk for pk, _ in rows),
        "locations": [name for _, name in rows],
    }


@transaction.atomic
def contact_list_layout_save(*, user: StaffUser, view: str, columns: list[str]) -> ContactListSettings:
    """Filters & Settings: table or cards, and which columns show."""
    layout, _ = ContactListSettings.objects.update_or_create(
        user=user, defaults={"view": view, "columns": columns}
    )
    return layout


@transaction.atomic
def contact_list_query_save(*, user: StaffUser, query: str) -> ContactListSettings:
    """The last search, filters and sort, which the bare All Contacts address opens with."""
    layout, _ = ContactListSettings.objects.update_or_create(user=user, defaults={"query": query})
    return layout


ACCOUNT_SCOPE = "staff-sign-in-account"
ADDRESS_SCOPE = "staff-sign-in-address"


@dataclass(frozen=True)
class StaffSignInAttempt:
    """One password attempt, counted before the password is checked: so parallel attempts cannot
    get more checks than the limit allows. `address` is None for a check made without a request."""

    account: str
    address: str | None
    by_address: RateLimitAnswer | None
    by_account: RateLimitAnswer | None

    @property
    def refusal(self) -> RateLimitAnswer | None:
        """The answer that refuses this attempt without checking its password, if one does."""
        for answer in (self.by_address, self.by_account):
            if answer is not None and not answer.allowed:
                return answer
        return None


def staff_sign_in_attempt_start(*, account: str, address: str | None) -> StaffSignInAttempt:
    """Count a password attempt for the typed account (known or not) and the client's address.

    The answer depends only on what was typed and where from, never on whether the account
    exists, so a refusal tells nothing about it. An address already past its limit does not
    count against the account it tried.
    """
    window = settings.STAFF_SIGN_IN_WINDOW_SECONDS
    by_address = None
    if address is not None:
        by_address = rate_limit_hit(
            scope=ADDRESS_SCOPE,
            identity=address,
            limit=settings.STAFF_SIGN_IN_FAILURES_PER_ADDRESS,
            window_seconds=window,
        )
        if not by_address.allowed:
            return StaffSignInAttempt(account, address, by_address, None)
    by_account = rate_limit_hit(
        scope=ACCOUNT_SCOPE,
        identity=account,
        limit=settings.STAFF_SIGN_IN_FAILURES_PER_ACCOUNT,
        window_seconds=window,
    )
    return StaffSignInAttempt(account, address, by_address, by_account)


def staff_sign_in_attempt_finish(*, attempt: StaffSignInAttempt, user: StaffUser | None) -> None:
    """After the password was checked: the right one clears the account's wrong passwords and
    does not count against the address; a wrong one stays counted, and the one that fills a limit
    is audited (once a block: the count is exact, so exactly one attempt fills it)."""
    window = settings.STAFF_SIGN_IN_WINDOW_SECONDS
    if user is not None:
        rate_limit_reset(scope=ACCOUNT_SCOPE, identity=attempt.account, window_seconds=window)
        if attempt.address is not None:
            rate_limit_give_back(scope=ADDRESS_SCOPE, identity=attempt.address, window_seconds=window)
        return
    account_limit = settings.STAFF_SIGN_IN_FAILURES_PER_ACCOUNT
    if attempt.by_account is not None and attempt.by_account.count == account_limit:
        member = StaffUser.objects.filter(email=attempt.account).first()
        _sign_in_block_record(attempt=attempt, limit="account", wrong_passwords=account_limit, member=member)
    address_limit = settings.STAFF_SIGN_IN_FAILURES_PER_ADDRESS
    if attempt.by_address is not None and attempt.by_address.count == address_limit:
        _sign_in_block_record(attempt=attempt, limit="address", wrong_passwords=address_limit, member=None)


@transaction.atomic
def _sign_in_block_record(
    *, attempt: StaffSignInAttempt, limit: str, wrong_passwords: int, member: StaffUser | None
) -> None:
    """The audit row of a block, by the address the wrong passwords came from. It names the
    account only when it exists: a typed name that is no account may be a mistyped password."""
    audit_record(
        actor=Actor(kind=ActorKind.SYSTEM, label=attempt.address or "Keyport"),
        action="staff.sign_in_blocked",
        target=member,
        target_label="Every account from this address" if limit == "address" else "Unknown account",
        details={
            "limit": limit,
            "account": None if member is None else member.email,
            "address": attempt.address,
            "wrong_passwords": wrong_passwords,
            "blocked_until": rate_limit_window_end(
                window_seconds=settings.STAFF_SIGN_IN_WINDOW_SECONDS
            ).isoformat(),
        },
    )
