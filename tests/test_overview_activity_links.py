"""The Overview's recent activity links each entry to what it is about, where there is such a
page the staff member may open."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from keyport.access.models import AccessGrant
from keyport.audit.models import ActorKind, AuditEntry
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.events import services as events
from keyport.staff.models import Role
from tests import cast
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
    today,
)

pytestmark = pytest.mark.django_db


def _entry(target_type: str, target_id: int, label: str, location) -> AuditEntry:
    return AuditEntry.objects.create(
        actor_kind=ActorKind.SYSTEM,
        actor_label="Keyport",
        action="thing.changed",
        target_type=target_type,
        target_id=target_id,
        target_label=label,
        location=location,
    )


def _overview(client) -> str:
    return client.get(reverse("dashboard:home")).content.decode()


def test_entries_link_to_the_customer_booking_unit_location_and_car(client, owner):
    location = LocationFactory(name="Nord")
    customer = CustomerFactory(home_location=location, name="Ada")
    contact = ContactFactory(customer=customer)
    unit = UnitFactory(location=location, number="A001")
    booking = booking_of(customer, [unit], today())
    car = CarFactory(customer=customer)
    _entry("contacts.customer", customer.pk, "the customer Ada", location)
    _entry("contacts.contact", contact.pk, "the contact of Ada", location)
    _entry("bookings.booking", booking.pk, "the booking", location)
    _entry("facilities.unit", unit.pk, "the unit A001", location)
    _entry("facilities.location", location.pk, "the site Nord", location)
    _entry("cars.car", car.pk, "the car", location)
    client.force_login(owner)
    page = _overview(client)
    customer_url = reverse("dashboard:customer_detail", args=[customer.pk])
    assert f'<a href="{customer_url}">the customer Ada</a>' in page
    assert f'<a href="{customer_url}">the contact of Ada</a>' in page
    assert f'<a href="{reverse("dashboard:booking_detail", args=[booking.pk])}">the booking</a>' in page
    assert f'<a href="{reverse("dashboard:unit_edit", args=[unit.pk])}">the unit A001</a>' in page
    assert f'<a href="{reverse("dashboard:location_detail", args=[location.pk])}">the site Nord</a>' in page
    assert f'<a href="{reverse("dashboard:car_detail", args=[car.pk])}">the car</a>' in page


def test_an_employee_is_sent_to_the_units_list_not_the_unit_edit_page(client):
    location = LocationFactory()
    unit = UnitFactory(location=location)
    employee = StaffUserFactory(role=Role.EMPLOYEE)
    employee.locations.add(location)
    _entry("facilities.unit", unit.pk, "the unit", location)
    client.force_login(employee)
    page = _overview(client)
    assert f'<a href="{reverse("dashboard:location_units", args=[location.pk])}">the unit</a>' in page
    assert reverse("dashboard:unit_edit", args=[unit.pk]) not in page


def test_no_link_for_a_deleted_object_a_pageless_kind_or_another_locations_booking(client):
    here, there = LocationFactory(), LocationFactory()
    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(here)
    elsewhere = booking_of(CustomerFactory(home_location=there), [UnitFactory(location=there)], today())
    _entry("bookings.booking", 999_999, "a deleted booking", here)
    _entry("emails.emailtemplate", 1, "an email template", here)
    # Recorded against the wrong location: the booking itself is beyond the manager's locations.
    _entry("bookings.booking", elsewhere.pk, "a booking elsewhere", here)
    client.force_login(manager)
    page = _overview(client)
    for label in ("a deleted booking", "an email template", "a booking elsewhere"):
        assert f"· {label}</li>" in page, label
    assert reverse("dashboard:booking_detail", args=[elsewhere.pk]) not in page


def test_the_links_cost_one_query_a_kind_of_target_however_many_entries(client, owner):
    location = LocationFactory()
    customers = [CustomerFactory(home_location=location) for _ in range(8)]
    _entry("contacts.customer", customers[0].pk, "first", location)
    client.force_login(owner)
    _overview(client)
    with CaptureQueriesContext(connection) as one:
        _overview(client)
    for customer in customers[1:]:
        _entry("contacts.customer", customer.pk, customer.name, location)
    with CaptureQueriesContext(connection) as many:
        page = _overview(client)
    assert len(many) == len(one)
    assert all(reverse("dashboard:customer_detail", args=[c.pk]) in page for c in customers)


def test_entries_of_invoices_events_tickets_and_grants_link_to_their_pages(client, owner, site, tenant):
    booking = cast.book(tenant, site, starts_on=today())
    location, actor = site.location, Actor.staff(owner)
    invoice = billing.invoice_create(
        actor=actor,
        location=location,
        customer=booking.customer,
        booking=None,
        due_on=today() + dt.timedelta(days=10),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("9"))],
    )
    event = events.event_create(
        actor=actor,
        location=location,
        title="Open day",
        starts_at=timezone.now() + dt.timedelta(days=7),
        place="Yard",
        capacity=5,
    )
    (ticket,) = events.event_invite(actor=actor, event=event, emails=["ada@example.com"])
    grant = AccessGrant.objects.filter(booking=booking).first()
    assert grant is not None
    AuditEntry.objects.all().delete()
    _entry("billing.invoice", invoice.pk, "the invoice", location)
    _entry("events.event", event.pk, "the event", location)
    _entry("events.ticket", ticket.pk, "the ticket", location)
    _entry("access.accessgrant", grant.pk, "the grant", location)
    client.force_login(owner)
    page = _overview(client)
    assert f'<a href="{reverse("dashboard:invoice_detail", args=[invoice.pk])}">the invoice</a>' in page
    event_url = reverse("dashboard:event_detail", args=[event.pk])
    assert f'<a href="{event_url}">the event</a>' in page and f'<a href="{event_url}">the ticket</a>' in page
    booking_url = reverse("dashboard:booking_detail", args=[booking.pk])
    assert f'<a href="{booking_url}">the grant</a>' in page
