"""New invoice: the customer is found by a search, and the booking is one of that customer's."""

import datetime as dt

import pytest
from django.urls import reverse

from keyport.billing.models import Invoice
from keyport.staff.models import Role
from tests.factories import ContactFactory, CustomerFactory, LocationFactory, UnitFactory, booking_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def location():
    return LocationFactory(name="Berlin", time_zone="Europe/Berlin")


@pytest.fixture
def many(location):
    """A hundred customers at the location, and Mara among them."""
    for n in range(100):
        CustomerFactory(home_location=location, name=f"Customer {n:03d}")
    mara = CustomerFactory(home_location=location, name="Mara Schneider")
    ContactFactory(customer=mara, first_name="Mara", last_name="Schneider", email="mara@example.com")
    return mara


def url(location):
    return reverse("dashboard:invoice_create", args=[location.pk])


def form(customer="", booking="", **extra):
    data = {
        "customer": customer,
        "booking": booking,
        "due_on": "2026-03-01",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "New lock",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "12.00",
        "lines-0-tax_rate": "19",
    }
    return {**data, **extra}


def test_the_form_offers_no_hundred_name_dropdown_before_a_search(location, many, staff_client):
    page = staff_client(Role.MANAGER, location).get(url(location)).content.decode()
    assert "Customer 042" not in page and 'name="customer_search"' in page
    assert "Type part of the customer" in page


def test_find_without_javascript_offers_the_matches_only(location, many, staff_client):
    client = staff_client(Role.MANAGER, location)
    page = client.post(url(location), form(action="find", customer_search="schneider")).content.decode()
    assert "Mara Schneider" in page and "Customer 042" not in page
    assert not Invoice.objects.exists()
    page = client.get(url(location), {"customer_search": "nobody-like-this"}).content.decode()
    assert "No customer of Berlin matches" in page


def test_htmx_refreshes_only_the_customer_part(location, many, staff_client):
    client = staff_client(Role.MANAGER, location)
    response = client.get(
        url(location), {"customer_search": "mara"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="invoice-customer"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="invoice-customer">') and "Mara Schneider" in page
    assert "<html" not in page


def test_the_booking_offers_only_the_chosen_customers_bookings(location, many, staff_client):
    other = CustomerFactory(home_location=location, name="Other Tenant")
    hers = booking_of(many, [UnitFactory(location=location)], dt.date(2026, 1, 1))
    theirs = booking_of(other, [UnitFactory(location=location)], dt.date(2026, 1, 2))
    client = staff_client(Role.MANAGER, location)
    page = client.post(url(location), form(action="find", customer=many.pk)).content.decode()
    assert f'value="{hers.pk}"' in page and f'value="{theirs.pk}"' not in page
    refused = client.post(url(location), form(action="create", customer=many.pk, booking=theirs.pk))
    assert refused.status_code == 400
    assert "Choose a booking of this customer at this location." in refused.content.decode()
    assert not Invoice.objects.exists()
    created = client.post(url(location), form(action="create", customer=many.pk, booking=hers.pk))
    assert created.status_code == 302
    assert Invoice.objects.get().booking == hers


def test_a_customer_of_another_location_cannot_be_billed_here(location, many, staff_client):
    elsewhere = CustomerFactory(home_location=LocationFactory(name="Austin"), name="Far Away")
    client = staff_client(Role.OWNER)
    response = client.post(url(location), form(action="create", customer=elsewhere.pk))
    assert response.status_code == 400
    assert "Choose a customer of this location." in response.content.decode()
    assert not Invoice.objects.exists()
    assert "Far Away" not in client.get(url(location), {"customer_search": "far"}).content.decode()


def test_creating_without_a_customer_says_to_find_one(location, many, staff_client):
    response = staff_client(Role.MANAGER, location).post(url(location), form(action="create"))
    assert response.status_code == 400
    assert "Find and choose the customer." in response.content.decode()
    assert not Invoice.objects.exists()
