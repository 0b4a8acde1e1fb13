"""The staff dashboard in a browser: All Contacts' column chooser, a filter and Send Invite; the
customer page's Edit Contact dialog and Revoke access; the screenshots of both pages in docs/."""

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from keyport.access.models import AccessGrant, GrantState, SharedAccess, ShareState
from keyport.contacts.models import Contact
from keyport.demo.data import OWNER_EMAIL, TENANT_EMAIL, seed_demo
from keyport.staff.models import StaffUser
from tests import cast
from tests.factories import ContactFactory, CustomerFactory, LocationFactory, StaffUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def staff_page(browser: Browser, base: str, user: StaffUser) -> Page:
    """A browser of its own, signed in as this staff member (a fresh session each time)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def mark_page(page: Page) -> None:
    """Leave a mark in the page's window: it survives htmx swaps and is gone after a reload."""
    page.evaluate("window.keyportTestMark = true")


def still_the_same_page(page: Page) -> bool:
    return bool(page.evaluate("window.keyportTestMark === true"))


@pytest.fixture
def people():
    """Mara (never signed in) and Sam (signed in) at Lager Kreuzberg."""
    location = LocationFactory(name="Lager Kreuzberg")
    mara = ContactFactory(
        customer=CustomerFactory(name="Mara Schneider", home_location=location),
        first_name="Mara",
        last_name="Schneider",
        email="mara@example.com",
        phone="+49 30 5550 1010",
    )
    sam = ContactFactory(
        customer=CustomerFactory(name="Sam Rivera", home_location=location),
        first_name="Sam",
        last_name="Rivera",
        email="sam@example.com",
        first_signed_in_at=timezone.now() - dt.timedelta(days=3),
    )
    return mara, sam


# All Contacts ----------------------------------------------------------------------------------------


def test_a_hidden_column_stays_hidden_after_a_reload_and_a_new_sign_in(live_server, browser, people):
    owner = StaffUserFactory()
    page = staff_page(browser, live_server.url, owner)
    page.goto(f"{live_server.url}/dashboard/contacts/")
    table = page.get_by_role("table", name="All Contacts")
    expect(table.get_by_role("columnheader", name="Phone")).to_be_visible()
    expect(table.get_by_text("+49 30 5550 1010")).to_be_visible()

    page.get_by_role("button", name="Filters & Settings").click()
    page.locator("#col-phone").uncheck()
    page.get_by_role("button", name="Apply settings").click()
    expect(table.get_by_role("columnheader", name="Phone")).to_have_count(0)
    expect(table.get_by_text("+49 30 5550 1010")).to_have_count(0)
    expect(table.get_by_role("columnheader", name="Email")).to_be_visible()

    page.reload()
    expect(table.get_by_role("columnheader", name="Email")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Phone")).to_have_count(0)

    elsewhere = staff_page(browser, live_server.url, owner)
    elsewhere.goto(f"{live_server.url}/dashboard/contacts/")
    other_table = elsewhere.get_by_role("table", name="All Contacts")
    expect(other_table.get_by_role("columnheader", name="Email")).to_be_visible()
    expect(other_table.get_by_role("columnheader", name="Phone")).to_have_count(0)


def test_the_account_status_filter_narrows_the_rows_in_place_with_a_shareable_address(
    live_server, browser, people
):
    mara, sam = people
    page = staff_page(browser, live_server.url, StaffUserFactory())
    page.goto(f"{live_server.url}/dashboard/contacts/")
    table = page.get_by_role("table", name="All Contacts")
    expect(table.get_by_role("link", name="Mara Schneider", exact=True)).to_be_visible()
    mark_page(page)

    page.get_by_role("button", name="Filters & Settings").click()
    page.locator("#id_status").select_option("signed_in")
    expect(table.get_by_role("link", name="Mara Schneider", exact=True)).to_have_count(0)
    expect(table.get_by_role("link", name="Sam Rivera", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]status=signed_in"))
    assert still_the_same_page(page)

    colleague = staff_page(browser, live_server.url, StaffUserFactory())
    colleague.goto(page.url)
    shared_table = colleague.get_by_role("table", name="All Contacts")
    expect(shared_table.get_by_role("link", name="Sam Rivera", exact=True)).to_be_visible()
    expect(shared_table.get_by_role("link", name="Mara Schneider", exact=True)).to_have_count(0)


def test_send_invite_from_a_row_shows_email_sent_without_a_reload(live_server, browser, people):
    mara, _ = people
    page = staff_page(browser, live_server.url, StaffUserFactory())
    page.goto(f"{live_server.url}/dashboard/contacts/")
    row = page.locator(f"#contact-{mara.pk}")
    expect(row).to_contain_text("Not signed in yet")
    mark_page(page)

    row.get_by_role("button", name="Send Invite to Mara Schneider").click()
    row = page.locator(f"#contact-{mara.pk}")
    expect(row).to_contain_text("Email Sent")
    expect(row).to_contain_text("Invite sent to mara@example.com")
    expect(row.get_by_role("button", name="Resend Invite to Mara Schneider")).to_be_visible()
    assert still_the_same_page(page)
    assert [message.to for message in mail.outbox] == [["mara@example.com"]]


# The customer page ------------------------------------------------------------------------------------


def test_edit_contact_saves_a_new_phone_and_shows_a_bad_email_beside_its_field(live_server, browser, people):
    mara, _ = people
    page = staff_page(browser, live_server.url, StaffUserFactory())
    page.goto(f"{live_server.url}/dashboard/customers/{mara.customer_id}/")

    page.get_by_role("button", name="Edit Mara Schneider").click()
    dialog = page.get_by_role("dialog", name="Edit Contact")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Phone").fill("+49 30 1234 5678")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Mara's details saved.")
    expect(page.locator(f"#contact-{mara.pk}")).to_contain_text("+49 30 1234 5678")
    expect(page.locator("#personal-contact")).to_contain_text("+49 30 1234 5678")

    page.get_by_role("button", name="Edit Mara Schneider").click()
    dialog = page.get_by_role("dialog", name="Edit Contact")
    dialog.get_by_label("Email", exact=True).fill("not-an-email")
    dialog.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="Edit Contact")
    expect(dialog).to_be_visible()
    email = dialog.get_by_label("Email", exact=True)
    expect(email).to_have_class(re.compile(r"\bis-invalid\b"))
    error = dialog.locator(f"#id_c{mara.pk}-email-error")
    expect(error).to_contain_text("Enter a valid email address.")
    assert error.evaluate("(node) => node.parentElement") == email.evaluate("(node) => node.parentElement")
    mara.refresh_from_db()
    assert mara.email == "mara@example.com" and mara.phone == "+49 30 1234 5678"


def test_revoke_access_from_the_customer_page_revokes_the_booking_and_its_grants(
    live_server, browser, site, tenant
):
    today = timezone.localdate()
    site.set(time_zone="UTC")
    booking = cast.book(tenant, site, starts_on=today - dt.timedelta(days=30))
    cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=6))
    page = staff_page(browser, live_server.url, StaffUserFactory())
    page.goto(f"{live_server.url}/dashboard/customers/{tenant.customer_id}/")

    card = page.locator(f"[data-booking='{booking.pk}']")
    expect(card).to_contain_text("friend@example.com")
    card.get_by_label("Reason").fill("Payment overdue")
    card.get_by_role("button", name="Revoke access").click()
    expect(page.locator("[data-access-loss]")).to_have_text(
        f"{tenant.full_name} and 1 guest lose door access now."
    )
    assert AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()
    page.get_by_role("button", name="Revoke access now").click()

    expect(page).to_have_url(re.compile(rf"/dashboard/customers/{tenant.customer_id}/#booking-"))
    card = page.locator(f"[data-booking='{booking.pk}']")
    expect(card.locator("[data-booking-access]")).to_contain_text("Revoked")
    expect(card.locator("[data-booking-access]")).to_contain_text("Payment overdue")
    expect(card.get_by_role("button", name="Restore access")).to_be_visible()
    grants = card.get_by_role("table", name=f"Grants of booking #{booking.pk}")
    expect(grants.get_by_role("cell", name="Active", exact=True)).to_have_count(0)
    expect(grants.get_by_role("cell", name="Revoked", exact=True)).to_have_count(
        AccessGrant.objects.filter(booking=booking).count()
    )
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()
    assert SharedAccess.objects.get(booking=booking).state == ShareState.REVOKED


# Screenshots ------------------------------------------------------------------------------------------


def test_screenshots_of_all_contacts_and_the_customer_page(live_server, browser, tmp_path):
    """With KEYPORT_SCREENSHOTS=1 the pictures go to docs/screenshots/; otherwise to a temporary folder."""
    seed_demo()
    folder = SCREENSHOTS if os.environ.get("KEYPORT_SCREENSHOTS") else tmp_path
    page = staff_page(browser, live_server.url, StaffUser.objects.get(email=OWNER_EMAIL))
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"{live_server.url}/dashboard/contacts/")
    expect(page.get_by_role("table", name="All Contacts")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / "all-contacts.png"))

    tenant = Contact.objects.get(email=TENANT_EMAIL)
    page.goto(f"{live_server.url}/dashboard/customers/{tenant.customer_id}/")
    expect(page.get_by_role("heading", name="Bookings")).to_be_visible()
    expect(page.get_by_text("friend@example.com").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(folder / "customer-detail.png"), full_page=True)
    assert (folder / "all-contacts.png").stat().st_size > 10_000
    assert (folder / "customer-detail.png").stat().st_size > 10_000
