"""Keypads blocked by wrong PINs: the alert on the Overview and the location page, and Lift block."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from keyport.access.access_point_queries import pin_blocks_for_staff
from keyport.access.services import access_point_pin_block_lift
from keyport.audit.services import Actor
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser
from keyport.staff.queries import get_location_for_operator


def pin_blocks_context(user: StaffUser, *, location: Location | None = None) -> dict[str, object]:
    """For a page's alert: the keypads blocked now (at this location, or at every one of the staff
    member's), and those this staff member may unblock."""
    blocks = pin_blocks_for_staff(user, timezone.now(), location=location)
    operated: dict[int, bool] = {}
    for block in blocks:
        if block.location.pk not in operated:
            operated[block.location.pk] = user.can_operate_location(block.location)
    return {
        "pin_blocks": blocks,
        "pin_blocks_can_lift": {block.access_point.pk for block in blocks if operated[block.location.pk]},
    }


@require_POST
@staff_required
def access_point_lift_block(request: StaffRequest, location_id: int, access_point_id: int) -> HttpResponse:
    """Lift block: owners and managers of the location let PINs open this door again at once."""
    location = get_location_for_operator(request.user, location_id)
    access_point = get_object_or_404(location.access_points, pk=access_point_id)
    if access_point_pin_block_lift(actor=Actor.staff(request.user), access_point=access_point):
        messages.success(
            request, _("%(door)s: block lifted. PINs open it again.") % {"door": access_point.name}
        )
    else:
        messages.info(request, _("%(door)s was not blocked.") % {"door": access_point.name})
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("dashboard:location_detail", location_id=location.pk)
