from django.db.models import QuerySet

from keyport.facilities.models import Location
from keyport.staff.models import ContactListSettings, StaffUser


def locations_for_staff(user: StaffUser) -> QuerySet[Location]:
    locations = Location.objects.all()
    if user.is_scoped_to_locations():
        locations = locations.filter(staff_members=user)
    return locations.order_by("name")


def contact_list_settings_of(user: StaffUser) -> ContactListSettings | None:
    return ContactListSettings.objects.filter(user=user).first()
