from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from keyport.bookings.models import Booking
from keyport.cars.models import Car
from keyport.contacts.models import Contact, Customer, CustomerKind
from keyport.demo.data import DEMO_PASSWORD, GUEST_EMAIL, OWNER_EMAIL, PARTNER_EMAIL, TENANT_EMAIL
from keyport.facilities.models import Location, Unit
from keyport.staff.models import Role, StaffUser

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True  # a developer's machine, as `make run` and `make demo` set it
    call_command("seed_demo", verbosity=0)


def test_demo_has_two_sites_in_different_time_zones(seeded):
    zones = set(Location.objects.values_list("time_zone", flat=True))
    assert zones == {"Europe/Berlin", "America/Chicago"}
    assert 250 <= Unit.objects.count() <= 350
    assert Customer.objects.count() == 150
    assert Booking.objects.count() > 100
    assert Car.objects.exists()


def test_demo_owner_can_sign_in(seeded, client):
    owner = StaffUser.objects.get(email=OWNER_EMAIL)
    assert owner.role == Role.OWNER
    response = client.post("/dashboard/login/", {"username": OWNER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_demo_tenant_has_a_current_booking_of_two_units_and_a_partner(seeded):
    tenant = Contact.objects.get(email=TENANT_EMAIL)
    booking = Booking.objects.get(customer=tenant.customer)
    assert booking.units.count() == 2
    assert booking.is_active_at(timezone.now())
    partner = Contact.objects.get(email=PARTNER_EMAIL)
    assert partner.customer == tenant.customer
    assert not partner.is_primary and partner.can_access_portal


def test_demo_guest_is_a_lead_without_storage(seeded):
    guest = Contact.objects.get(email=GUEST_EMAIL)
    assert guest.customer.kind == CustomerKind.LEAD
    assert not guest.customer.bookings.exists()


def test_seeding_twice_changes_nothing(seeded):
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


def test_demo_leaves_some_units_unmapped_to_show_the_warning(seeded):
    assert Unit.objects.filter(access_mappings__isnull=True).exists()


def test_with_debug_off_seeding_is_refused_and_creates_no_published_password(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo", verbosity=0)
    assert not StaffUser.objects.exists()
    assert not Location.objects.exists()


def test_with_debug_off_force_seeds_anyway(settings):
    settings.DEBUG = False
    call_command("seed_demo", force=True, verbosity=0)
    assert StaffUser.objects.get(email=OWNER_EMAIL).check_password(DEMO_PASSWORD)


def test_make_demo_and_make_run_seed_with_debug_on():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    seeding = [line for line in makefile.splitlines() if "manage.py seed_demo" in line]
    assert len(seeding) == 2
    assert all("DEBUG=true" in line or "--force" in line for line in seeding)
