"""What the demo holds, and that seeding it again changes nothing."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from keyport.bookings.models import Booking
from keyport.cars.models import Car
from keyport.cars.queries import booking_row_holding
from keyport.contacts.models import Contact, Customer, CustomerKind
from keyport.demo.data import DEMO_PASSWORD, GUEST_EMAIL, OWNER_EMAIL, PARTNER_EMAIL, TENANT_EMAIL
from keyport.facilities.models import Location, Unit
from keyport.staff.models import Role, StaffUser

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_has_two_sites_in_different_time_zones(demo):
    zones = set(Location.objects.values_list("time_zone", flat=True))
    assert zones == {"Europe/Berlin", "America/Chicago"}
    assert 250 <= Unit.objects.count() <= 350
    assert Customer.objects.count() == 150
    assert Booking.objects.count() > 100
    assert Car.objects.exists()


def test_demo_owner_can_sign_in(demo, client):
    owner = StaffUser.objects.get(email=OWNER_EMAIL)
    assert owner.role == Role.OWNER
    response = client.post("/dashboard/login/", {"username": OWNER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_demo_tenant_has_a_current_booking_of_two_units_and_a_partner(demo):
    tenant = Contact.objects.get(email=TENANT_EMAIL)
    booking = Booking.objects.get(customer=tenant.customer)
    assert booking.units.count() == 2
    assert booking.is_active_at(timezone.now())
    partner = Contact.objects.get(email=PARTNER_EMAIL)
    assert partner.customer == tenant.customer
    assert not partner.is_primary and partner.can_access_portal


def test_demo_guest_is_a_lead_without_storage(demo):
    guest = Contact.objects.get(email=GUEST_EMAIL)
    assert guest.customer.kind == CustomerKind.LEAD
    assert not guest.customer.bookings.exists()


def test_seeding_twice_changes_nothing(demo, settings):
    settings.DEBUG = True  # a developer's machine, as `make run` and `make demo` set it
    counts = (
        Location.objects.count(),
        Unit.objects.count(),
        Customer.objects.count(),
        Booking.objects.count(),
    )
    call_command("seed_demo", verbosity=0)
    assert counts == (
        Location.objects.count(),
        Unit.objects.count(),
        Customer.objects.count(),
        Booking.objects.count(),
    )


def test_demo_leaves_some_units_unmapped_to_show_the_warning(demo):
    assert Unit.objects.filter(access_mappings__isnull=True).exists()


def test_demo_cars_stand_only_in_bays_their_customers_have_booked(demo):
    parked = list(Car.objects.filter(bay__isnull=False).select_related("bay__location", "customer"))
    assert parked, "the demo lot has cars in bays"
    for car in parked:
        assert booking_row_holding(car.customer, car.bay) is not None, car
