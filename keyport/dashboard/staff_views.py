"""The Staff page (owners only): the team, Invite staff member, Resend invite, a member's role and
locations, Deactivate; and the invitee's page that sets their password from the invite link."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from keyport.audit.services import Actor
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.staff_auth import StaffRequest, owner_required
from keyport.dashboard.staff_forms import SetPasswordForm, StaffInviteForm, StaffScopeForm
from keyport.dashboard.staff_sign_in import staff_sign_in
from keyport.lib.times import zone_of
from keyport.staff.models import StaffInvite, StaffUser
from keyport.staff.queries import (
    find_staff_invite,
    get_member_for_owner,
    staff_has_two_factor,
    team_activity,
    team_for_owner,
    two_factor_required,
)
from keyport.staff.services import (
    staff_deactivate,
    staff_invite,
    staff_invite_accept,
    staff_invite_resend,
    staff_member_update,
)
from keyport.staff.two_factor import team_two_factor_require, two_factor_disable


@owner_required
def staff_list(request: StaffRequest) -> HttpResponse:
    context = {
        "team": team_for_owner(request.user),
        "activity": team_activity(),
        "zone": zone_of(None),
        "two_factor_required": two_factor_required(),
    }
    return render(request, "dashboard/staff/list.html", context)


@require_POST
@owner_required
def team_two_factor(request: StaffRequest) -> HttpResponse:
    """Require two-factor sign-in of every staff member, or no longer."""
    required = request.POST.get("required") == "on"
    try:
        changed = team_two_factor_require(
            actor=Actor.staff(request.user), owner=request.user, required=required
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if changed and required:
            messages.success(
                request,
                "Two-factor sign-in is required. Staff without it were signed out and set it up at their "
                "next sign-in.",
            )
        elif changed:
            messages.success(request, "Two-factor sign-in is no longer required; those who use it keep it.")
    return redirect("dashboard:staff_list")


@require_POST
@owner_required
def staff_two_factor_reset(request: StaffRequest, member_id: int) -> HttpResponse:
    """For a member who lost their phone and their recovery codes."""
    member = get_member_for_owner(request.user, member_id)
    try:
        two_factor_disable(actor=Actor.staff(request.user), member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dashboard:staff_member", member_id=member.pk)
    messages.success(request, f"Two-factor sign-in of {member} is off, and they were signed out.")
    return redirect("dashboard:staff_member", member_id=member.pk)


@owner_required
def staff_invite_view(request: StaffRequest) -> HttpResponse:
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = staff_invite(actor=Actor.staff(request.user), **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Invite sent to {member.email}. The link works for 72 hours.")
            return redirect("dashboard:staff_list")
    status = 400 if form.errors else 200
    return render(request, "dashboard/staff/invite.html", {"form": form}, status=status)


@owner_required
def staff_member(request: StaffRequest, member_id: int) -> HttpResponse:
    member = get_member_for_owner(request.user, member_id)
    initial = {
        "role": member.role,
        "all_locations": member.all_locations,
        "locations": member.locations.all(),
    }
    form = StaffScopeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = staff_member_update(actor=Actor.staff(request.user), member=member, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if changed:
                messages.success(
                    request,
                    f"Role and locations of {member} saved. They were signed out everywhere, so the "
                    "new ones apply at once.",
                )
            return redirect("dashboard:staff_member", member_id=member.pk)
    context = {
        "member": member,
        "form": form,
        "can_resend": _can_resend(member),
        "zone": zone_of(None),
        "has_two_factor": staff_has_two_factor(member),
    }
    return render(request, "dashboard/staff/member.html", context, status=400 if form.errors else 200)


def _can_resend(member: StaffUser) -> bool:
    return member.is_active and not member.has_usable_password()


@require_POST
@owner_required
def staff_invite_resend_view(request: StaffRequest, member_id: int) -> HttpResponse:
    member = get_member_for_owner(request.user, member_id)
    try:
        staff_invite_resend(actor=Actor.staff(request.user), member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"A new invite went to {member.email}; earlier links no longer work.")
    return redirect("dashboard:staff_member", member_id=member.pk)


@require_POST
@owner_required
def staff_deactivate_view(request: StaffRequest, member_id: int) -> HttpResponse:
    member = get_member_for_owner(request.user, member_id)
    try:
        staff_deactivate(actor=Actor.staff(request.user), member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{member} is deactivated and signed out everywhere. Their history stays.")
    return redirect("dashboard:staff_member", member_id=member.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def staff_invite_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The invite link. Opening it only shows the password form (mail scanners use nothing up);
    the password posted sets the password and signs the person in. A link used, expired or of a
    deactivated member gets a page that says so, with status 200 like the portal's links (the
    address holds the token: nothing logs it as an error)."""
    invite = find_staff_invite(token)
    if invite is None or not invite.is_usable_at(timezone.now()):
        return _private(_unusable(request, invite))
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            member = staff_invite_accept(token=token, password=form.cleaned_data["new_password1"])
        except ValidationError as error:
            form.add_error("new_password1", error)
        else:
            if member is None:  # used up by a parallel request a moment ago
                return _private(_unusable(request, invite))
            staff_sign_in(request, member)
            messages.success(request, "Your password is set. Welcome to Keyport.")
            return _private(redirect("dashboard:home"))
    context = {"form": form, "invite": invite}
    status = 400 if form.errors else 200
    return _private(render(request, "dashboard/staff/invite_accept.html", context, status=status))


def _unusable(request: HttpRequest, invite: StaffInvite | None) -> HttpResponse:
    return render(request, "dashboard/staff/invite_unusable.html", {"invite": invite})


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the path: no cache keeps the page, no other site learns the address.
    response["Referrer-Policy"] = "same-origin"
    add_never_cache_headers(response)
    return response
