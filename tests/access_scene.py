"""A small scene for access tests: a location with mapped doors, a tenant with a booking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from keyport.access.models import AccessHolder
from keyport.access.services import ShareRequest, share_create
from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact
from keyport.facilities.models import AccessPoint, Location, Unit, UnitAccessPoint
from keyport.frontdesk.services import booking_create
from tests.factories import AccessPointFactory, ContactFactory, LocationFactory, UnitFactory


@dataclass
class AccessScene:
    location: Location
    units: list[Unit]
    door: AccessPoint
    unit_lock: AccessPoint
    tenant: Contact
    booking: Booking

    def tenant_holder(self) -> AccessHolder:
        return AccessHolder.objects.get(location=self.location, contact=self.tenant)

    def share(self, email: str, starts_on: dt.date, ends_on: dt.date, units: list[Unit] | None = None):
        return share_create(
            actor=Actor.system("tests"),
            booking=self.booking,
            shared_by=self.tenant,
            request=ShareRequest(
                emails=[email], units=units or self.units[:1], starts_on=starts_on, ends_on=ends_on
            ),
        )[0]


def build_access_scene(
    *,
    time_zone: str = "Europe/Berlin",
    starts_on: dt.date,
    ends_on: dt.date | None,
    provider: str = "builtin",
) -> AccessScene:
    location = LocationFactory(time_zone=time_zone, access_provider=provider)
    units = [UnitFactory(location=location, number=f"A{n:03d}") for n in (1, 2, 3)]
    door = AccessPointFactory(location=location, name="Main door", external_id=f"DOOR-{location.pk}")
    unit_lock = AccessPointFactory(location=location, name="A001 lock", external_id=f"LOCK-{location.pk}")
    for unit in units[:2]:
        UnitAccessPoint.objects.create(unit=unit, access_point=door)
    UnitAccessPoint.objects.create(unit=units[0], access_point=unit_lock)
    tenant = ContactFactory(first_name="Mara", email=f"mara{location.pk}@example.com")
    booking = booking_create(
        actor=Actor.system("tests"),
        customer=tenant.customer,
        units=units,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    return AccessScene(location, units, door, unit_lock, tenant, booking)
