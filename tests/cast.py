"""The cast's building blocks, for the fixtures in conftest.py and for tests that need the same
people on other dates (a booking made under time travel, a second site in a test's own loop)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from keyport.access.models import AccessHolder, SharedAccess
from keyport.access.services import ShareRequest, share_create
from keyport.audit.services import Actor
from keyport.billing.models import Invoice
from keyport.bookings.models import Booking
from keyport.cars.models import Car, CarPhoto
from keyport.contacts.models import Contact, Customer
from keyport.documents.models import Document
from keyport.events.models import Event, Ticket
from keyport.facilities.models import AccessPoint, Location, Unit, UnitAccessPoint
from keyport.frontdesk.services import booking_create
from tests.factories import AccessPointFactory, LocationFactory, UnitFactory

# The owner tenant's booking starts on this day and has no end.
BOOKING_STARTS = dt.date(2026, 3, 1)


@dataclass
class Site:
    """A location with three units: the main door serves A001 and A002, A001 has its own lock,
    and A003 is on no door."""

    location: Location
    units: list[Unit]
    door: AccessPoint
    unit_lock: AccessPoint

    def set(self, **fields: object) -> None:
        """Change the location (its time zone, its access provider) before anything is booked."""
        Location.objects.filter(pk=self.location.pk).update(**fields)
        self.location.refresh_from_db()

    def holder(self, contact: Contact) -> AccessHolder:
        return AccessHolder.objects.get(location=self.location, contact=contact)


def site_create(
    name: str | None = None, *, time_zone: str = "Europe/Berlin", provider: str = "builtin"
) -> Site:
    location = LocationFactory(
        time_zone=time_zone, access_provider=provider, **({"name": name} if name else {})
    )
    units = [UnitFactory(location=location, number=f"A{n:03d}") for n in (1, 2, 3)]
    door = AccessPointFactory(location=location, name="Main door", external_id=f"DOOR-{location.pk}")
    unit_lock = AccessPointFactory(location=location, name="A001 lock", external_id=f"LOCK-{location.pk}")
    for unit in units[:2]:
        UnitAccessPoint.objects.create(unit=unit, access_point=door)
    UnitAccessPoint.objects.create(unit=units[0], access_point=unit_lock)
    return Site(location, units, door, unit_lock)


def book(
    contact: Contact, site: Site, *, starts_on: dt.date = BOOKING_STARTS, ends_on: dt.date | None = None
) -> Booking:
    """Book all of the site's units for the contact's customer, as staff would (grants and all)."""
    return booking_create(
        actor=Actor.system("tests"),
        customer=contact.customer,
        units=site.units,
        starts_on=starts_on,
        ends_on=ends_on,
    )


def share(
    booking: Booking,
    email: str,
    starts_on: dt.date,
    ends_on: dt.date,
    units: list[Unit] | None = None,
) -> SharedAccess:
    """The booking's primary contact shares its first unit (or these units) with one guest."""
    return share_create(
        actor=Actor.system("tests"),
        booking=booking,
        shared_by=booking.customer.contacts.get(is_primary=True),
        request=ShareRequest(
            emails=[email],
            units=units or [booking.units.order_by("number").first()],
            starts_on=starts_on,
            ends_on=ends_on,
        ),
    )[0]


def section_objects(
    *, location: Location, customer: Customer, contact: Contact, booking: Booking, car: Car
) -> dict[str, int]:
    """One object of each of the billing, documents, events and cars sections, for pages that
    name one: an invoice, a document, an event and its ticket, a car photo."""
    invoice = Invoice.objects.create(
        location=location,
        customer=customer,
        booking=booking,
        currency="EUR",
        due_on=dt.date(2026, 3, 1),
        total=Decimal("10.00"),
    )
    document = Document.objects.create(
        customer=customer,
        title="Lease",
        file="documents/x.pdf",
        original_name="lease.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by="tests",
    )
    event = Event.objects.create(
        location=location,
        title="Open day",
        starts_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        place="Hall",
        capacity=10,
    )
    ticket = Ticket.objects.create(event=event, contact=contact)
    photo = CarPhoto.objects.create(
        car=car, image="cars/x.jpg", thumbnail="cars/t.jpg", content_type="image/jpeg"
    )
    return {
        "invoice_id": invoice.pk,
        "document_id": document.pk,
        "event_id": event.pk,
        "ticket_id": ticket.pk,
        "photo_id": photo.pk,
    }
