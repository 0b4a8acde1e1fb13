"""The issue's walks in a browser: invite to portal, the additional contact, the ticket-only guest."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from keyport.emails.backends import read_message_file
from tests.factories import PASSWORD, StaffUserFactory
from tests.portal_helpers import LINK

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mailbox(settings, tmp_path, live_server):
    """Mail as `make run` writes it: one .eml file a message under the mail directory."""
    settings.EMAIL_BACKEND = "keyport.emails.backends.OneFilePerMessageBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.PUBLIC_BASE_URL = live_server.url
    return tmp_path / "mail"


def link_in_mailbox(mailbox: Path, to: str) -> str:
    for path in sorted(mailbox.glob("*.eml"), reverse=True):
        recipient, body = read_message_file(path)
        if recipient == to:
            match = LINK.search(body)
            assert match, body
            return match.group(0)
    raise AssertionError(f"no email to {to} in {sorted(p.name for p in mailbox.glob('*'))}")


def sign_in_with_link(browser: Browser, link: str) -> Page:
    """The customer's own phone: a fresh browser context."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Sign in to the customer portal")).to_be_visible()
    phone.get_by_role("button", name="Continue").click()
    return phone


def request_link(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("status")).to_contain_text(
        "If this email belongs to an account, we sent a sign-in link"
    )


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_staff_invite_reaches_the_tenants_portal(live_server, page: Page, browser: Browser, mailbox, tenant):
    StaffUserFactory(email="owner@demo.keyport.test", full_name="Olivia Owner")
    page.goto(f"{live_server.url}/dashboard/login/")
    page.get_by_label("Email").fill("owner@demo.keyport.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="All Contacts").click()
    page.get_by_label("Search").fill("tenant@example.com")
    page.get_by_role("button", name="Search").click()
    # The row is on the page before the search too: click only once the searched page has loaded.
    expect(page).to_have_url(re.compile(r"q=tenant%40example.com"))
    page.wait_for_load_state()
    row = page.locator(f"#contact-{tenant.pk}")
    expect(row).to_contain_text("Not signed in yet")
    row.get_by_role("button", name="Send Invite to Mara Schneider").click()
    expect(row).to_contain_text("Email Sent")
    expect(row).to_contain_text("Invite sent to tenant@example.com")
    expect(row.get_by_role("button", name="Resend Invite to Mara Schneider")).to_be_visible()

    phone = sign_in_with_link(browser, link_in_mailbox(mailbox, "tenant@example.com"))
    expect(phone).to_have_url(f"{live_server.url}/portal/")
    expect(phone.get_by_role("heading", name="Your Bookings")).to_be_visible()
    expect(phone.get_by_text("Lager Kreuzberg").first).to_be_visible()
    expect(phone.get_by_text("A010")).to_be_visible()

    page.reload()
    expect(row).to_contain_text("Signed In")
    expect(row.get_by_role("button")).to_have_count(0)


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_additional_contact_sees_the_same_cars(live_server, page: Page, browser: Browser, mailbox):
    request_link(page, live_server.url, "partner@example.com")
    phone = sign_in_with_link(browser, link_in_mailbox(mailbox, "partner@example.com"))
    expect(phone.get_by_role("heading", name="Your Bookings")).to_be_visible()
    phone.get_by_role("link", name="Cars").click()
    expect(phone.get_by_text("Volvo P1800")).to_be_visible()
    expect(phone.get_by_text("B MS 1800")).to_be_visible()
    expect(phone.get_by_text("Jaguar")).to_have_count(0)


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_ticket_only_guest_sees_only_tickets_events_and_settings(
    live_server, page: Page, browser: Browser, mailbox
):
    request_link(page, live_server.url, "guest@example.com")
    phone = sign_in_with_link(browser, link_in_mailbox(mailbox, "guest@example.com"))
    expect(phone).to_have_url(f"{live_server.url}/portal/tickets/")
    expect(phone.get_by_role("heading", name="Your tickets")).to_be_visible()
    nav = phone.get_by_role("navigation", name="Portal sections")
    expect(nav.get_by_role("link")).to_have_count(3)
    for section in ("Your tickets", "Events", "Settings"):
        expect(nav.get_by_role("link", name=section)).to_have_count(1)
    expect(phone.get_by_text("Your Bookings")).to_have_count(0)
    phone.goto(f"{live_server.url}/portal/cars/")
    expect(phone.get_by_role("heading", name="This page is not part of your portal")).to_be_visible()
