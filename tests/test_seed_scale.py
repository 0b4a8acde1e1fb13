import datetime as dt
import itertools

import pytest
from django.core.management import call_command

from keyport.bookings.models import Booking, BookingUnit
from keyport.cars.models import Car
from keyport.contacts.models import AccountStatus, Contact, Customer, CustomerKind, PortalAccess
from keyport.demo.scale import seed_big_location
from keyport.facilities.models import Unit
from keyport.frontdesk.queries import with_portal_facts

pytestmark = pytest.mark.django_db


def test_scale_data_has_the_promised_proportions():
    call_command("seed_scale", customers=400, verbosity=0)
    assert Customer.objects.count() == 400
    assert Contact.objects.count() == 800
    assert Booking.objects.count() == 600
    assert Car.objects.count() == 400
    assert Unit.objects.count() == 200
    assert Contact.objects.filter(is_primary=True).count() == 400


def test_scale_contacts_are_searched_as_the_services_would_keep_them():
    call_command("seed_scale", customers=50, verbosity=0)
    seed_big_location(units=10, bookings=8)
    contacts = list(Contact.objects.select_related("customer__home_location"))
    assert contacts and all(contact.search_text == contact.folded_search_text() for contact in contacts)


def test_scale_data_has_every_portal_access_and_account_status():
    call_command("seed_scale", customers=300, verbosity=0)
    contacts = with_portal_facts(Contact.objects.all())
    for access in PortalAccess.values:
        assert contacts.filter(portal_access_value=access).exists(), access
    for status in AccountStatus.values:
        assert contacts.filter(account_status_value=status).exists(), status
    leads = Customer.objects.filter(kind=CustomerKind.LEAD)
    assert leads.count() == 12
    assert not Booking.objects.filter(customer__in=leads).exists()
    assert not Car.objects.filter(customer__in=leads).exists()


def test_scale_bookings_never_overlap_on_a_unit():
    call_command("seed_scale", customers=300, verbosity=0)
    for unit_id in BookingUnit.objects.values_list("unit", flat=True).distinct()[:50]:
        rows = sorted(
            BookingUnit.objects.filter(unit_id=unit_id).values_list("starts_on", "ends_on"),
            key=lambda row: row[0],
        )
        for (_, earlier_end), (later_start, _) in zip(rows, rows[1:], strict=False):
            assert earlier_end is not None and earlier_end < later_start


def test_scale_can_be_added_twice():
    call_command("seed_scale", customers=50, verbosity=0)
    call_command("seed_scale", customers=50, verbosity=0)
    assert Customer.objects.count() == 100


def test_the_big_location_never_books_a_unit_twice_on_one_day():
    location = seed_big_location(units=20, bookings=400)
    held: dict[int, list[tuple]] = {}
    for row in BookingUnit.objects.filter(unit__location=location, is_cancelled=False):
        held.setdefault(row.unit_id, []).append((row.starts_on, row.ends_on or dt.date.max))
    assert sum(len(spans) for spans in held.values()) > 300
    for spans in held.values():
        spans.sort()
        for (_, earlier_end), (later_start, _) in itertools.pairwise(spans):
            assert earlier_end < later_start
