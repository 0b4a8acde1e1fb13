"""Rent from Move in to paid, in Chromium: the owner moves a new customer in at a monthly rent, the
first invoice is emailed with its Pay link, the tenant signs in from the Welcome email, follows the
Pay link, pays through the Checkout page (the local fake Stripe) and the invoice is Paid in the
portal and on the dashboard."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from keyport.billing.models import Invoice, InvoiceStatus
from keyport.contacts.models import Contact
from keyport.demo.data import BERLIN, OWNER_EMAIL
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import SIGN_IN_PATH, demo, staff_page  # noqa: F401
from tests.browser.test_portal_sign_in import sign_in_with_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
INVOICE_PATH = re.compile(r"/portal/billing/invoices/\d+/")


def test_a_move_in_at_a_monthly_rent_is_invoiced_emailed_and_paid_online(
    live_server,
    browser,
    demo,  # noqa: F811
    fake_stripe,
):
    base = live_server.url
    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.goto(f"{base}/dashboard/contacts/")
    page.get_by_role("link", name="New customer").click()
    page.get_by_label("Name").fill("Lena Vogel")
    page.get_by_label("Email").fill("lena.vogel@example.com")
    page.get_by_label("Home location").select_option(label=BERLIN)
    page.get_by_role("button", name="Create customer").click()
    page.get_by_role("link", name="Move in").click()
    first_unit = page.locator("#free-units input[name=units]").first
    number = page.locator("#free-units tbody tr").first.locator("td").nth(1).inner_text()
    first_unit.check()
    page.get_by_label(f"Monthly rent, {number}").fill("61.00")
    page.get_by_role("button", name="Move in", exact=True).click()
    expect(page.get_by_text("Moved in: Lena Vogel.")).to_be_visible()

    contact = Contact.objects.get(email="lena.vogel@example.com")
    invoice = Invoice.objects.get(customer=contact.customer)
    assert invoice.status == InvoiceStatus.OPEN and invoice.total > Decimal("0")
    [invoice_email] = [m for m in mail.outbox if m.to == [contact.email] and invoice.number in m.subject]
    assert invoice_email.attachments, "the invoice's PDF"
    pay_path = INVOICE_PATH.search(str(invoice_email.body))
    assert pay_path and pay_path.group(0) == f"/portal/billing/invoices/{invoice.pk}/", invoice_email.body

    [welcome] = [m for m in mail.outbox if m.to == [contact.email] and SIGN_IN_PATH.search(str(m.body))]
    sign_in = SIGN_IN_PATH.search(str(welcome.body))
    assert sign_in
    phone = sign_in_with_link(browser, base + sign_in.group(0))
    phone.goto(base + pay_path.group(0))
    expect(phone.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    phone.get_by_role("button", name="Pay", exact=True).click()
    assert phone.url.startswith(fake_stripe.base_url)
    phone.get_by_role("button", name="Pay").click()
    expect(phone.get_by_role("status")).to_contain_text("Thank you: your payment is received.")
    expect(phone.locator("[data-invoice-status]")).to_have_text("Paid")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID

    page.goto(f"{base}/dashboard/billing/invoices/{invoice.pk}/")
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_contain_text("Paid")
