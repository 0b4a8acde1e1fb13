from django.db.models import QuerySet

from keyport.facilities.models import Location
from keyport.lib.times import zone_of
from keyport.staff.models import ContactListSettings, Role, StaffUser


def locations_for_staff(user: StaffUser) -> QuerySet[Location]:
    locations = Location.objects.all()
    if user.is_scoped_to_locations():
        locations = locations.filter(staff_members=user)
    return locations.order_by("name")


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
