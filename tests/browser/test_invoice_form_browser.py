"""New invoice in Chromium: typing in the customer search refreshes the customers found (htmx), and
choosing one offers only their bookings. The page is clean under axe-core.

With KEYPORT_SCREENSHOTS=1 the picture goes to docs/screenshots/dashboard-invoice-new.png."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from keyport.billing.models import Invoice
from keyport.staff.models import Role
from tests.browser.test_accessibility import audit, folder, staff_page  # noqa: F401
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_customer_is_found_by_typing_and_offers_only_their_bookings(live_server, browser, audit, folder):  # noqa: F811
    berlin = LocationFactory(name="Lager Kreuzberg", time_zone="Europe/Berlin")
    for n in range(40):
        CustomerFactory(home_location=berlin, name=f"Customer {n:03d}")
    mara = CustomerFactory(home_location=berlin, name="Mara Schneider")
    ContactFactory(customer=mara, first_name="Mara", last_name="Schneider", email="mara@example.com")
    hers = booking_of(mara, [UnitFactory(location=berlin, number="A010")], dt.date(2026, 1, 1))
    other = booking_of(
        CustomerFactory(home_location=berlin, name="Other Tenant"),
        [UnitFactory(location=berlin)],
        dt.date(2026, 1, 2),
    )
    owner = StaffUserFactory(role=Role.OWNER)
    page = staff_page(browser, live_server.url, owner)
    page.goto(f"{live_server.url}/dashboard/locations/{berlin.pk}/invoices/new/")
    expect(page.get_by_text("Type part of the customer's name")).to_be_visible()
    with page.expect_response(re.compile(r"/invoices/new/\?")):
        page.get_by_label("Find the customer").press_sequentially("schnei")
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    expect(page.get_by_label(f"Mara Schneider (#{mara.pk})")).to_be_visible()
    expect(page.get_by_text("Customer 007")).to_have_count(0)
    with page.expect_response(re.compile(r"/invoices/new/\?")):
        page.get_by_label(f"Mara Schneider (#{mara.pk})").check()
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    booking = page.get_by_label("Booking")
    expect(booking.locator(f"option[value='{hers.pk}']")).to_have_count(1)
    expect(booking.locator(f"option[value='{other.pk}']")).to_have_count(0)
    booking.select_option(str(hers.pk))
    page.get_by_label("Due on").fill("2026-03-01")
    page.get_by_label("Description, line 1").fill("New padlock")
    page.get_by_label("Unit price, line 1").fill("12.00")
    audit.check(page, "New invoice")
    page.screenshot(path=str(folder / "dashboard-invoice-new.png"), full_page=True)
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_text("Draft invoice created.")).to_be_visible()
    invoice = Invoice.objects.get()
    assert (invoice.customer, invoice.booking) == (mara, hers)
    audit.assert_clean()
