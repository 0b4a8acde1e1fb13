"""The front desk in Chromium: New customer from All Contacts, then Move in from the customer's
page (the free units refresh with htmx when the dates change), each page clean under axe-core.

With KEYPORT_SCREENSHOTS=1 the pictures go to docs/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from keyport.bookings.models import Booking
from keyport.contacts.models import AccountStatus, Contact
from keyport.demo.data import BERLIN, OWNER_EMAIL
from keyport.emails.models import OutgoingEmail
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import audit, demo, folder, staff_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_customer_then_move_in_from_their_page(live_server, browser, demo, audit, folder):  # noqa: F811
    base = live_server.url
    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.goto(f"{base}/dashboard/contacts/")
    page.get_by_role("link", name="New customer").click()
    expect(page.get_by_role("heading", name="New customer")).to_be_visible()
    page.get_by_label("Name").fill("Jonas Weber")
    page.get_by_label("Email").fill("jonas.weber@example.com")
    page.get_by_label("Phone").fill("+49 30 555 0101")
    page.get_by_label("Home location").select_option(label=BERLIN)
    audit.check(page, "New customer")
    page.screenshot(path=str(folder / "dashboard-new-customer.png"), full_page=True)
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", level=1, name="Jonas Weber")).to_be_visible()
    contact = Contact.objects.get(email="jonas.weber@example.com")

    page.get_by_role("link", name="Move in").click()
    expect(page.get_by_role("heading", name=f"Move in at {BERLIN}")).to_be_visible()
    expect(page.get_by_label("Jonas Weber (" + BERLIN + ")")).to_be_checked()
    number = page.locator("#free-units tbody tr").first.locator("td").nth(1).inner_text()
    with page.expect_response(re.compile(r"/move-in/\?")):
        page.get_by_label("Move-out date").fill("2027-12-31")
        page.get_by_label("Move-out date").dispatch_event("change")
    # The answer arrives before htmx has swapped it in: a unit ticked in between would be replaced.
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    first_unit = page.locator("#free-units input[name=units]").first
    first_unit.check()
    expect(first_unit).to_be_checked()
    page.get_by_label(f"Monthly rent, {number}").fill("59.00")
    page.get_by_label("Deposit", exact=True).fill("100")
    audit.check(page, "Move in")
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / "dashboard-move-in.png"))
    page.get_by_role("button", name="Move in", exact=True).click()
    expect(page.get_by_text("Moved in: Jonas Weber.")).to_be_visible()

    booking = Booking.objects.get(customer=contact.customer)
    assert [unit.number for unit in booking.units.all()] == [number]
    assert str(booking.booking_units.get().monthly_rent) == "59.00"
    assert OutgoingEmail.objects.filter(template="welcome", to=contact.email).exists()
    assert Contact.objects.get(pk=contact.pk).account_status() == AccountStatus.EMAIL_SENT
    audit.assert_clean()
