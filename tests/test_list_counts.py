"""Each dashboard list says how many rows match, and names its customers with a link to them."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from keyport.access.services import access_decide
from keyport.access.services.doors import Door
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.services import LineInput
from keyport.cars.models import Car
from keyport.contacts.models import CustomerKind
from keyport.dashboard import billing_views, cars_views
from tests.factories import CarFactory, CustomerFactory, LocationFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
RENT = LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("50"), tax_rate=Decimal("19"))


def _status(page: str, element_id: str) -> str:
    return page.split(f'id="{element_id}">')[1].split("</p>")[0]


def test_the_cars_list_counts_every_match_with_thousands_separated(client, owner, monkeypatch):
    location = LocationFactory()
    customer = CustomerFactory(home_location=location, name="Ada Lovelace")
    Car.objects.bulk_create(
        Car(customer=customer, make="Fiat", model="500", plate=f"B X {n}") for n in range(1234)
    )
    monkeypatch.setattr(cars_views, "CARS_SHOWN", 20)
    client.force_login(owner)
    page = client.get(reverse("dashboard:car_list")).content.decode()
    assert _status(page, "car-count") == "1,234 cars; the first 20 show here."
    assert f'<a href="{reverse("dashboard:customer_detail", args=[customer.pk])}">Ada Lovelace</a>' in page


def test_the_cars_list_counts_one_match_in_the_singular(client, owner, django_assert_max_num_queries):
    location = LocationFactory()
    CarFactory(customer=CustomerFactory(home_location=location), plate="B KP 1")
    CarFactory(customer=CustomerFactory(home_location=location), plate="M AB 2")
    client.force_login(owner)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("dashboard:car_list"), {"q": "KP"}).content.decode()
    assert _status(page, "car-count") == "1 car match “KP”."


def _invoice(actor, location, customer, due_on):
    draft = billing.invoice_create(
        actor=actor, location=location, customer=customer, booking=None, due_on=due_on, lines=[RENT]
    )
    return billing.invoice_issue(actor=actor, invoice=draft, issued_on=dt.date(2026, 2, 1))


@time_machine.travel(NOW, tick=False)
def test_the_invoice_list_counts_and_says_overdue_where_the_portal_does(client, owner, monkeypatch):
    location = LocationFactory()
    customer = CustomerFactory(home_location=location, name="Grace Hopper")
    actor = Actor.staff(owner)
    late = _invoice(actor, location, customer, dt.date(2026, 3, 1))
    due = _invoice(actor, location, customer, dt.date(2026, 4, 1))
    _invoice(actor, location, customer, dt.date(2026, 4, 2))
    monkeypatch.setattr(billing_views, "INVOICES_SHOWN", 2)
    client.force_login(owner)
    page = client.get(reverse("dashboard:invoice_list")).content.decode()
    assert _status(page, "invoice-count") == "3 invoices; the newest 2 show here."
    monkeypatch.setattr(billing_views, "INVOICES_SHOWN", 200)
    page = client.get(reverse("dashboard:invoice_list")).content.decode()
    assert _status(page, "invoice-count") == "3 invoices."

    def row(invoice):
        link = f'href="{reverse("dashboard:invoice_detail", args=[invoice.pk])}"'
        return page.split(link)[1].split("</tr>")[0]

    assert "Overdue" in row(late) and "Open" not in row(late)
    assert "Overdue" not in row(due) and "Open" in row(due)
    assert f'href="{reverse("dashboard:customer_detail", args=[customer.pk])}">Grace Hopper</a>' in row(late)
    filtered = client.get(reverse("dashboard:invoice_list"), {"status": "paid"}).content.decode()
    assert _status(filtered, "invoice-count") == "0 invoices."


def test_the_access_events_page_counts_every_event_and_links_the_tenant(client, owner, site, tenant, booking):
    holder = site.holder(tenant)
    with time_machine.travel(NOW, tick=False):
        for _ in range(3):
            access_decide(door=Door.of(site.door), holder=holder, channel="portal")
        client.force_login(owner)
        url = reverse("dashboard:location_access_events", args=[site.location.pk])
        page = client.get(url).content.decode()
        one_unit = client.get(url, {"unit": site.units[0].pk, "decision": "denied"}).content.decode()
    assert _status(page, "event-count") == "3 access events."
    link = f'<a href="{reverse("dashboard:customer_detail", args=[booking.customer_id])}">'
    assert link + str(holder) in page
    assert _status(one_unit, "event-count") == "0 access events of this unit and decision."


def test_the_events_leads_documents_and_email_lists_count_their_rows(client, owner):
    location = LocationFactory()
    lead = CustomerFactory(kind=CustomerKind.LEAD, home_location=location, name="Lin Lead")
    client.force_login(owner)
    leads = client.get(reverse("dashboard:lead_list")).content.decode()
    assert _status(leads, "lead-count") == "1 lead."
    assert f'<a href="{reverse("dashboard:customer_detail", args=[lead.pk])}">Lin Lead</a>' in leads
    events = client.get(reverse("dashboard:event_list")).content.decode()
    assert _status(events, "event-count") == "0 events."
    documents = client.get(reverse("dashboard:customer_documents", args=[lead.pk])).content.decode()
    assert _status(documents, "document-count") == "0 documents."
    emails = client.get(reverse("dashboard:email_templates")).content.decode()
    assert _status(emails, "template-count").endswith(" emails.")
