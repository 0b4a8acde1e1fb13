"""Browser tests of the portal sections: a ticket-only guest's RSVP; an overdue lockout ended by payment."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from playwright.sync_api import Page, expect

from keyport.access.models import BookingAccess
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.contacts.models import Contact, CustomerKind
from keyport.events.models import Ticket, TicketStatus
from keyport.events.services import event_create
from keyport.portal.sessions import SESSION_CONTACT_ID, SESSION_EPOCH
from tests import cast
from tests.factories import (
    PASSWORD,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    told_before_lockout,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("tests")


def portal_session(page: Page, live_server, contact: Contact) -> None:
    """What a finished magic-link sign-in leaves behind: a session naming the contact."""
    session = SessionStore()
    session[SESSION_CONTACT_ID] = contact.pk
    session[SESSION_EPOCH] = contact.session_epoch
    session.create()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key or "", "url": live_server.url}]
    )


def test_a_ticket_only_guest_answers_an_invitation(live_server, page: Page):
    location = LocationFactory(name="Keyport Car Storage Austin", time_zone="America/Chicago")
    lead = CustomerFactory(name="Sam Rivera", kind=CustomerKind.LEAD, home_location=location)
    guest = ContactFactory(customer=lead, first_name="Sam", email="guest@example.com")
    event = event_create(
        actor=SYSTEM,
        location=location,
        title="Cars & Coffee",
        starts_at=dt.datetime(2099, 5, 1, 14, 0, tzinfo=dt.UTC),
        place="Hall B",
        capacity=10,
    )
    ticket = Ticket.objects.create(event=event, contact=guest)
    portal_session(page, live_server, guest)

    page.goto(f"{live_server.url}/portal/")
    expect(page.get_by_role("heading", name="Your tickets")).to_be_visible()
    expect(page.get_by_role("heading", name="Cars & Coffee")).to_be_visible()
    expect(page.get_by_text("Invited, no answer yet")).to_be_visible()
    expect(page.get_by_role("link", name="Billing")).to_have_count(0)
    page.goto(f"{live_server.url}/portal/billing/")
    expect(page.get_by_role("heading", name="This page is not part of your portal")).to_be_visible()
    page.goto(f"{live_server.url}/portal/")

    page.get_by_role("button", name="I'm going").click()
    expect(page.get_by_role("status")).to_contain_text("See you there!")
    expect(page.locator("[data-rsvp-state]")).to_have_text("Going")
    expect(page.get_by_role("img", name="QR code of your ticket")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.GOING

    page.get_by_role("button", name="Can't make it").click()
    expect(page.locator("[data-rsvp-state]")).to_have_text("Not going")
    expect(page.get_by_role("img", name="QR code of your ticket")).to_have_count(0)


def open_main_door(page: Page, live_server, booking_id: int) -> None:
    """The tenant's own Open button on Manage Access: the same decision a door asks the access API for."""
    page.goto(f"{live_server.url}/portal/bookings/{booking_id}/access/")
    page.get_by_role("button", name="Open Main door").click()


def test_an_overdue_lockout_ends_when_staff_record_the_payment(
    live_server, page: Page, browser, site, tenant
):
    today = timezone.localdate()
    site.set(time_zone="UTC")
    booking = cast.book(tenant, site, starts_on=today - dt.timedelta(days=90))
    invoice = billing.invoice_create(
        actor=SYSTEM,
        location=site.location,
        customer=tenant.customer,
        booking=booking,
        due_on=today - dt.timedelta(days=30),
        lines=[
            billing.LineInput(description="Rent, March", quantity=Decimal("1"), unit_price=Decimal("89.90"))
        ],
    )
    invoice = told_before_lockout(billing.invoice_issue(actor=SYSTEM, invoice=invoice))
    portal_session(page, live_server, tenant)

    open_main_door(page, live_server, booking.pk)
    expect(page.locator("#open-result")).to_have_text("Main door is open.")

    assert billing.invoices_lock_overdue() == 1
    assert BookingAccess.objects.get(booking=booking).revoked_reason == "overdue"
    open_main_door(page, live_server, booking.pk)
    expect(page.locator("#open-result")).to_have_text(
        "Main door did not open. This access has been withdrawn. Contact the facility if you still need it."
    )
    page.goto(f"{live_server.url}/portal/billing/")
    expect(page.locator("[data-balance]")).to_have_text("89.90 EUR")
    expect(page.get_by_text("Access locked until paid")).to_be_visible()

    staff_context = browser.new_context(viewport={"width": 1280, "height": 900})
    staff = staff_context.new_page()
    StaffUserFactory(email="owner@example.com")
    staff.goto(f"{live_server.url}/dashboard/login/")
    staff.get_by_label("Email").fill("owner@example.com")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(f"{live_server.url}/dashboard/billing/invoices/{invoice.pk}/")
    expect(staff.get_by_text("is locked because this invoice is overdue")).to_be_visible()
    staff.get_by_label("Amount").fill("89.90")
    staff.get_by_label("Reference").fill("SEPA 4711")
    staff.get_by_role("button", name="Record payment").click()
    expect(staff.get_by_role("status").first).to_contain_text("Payment recorded.")
    expect(staff.locator("#balance")).to_have_text("0.00 EUR")
    staff_context.close()

    page.goto(f"{live_server.url}/portal/billing/")
    expect(page.locator("[data-balance]")).to_have_text("Nothing to pay. Thank you!")
    expect(page.get_by_text("Access locked until paid")).to_have_count(0)
    expect(page.get_by_text("Paid", exact=True)).to_be_visible()
    open_main_door(page, live_server, booking.pk)
    expect(page.locator("#open-result")).to_have_text("Main door is open.")
    assert not BookingAccess.objects.get(booking=booking).is_revoked
