"""What the signed-in staff member may do on every dashboard page (the navigation, warnings)."""

from django.http import HttpRequest

from keyport.staff.models import StaffUser


def staff_capabilities(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    is_owner = isinstance(user, StaffUser) and user.is_owner
    # Email templates and Website & customer app are owners' settings of the whole site.
    return {"can_configure_site": is_owner}
