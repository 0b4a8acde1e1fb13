"""Receivables in Chromium: the owner opens it from the navigation, sees each location's customers
aged in its own currency, and an amount opens the invoices behind it. Clean under axe-core.

With KEYPORT_SCREENSHOTS=1 the picture goes to docs/screenshots/dashboard-receivables.png."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from keyport.audit.services import Actor
from keyport.billing.services import LineInput, invoice_create, invoice_issue
from keyport.bookings.models import Booking
from keyport.demo.data import AUSTIN, BERLIN, OWNER_EMAIL
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import audit, demo, folder, staff_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("tests")


def _bill(booking: Booking, *, days_late: int, amount: str) -> None:
    today = booking.location.local_now().date()
    rent = LineInput(description="Storage rent", quantity=Decimal("1"), unit_price=Decimal(amount))
    draft = invoice_create(
        actor=SYSTEM,
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        due_on=today - dt.timedelta(days=days_late),
        lines=[rent],
    )
    invoice_issue(actor=SYSTEM, invoice=draft, issued_on=today - dt.timedelta(days=days_late + 14))


def test_the_owner_follows_an_overdue_amount_to_its_invoices(
    live_server,
    browser,
    demo,  # noqa: F811
    audit,  # noqa: F811
    folder,  # noqa: F811
):
    base = live_server.url
    for name, ages in ((BERLIN, (0, 12, 45, 75, -5)), (AUSTIN, (20, 0, 90))):
        bookings = Booking.objects.filter(location__name=name, ends_on__isnull=True).order_by("pk")
        for n, days_late in enumerate(ages):
            _bill(bookings[10 + n], days_late=days_late, amount=f"{89 + 17 * n}.00")
    berlin = Location.objects.get(name=BERLIN)

    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.goto(f"{base}/dashboard/")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Receivables").click()
    expect(page.get_by_role("heading", name="Receivables", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name=BERLIN)).to_contain_text("amounts in EUR")
    expect(page.get_by_role("heading", name=AUSTIN)).to_contain_text("amounts in USD")
    audit.check(page, "Receivables")
    page.screenshot(path=str(folder / "dashboard-receivables.png"), full_page=True)

    page.get_by_role("link", name=f"Overdue at {BERLIN}:").click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    expect(page.get_by_label("Days past due")).to_have_value("overdue")
    expect(page.get_by_label("Location")).to_have_value(str(berlin.pk))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(5)  # the demo's two overdue invoices (3 and 30 days), and 12, 45 and 75 days
    expect(rows.get_by_text("Overdue")).to_have_count(5)
    audit.check(page, "Invoices filtered")
    audit.assert_clean()
