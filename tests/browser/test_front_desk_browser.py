"""The front desk in Chromium, a walk-in customer's whole stay: New customer from All Contacts, Move
in from the customer's page (the free units refresh with htmx when the dates change), the tenant
signs in on their phone from the Welcome email and opens their unit, Move out now, the same Open
is refused, and the unit is offered for a move-in again. Each staff page is clean under axe-core.

With KEYPORT_SCREENSHOTS=1 the pictures go to docs/screenshots/."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from keyport.access.models import AccessEvent
from keyport.bookings.models import Booking
from keyport.contacts.models import AccountStatus, Contact
from keyport.demo.data import BERLIN, OWNER_EMAIL
from keyport.emails.models import OutgoingEmail
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import SIGN_IN_PATH, audit, demo, folder, staff_page  # noqa: F401
from tests.browser.test_portal_sign_in import sign_in_with_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_walk_in_customer_from_new_customer_to_move_out(live_server, browser, demo, audit, folder):  # noqa: F811
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
    expect(page.get_by_label("Jonas Weber · jonas.weber@example.com (" + BERLIN + ")")).to_be_checked()
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

    phone = _tenant_opens_their_unit(browser, base, contact.email, booking)
    door = phone.get_by_role("button", name=re.compile(r"^Open ")).first
    door_name = door.inner_text().removeprefix("Open ")

    page.goto(f"{base}/dashboard/bookings/{booking.pk}/")
    form = page.locator("#move-out-form")  # moved in until 2027-12-31; the tenant leaves early
    form.get_by_label("Move-out date").fill(booking.location.local_now().date().isoformat())
    form.get_by_label("Now").check()
    form.get_by_role("button", name="Change move-out").click()
    expect(page.get_by_text("Moved out: access ended now")).to_be_visible()

    door.click()  # the tenant's page, still open from before the move-out
    expect(phone.locator("#open-result")).to_contain_text(f"{door_name} did not open.")
    assert AccessEvent.objects.filter(channel=AccessEvent.Channel.PORTAL).latest("pk").allowed is False

    page.goto(f"{base}/dashboard/customers/{contact.customer.pk}/")
    page.get_by_role("link", name="Move in").click()
    expect(page.locator("#free-units")).to_contain_text(number)
    audit.assert_clean()


def _tenant_opens_their_unit(browser: Browser, base: str, email: str | None, booking: Booking) -> Page:
    """The tenant follows the Welcome email's sign-in link on their phone and opens a door of
    the unit; the phone's page stays on the booking's Open buttons."""
    # The Welcome email (the first invoice's email goes to the same address).
    [welcome] = [m for m in mail.outbox if m.to == [email] and SIGN_IN_PATH.search(str(m.body))]
    path = SIGN_IN_PATH.search(str(welcome.body))
    assert path, welcome.body
    phone = sign_in_with_link(browser, base + path.group(0))
    expect(phone.get_by_role("heading", name="Your Bookings")).to_be_visible()
    phone.goto(f"{base}/portal/bookings/{booking.pk}/access/")
    door = phone.get_by_role("button", name=re.compile(r"^Open ")).first
    door_name = door.inner_text().removeprefix("Open ")
    door.click()
    expect(phone.locator("#open-result")).to_have_text(f"{door_name} is open.")
    return phone
