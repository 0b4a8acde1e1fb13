import base64
from dataclasses import dataclass

import segno
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.safestring import SafeString, mark_safe
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyport.audit.models import AuditEntry
from keyport.facilities.models import Location
from keyport.facilities.queries import locations_with_counts
from keyport.lib.times import zone_of
from keyport.lib.tokens import token_hash
from keyport.staff.models import ContactListSettings, Role, StaffInvite, StaffUser, TeamSettings

# What a staff member may reach and change. The readers here and in each app's queries.py
# (`get_<noun>_for_staff`, `get_<noun>_for_operator`, ...) take the staff member, answer 404 for
# what is out of their reach and 403 for what is in reach but not theirs to change, so a view
# never repeats a permission check. Location readers live here, not in facilities, because
# staff sits above facilities: a staff member's locations are a fact of staff.


def locations_for_staff(user: StaffUser) -> QuerySet[Location]:
    locations = Location.objects.all()
    if user.is_scoped_to_locations():
        locations = locations.filter(staff_members=user)
    return locations.order_by("name")


def locations_for_operator(user: StaffUser) -> QuerySet[Location]:
    """The locations whose operations this staff member runs (`StaffUser.can_operate_location`):
    every one for owners, their own for managers, none for employees."""
    if _operates_what_they_see(user):
        return locations_for_staff(user)
    return Location.objects.none()


def _operates_what_they_see(user: StaffUser) -> bool:
    # Owners see and run every location; a manager runs each location they see.
    return user.is_owner or user.role == Role.MANAGER


def get_locations_for_operator(user: StaffUser) -> QuerySet[Location]:
    """The locations this staff member runs, for a page that makes something at one of them:
    403 when they run none."""
    locations = locations_for_operator(user)
    if not locations.exists():
        raise PermissionDenied
    return locations


def get_location_for_staff(user: StaffUser, location_id: int) -> Location:
    return get_object_or_404(locations_for_staff(user), pk=location_id)


def get_location_for_operator(user: StaffUser, location_id: int) -> Location:
    """A location to run (Revoke, Retry, Lift block, imports, invoices): 403 for employees and
    managers of other locations who can see it."""
    location = get_location_for_staff(user, location_id)
    if not user.can_operate_location(location):
        raise PermissionDenied
    return location


def get_location_for_owner(user: StaffUser, location_id: int) -> Location:
    """A location for an owners-only page (its settings, billing settings, customer app)."""
    location = get_location_for_staff(user, location_id)
    if not user.is_owner:
        raise PermissionDenied
    return location


@dataclass(frozen=True)
class StaffLocation:
    """One of a staff member's locations, with what they may do there."""

    location: Location
    can_operate: bool
    can_configure: bool


def staff_locations(user: StaffUser) -> list[StaffLocation]:
    """The staff member's locations, each with whether they run it (invoices, Convert) and
    whether they change its settings (owners)."""
    can_operate = _operates_what_they_see(user)
    return [
        StaffLocation(location=location, can_operate=can_operate, can_configure=user.is_owner)
        for location in locations_for_staff(user)
    ]


def locations_with_counts_for_staff(user: StaffUser) -> QuerySet[Location]:
    return locations_with_counts(locations_for_staff(user))


def time_zone_of_staff(user: StaffUser) -> str:
    """The zone times of no location (an email template's last change) show in for this staff
    member: the one their locations share, else the install's."""
    zones = list(locations_for_staff(user).order_by().values_list("time_zone", flat=True).distinct()[:2])
    return zones[0] if len(zones) == 1 else zone_of(None)


def contact_list_settings_of(user: StaffUser) -> ContactListSettings | None:
    return ContactListSettings.objects.filter(user=user).first()


def staff_to_alert_at(location: Location) -> QuerySet[StaffUser]:
    """Who hears of trouble at a location's doors: its managers, or the owners when it has none."""
    managers = StaffUser.objects.filter(is_active=True, role=Role.MANAGER, locations=location)
    if managers.exists():
        return managers.order_by("email")
    return StaffUser.objects.filter(is_active=True, role=Role.OWNER).order_by("email")


# The Staff page (owners only) -----------------------------------------------------------------


def team_for_owner(user: StaffUser) -> QuerySet[StaffUser]:
    """Every staff member, active ones first, with their locations: 403 for anyone but owners."""
    if not user.is_owner:
        raise PermissionDenied
    return (
        StaffUser.objects.prefetch_related(Prefetch("locations", queryset=Location.objects.order_by("name")))
        .annotate(has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .order_by("-is_active", "full_name", "email")
    )


def get_member_for_owner(user: StaffUser, member_id: int) -> StaffUser:
    return get_object_or_404(team_for_owner(user), pk=member_id)


def team_activity(*, limit: int = 50) -> list[AuditEntry]:
    """The newest changes to the team: invites, roles and locations, deactivations, sign-in
    blocks and two-factor sign-in."""
    return list(AuditEntry.objects.filter(action__startswith="staff.").order_by("-created_at", "-id")[:limit])


def find_staff_invite(token: str) -> StaffInvite | None:
    """The invite a token names (used, expired or not), with its member; None for a token never issued."""
    return StaffInvite.objects.select_related("member").filter(token_hash=token_hash(token)).first()


# Two-factor sign-in ------------------------------------------------------------------------------


def staff_has_two_factor(member: StaffUser) -> bool:
    return TOTPDevice.objects.filter(user=member, confirmed=True).exists()


def two_factor_required() -> bool:
    return TeamSettings.current().two_factor_required


def recovery_codes_left(member: StaffUser) -> int:
    return StaticToken.objects.filter(device__user=member, device__confirmed=True).count()


def two_factor_qr_svg(device: TOTPDevice) -> SafeString:
    """The app's secret as a QR code, an SVG element in the page itself: no script, no image
    request, nothing sent anywhere."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=4, border=2, title="QR code for your authenticator app", svgclass="two-factor-qr"
    )
    return mark_safe(svg)  # noqa: S308 - segno's own SVG of a URL we made


def two_factor_secret_text(device: TOTPDevice) -> str:
    """The same secret to type in by hand: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))
