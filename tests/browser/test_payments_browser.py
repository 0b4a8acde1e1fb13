"""Paying an invoice online, in Chromium: the tenant's Pay in Billing goes to the Checkout page
(served by the local fake Stripe, a plain form with a Pay button) and back, and the invoice is
Paid in the portal and on the dashboard. With KEYPORT_SCREENSHOTS=1 the pictures go to
docs/screenshots/."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.models import InvoiceStatus, Payment
from tests.browser.test_sections_browser import portal_session
from tests.factories import PASSWORD, StaffUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("tests")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return SCREENSHOTS if os.environ.get("KEYPORT_SCREENSHOTS") else tmp_path


def test_the_tenant_pays_an_open_invoice_with_pay_and_it_is_paid_in_the_portal_and_the_dashboard(
    live_server, page: Page, browser, fake_stripe, site, tenant, booking, folder
):
    billing.invoice_issue(
        actor=SYSTEM,
        invoice=billing.invoice_create(
            actor=SYSTEM,
            location=site.location,
            customer=tenant.customer,
            booking=booking,
            due_on=dt.date(2026, 2, 1),
            lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("65"))],
        ),
    )
    invoice = billing.invoice_issue(
        actor=SYSTEM,
        invoice=billing.invoice_create(
            actor=SYSTEM,
            location=site.location,
            customer=tenant.customer,
            booking=booking,
            due_on=dt.date(2099, 3, 1),
            lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("89.90"))],
        ),
    )
    portal_session(page, live_server, tenant)
    page.goto(f"{live_server.url}/portal/billing/")
    pay = page.get_by_role("button", name=f"Pay {invoice.number}")
    expect(pay).to_be_visible()
    expect(page.get_by_text("No card is saved.")).to_be_visible()
    page.screenshot(path=str(folder / "portal-billing.png"), full_page=True)

    pay.click()
    expect(page.get_by_role("heading", name="Pay 89.90 EUR")).to_be_visible()
    assert page.url.startswith(fake_stripe.base_url)
    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Thank you: your payment is received.")
    expect(page.locator("[data-invoice-status]")).to_have_text("Paid")
    expect(page.locator("[data-invoice-balance]")).to_have_text("0.00 EUR")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert Payment.objects.filter(invoice=invoice).count() == 1

    page.goto(f"{live_server.url}/portal/billing/")
    expect(page.get_by_role("button", name=f"Pay {invoice.number}")).to_have_count(0)
    page.get_by_role("link", name=invoice.number, exact=True).click()
    page.screenshot(path=str(folder / "portal-invoice.png"), full_page=True)

    staff_context = browser.new_context(viewport={"width": 1280, "height": 900})
    staff = staff_context.new_page()
    StaffUserFactory(email="owner@example.com")
    staff.goto(f"{live_server.url}/dashboard/login/")
    staff.get_by_label("Email").fill("owner@example.com")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(f"{live_server.url}/dashboard/billing/invoices/{invoice.pk}/")
    expect(staff.get_by_role("heading", name=f"Invoice {invoice.number}")).to_contain_text("Paid")
    expect(staff.get_by_role("listitem").filter(has_text="recorded by Stripe")).to_contain_text(
        "89.90 EUR · Card"
    )
    staff.goto(f"{live_server.url}/dashboard/locations/{site.location.pk}/settings/")
    section = staff.locator("section", has=staff.get_by_role("heading", name="Online payment and how to pay"))
    expect(section.locator("[data-payment-state]")).to_contain_text("Tenants pay invoices online")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(folder / "dashboard-payment-settings.png"))
    staff_context.close()
