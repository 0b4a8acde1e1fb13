import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from keyport.bookings.models import Booking, BookingUnit
from keyport.cars.models import Car
from keyport.contacts.models import Contact, Customer
from keyport.facilities.models import AccessPoint, AccessPointKind, Location, Unit, UnitKind, UnitType
from keyport.staff.models import Role, StaffUser

PASSWORD = "correct horse battery staple"  # noqa: S105


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Site {n}")
    street = "Hauptstraße 1"
    postal_code = "10115"
    city = "Berlin"
    country = "DE"
    time_zone = "Europe/Berlin"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    location = factory.SubFactory(LocationFactory)
    number = factory.Sequence(lambda n: f"U{n:04d}")
    kind = UnitKind.STORAGE_UNIT
    size_m2 = Decimal("5.00")


class UnitTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitType

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Type {n}")
    width_m = Decimal("2.00")
    depth_m = Decimal("2.50")
    monthly_price = Decimal("49.00")


class AccessPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessPoint

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Door {n}")
    kind = AccessPointKind.BUILDING_DOOR
    external_id = factory.Sequence(lambda n: f"AP-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    is_primary = True
    first_name = factory.Sequence(lambda n: f"Person{n}")
    last_name = "Example"
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    can_access_portal = True

    @classmethod
    def _create(cls, model_class: type[Contact], *args: object, **kwargs: object) -> Contact:
        # The search text as the contact services keep it.
        contact = model_class(*args, **kwargs)
        contact.search_text = contact.folded_search_text()
        contact.save()
        return contact


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffUser
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@keyport.test")
    full_name = factory.Sequence(lambda n: f"Staff {n}")
    role = Role.OWNER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class CarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Car

    customer = factory.SubFactory(CustomerFactory)
    make = "Porsche"
    model = "911"
    plate = factory.Sequence(lambda n: f"B KP {n}")


def booking_of(
    customer: Customer, units: list[Unit], starts_on: dt.date, ends_on: dt.date | None = None
) -> Booking:
    """A booking written straight to the tables, for setting up a scene (no rules checked)."""
    booking = Booking.objects.create(
        customer=customer, location=units[0].location, starts_on=starts_on, ends_on=ends_on
    )
    for unit in units:
        BookingUnit.objects.create(booking=booking, unit=unit, starts_on=starts_on, ends_on=ends_on)
    return booking


def today() -> dt.date:
    return timezone.localdate()


def told_before_lockout(invoice, to="tenant@example.com"):
    """Record that the tenant was sent (and received) the invoice and the lock warning, which the
    overdue lockout asks before it locks."""
    from keyport.billing.models import InvoiceEmail, InvoiceEmailKind
    from keyport.emails.models import EmailStatus, OutgoingEmail

    for kind in (InvoiceEmailKind.INVOICE, InvoiceEmailKind.LOCK_WARNING):
        email = OutgoingEmail.objects.create(
            to=to, subject=str(kind.label), body_text="-", template=str(kind), status=EmailStatus.SENT
        )
        InvoiceEmail.objects.create(invoice=invoice, kind=kind, email=email)
    return invoice
