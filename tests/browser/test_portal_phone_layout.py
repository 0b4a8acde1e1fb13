"""A branded portal on a 390 px phone: every page fits the screen, Sign out stays on it, and the
tabs wear the site's colour. The login page and the guest key page show the site's branding too."""

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact
from keyport.events.models import Ticket
from keyport.events.services import event_create
from keyport.facilities.branding import BrandingChanges, location_set_branding
from tests import cast
from tests.portal_helpers import sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("tests")
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
KEY = re.compile(r"https?://[^\s]+/key/[A-Za-z0-9_-]+/")
PHONE_WIDTH = 390
SITE_NAME = "Lagerhaus Kreuzberg Self-Storage und Autoeinstellhalle am Landwehrkanal"
BRAND = "#1a3d6e"
BRAND_RGB = "rgb(26, 61, 110)"


def wide_logo() -> SimpleUploadedFile:
    """A wide logo (6:1), the kind that pushed Sign out off a phone's screen."""
    logo = Image.new("RGB", (1200, 200), "#1a3d6e")
    draw = ImageDraw.Draw(logo)
    draw.rounded_rectangle((10, 10, 190, 190), radius=36, fill="#f0a500")
    draw.rectangle((70, 50, 100, 150), fill="#1a3d6e")
    draw.rectangle((70, 120, 140, 150), fill="#1a3d6e")
    for left in range(240, 1160, 120):
        draw.rounded_rectangle((left, 70, left + 90, 130), radius=12, fill="#ffffff")
    buffer = io.BytesIO()
    logo.save(buffer, format="PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def branded_booking(site, tenant, other_site) -> Booking:
    """The owner tenant's booking of a month ago at the branded site; the other site is there so
    the login page cannot fall back to "the only location"."""
    booking = cast.book(tenant, site, starts_on=timezone.localdate() - dt.timedelta(days=30))
    location_set_branding(
        actor=SYSTEM,
        location=site.location,
        changes=BrandingChanges(site_name=SITE_NAME, colour=BRAND, logo=wide_logo()),
    )
    return booking


def ticket_only_person(site, guest: Contact) -> Contact:
    event = event_create(
        actor=SYSTEM,
        location=site.location,
        title="Cars & Coffee",
        starts_at=dt.datetime(2099, 5, 1, 14, 0, tzinfo=dt.UTC),
        place="Hall B",
        capacity=10,
    )
    Ticket.objects.create(event=event, contact=guest)
    return guest


def guest_key_link(booking: Booking) -> str:
    today = timezone.localdate()
    cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=6))
    [email] = [message for message in mail.outbox if message.to == ["friend@example.com"]]
    return KEY.search(email.body).group(0)


def phone(browser: Browser, base: str, contact: Contact | None = None) -> Page:
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 844}, is_mobile=True)
    if contact is not None:
        client = Client()
        sign_in_as(client, contact)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def assert_fits_the_phone(page: Page, url: str, *, signed_in: bool) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{url} is {width} px wide"
    header = page.get_by_role("navigation", name="Customer portal")
    expect(header.get_by_text(SITE_NAME)).to_be_visible()
    expect(header.locator("img.portal-logo")).to_be_visible()
    sign_out = page.get_by_role("button", name="Sign out")
    if not signed_in:
        expect(sign_out).to_have_count(0)
        return
    box = sign_out.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, f"{url}: {box}"


def assert_tabs_wear_the_brand(page: Page) -> None:
    tabs = page.get_by_role("navigation", name="Portal sections")
    expect(tabs.locator(".nav-link.active")).to_have_css("background-color", BRAND_RGB)
    expect(tabs.locator(".nav-link.active")).to_have_css("color", "rgb(255, 255, 255)")
    for other in tabs.locator(".nav-link:not(.active)").all():
        expect(other).to_have_css("color", BRAND_RGB)


def test_every_branded_portal_page_fits_a_390_px_phone(
    live_server, browser: Browser, settings, tmp_path, branded_booking, site, tenant, guest
) -> None:
    """With KEYPORT_SCREENSHOTS=1 the picture of the home page goes to docs/screenshots/."""
    settings.PUBLIC_BASE_URL = live_server.url
    base = live_server.url
    key_link = guest_key_link(branded_booking)
    tenant_page = phone(browser, base, tenant)
    for path in ["/portal/", "/portal/cars/", "/portal/billing/", "/portal/documents/", "/portal/events/"]:
        assert_fits_the_phone(tenant_page, base + path, signed_in=True)
        assert_tabs_wear_the_brand(tenant_page)
    assert_fits_the_phone(tenant_page, f"{base}/portal/settings/", signed_in=True)
    assert_fits_the_phone(tenant_page, f"{base}/portal/bookings/{branded_booking.pk}/access/", signed_in=True)
    expect(tenant_page.get_by_role("heading", name="Manage Access")).to_be_visible()

    assert_fits_the_phone(tenant_page, f"{base}/portal/", signed_in=True)
    folder = SCREENSHOTS if os.environ.get("KEYPORT_SCREENSHOTS") else tmp_path
    tenant_page.screenshot(path=str(folder / "portal-phone-branded.png"))

    ticket_only = phone(browser, base, ticket_only_person(site, guest))
    assert_fits_the_phone(ticket_only, f"{base}/portal/", signed_in=True)
    expect(ticket_only.get_by_role("heading", name="Your tickets")).to_be_visible()
    assert_tabs_wear_the_brand(ticket_only)

    visitor = phone(browser, base)
    assert_fits_the_phone(visitor, f"{base}/login/?location={site.location.pk}", signed_in=False)
    expect(visitor.get_by_role("button", name="Email me a sign-in link")).to_have_css(
        "background-color", BRAND_RGB
    )
    assert_fits_the_phone(visitor, key_link, signed_in=False)
    expect(visitor.get_by_role("button", name="Open Main door")).to_have_css("background-color", BRAND_RGB)
