"""What the signed-in staff member may do on every dashboard page (the navigation, warnings)."""

from django.http import HttpRequest

from keyport.staff.models import Role, StaffUser


def staff_capabilities(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    is_owner = isinstance(user, StaffUser) and user.is_owner
    # Email templates and Website & customer app are owners' settings of the whole site.
    # New customer is for those who run locations (the page itself asks which they run).
    runs_locations = is_owner or (isinstance(user, StaffUser) and user.role == Role.MANAGER)
    return {"can_configure_site": is_owner, "can_create_customer": runs_locations}
