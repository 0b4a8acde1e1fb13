from django.db.models import QuerySet

from keyport.facilities.models import Location
from keyport.staff.models import ContactListSettings, Role, StaffUser


def locations_for_staff(user: StaffUser) -> QuerySet[Location]:
    locations = Location.objects.all()
    if user.is_scoped_to_locations():
        locations = locations.filter(staff_members=user)
    return locations.order_by("name")


def contact_list_settings_of(user: StaffUser) -> ContactListSettings | None:
    return ContactListSettings.objects.filter(user=user).first()


def staff_to_alert_at(location: Location) -> QuerySet[StaffUser]:
    """Who hears of trouble at a location's doors: its managers, or the owners when it has none."""
    managers = StaffUser.objects.filter(is_active=True, role=Role.MANAGER, locations=location)
    if managers.exists():
        return managers.order_by("email")
    return StaffUser.objects.filter(is_active=True, role=Role.OWNER).order_by("email")
