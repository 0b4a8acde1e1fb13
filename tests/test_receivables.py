"""Receivables: open balances per customer aged by days past due at each location's own today,
totals per location in its currency, each amount opening the invoices behind it; the CSV export;
the Overview's overdue total."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyport.billing.models import BillingSettings, Invoice, InvoiceStatus
from keyport.dashboard import receivables_views
from keyport.staff.models import Role
from tests.factories import CustomerFactory, LocationFactory

pytestmark = pytest.mark.django_db

# 00:30 on 11 March in Berlin, still 10 March in UTC and in Austin: each location ages by its own today.
NOW = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
BERLIN_TODAY = dt.date(2026, 3, 11)


def _open(location, customer, due_on, total, *, paid="0", status=InvoiceStatus.OPEN, currency="EUR"):
    return Invoice.objects.create(
        location=location,
        customer=customer,
        status=status,
        currency=currency,
        due_on=due_on,
        total=Decimal(total),
        amount_paid=Decimal(paid),
    )


def _days_late(days):
    return BERLIN_TODAY - dt.timedelta(days=days)


def _table(page, location):
    return page.split(f'id="location-{location.pk}"')[1].split("</section>")[0]


def _row(table, customer):
    return table.split(f'data-customer="{customer.pk}"')[1].split("</tr>")[0]


def _amounts(html):
    """The amounts of a row's cells, left to right (Current, 1–30, 31–60, Over 60, Overdue, Open)."""
    cells = html.split('<td class="text-end">')[1:]
    return [cell.split("</a>")[0].split("</span>")[0].rsplit(">", 1)[-1] for cell in cells]


def _csv(response):
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def aged(site):
    """One customer of the site with an invoice at each edge of the ages; amounts powers of two so
    each sum says which invoices are in it."""
    customer = CustomerFactory(name="Ada Lovelace", home_location=site.location)
    for days, total in ((-1, "64"), (0, "1"), (1, "2"), (30, "4"), (31, "8"), (60, "16"), (61, "32")):
        _open(site.location, customer, _days_late(days), total)
    # Not owed: paid, void, draft; a part payment leaves its balance.
    _open(site.location, customer, _days_late(90), "500", status=InvoiceStatus.PAID, paid="500")
    _open(site.location, customer, _days_late(90), "500", status=InvoiceStatus.VOID)
    _open(site.location, customer, _days_late(90), "500", status=InvoiceStatus.DRAFT)
    _open(site.location, customer, _days_late(45), "300", paid="172")
    return customer


@time_machine.travel(NOW, tick=False)
def test_invoices_age_by_days_past_due_at_the_locations_today(owner_client, site, aged):
    page = owner_client.get(reverse("dashboard:receivables")).content.decode()
    # Due today and tomorrow: current. 1 and 30 days: 1–30. 31, 45 (part paid) and 60: 31–60. 61: over 60.
    row = _row(_table(page, site.location), aged)
    assert _amounts(row) == ["65.00", "6.00", "152.00", "32.00", "190.00", "255.00"]
    assert "Ada Lovelace" in row


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("age", "due_days"),
    [
        ("current", [-1, 0]),
        ("1_30", [1, 30]),
        ("31_60", [31, 45, 60]),
        ("over_60", [61]),
        ("overdue", [1, 30, 31, 45, 60, 61]),
    ],
)
def test_each_amount_opens_the_invoices_behind_it(owner_client, site, aged, age, due_days):
    page = owner_client.get(reverse("dashboard:receivables")).content.decode()
    invoices = reverse("dashboard:invoice_list")
    link = f"{invoices}?location={site.location.pk}&amp;customer={aged.pk}&amp;age={age}"
    assert link in _row(_table(page, site.location), aged)
    response = owner_client.get(link.replace("&amp;", "&"))
    listed = sorted((BERLIN_TODAY - invoice.due_on).days for invoice in response.context["invoices"])
    assert listed == due_days
    assert 'id="invoice-customer">Invoices of <a' in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_totals_per_location_in_its_currency_link_to_the_location_invoices(
    owner_client, site, other_site, aged
):
    austin = LocationFactory(name="Austin lot", time_zone="America/Chicago")
    BillingSettings.objects.create(location=austin, currency="USD")
    texan = CustomerFactory(name="Tex Ritter", home_location=austin)
    # In Austin it is still 10 March: due on the 10th is current there, not overdue.
    _open(austin, texan, dt.date(2026, 3, 10), "7", currency="USD")
    _open(austin, texan, dt.date(2026, 3, 9), "3", currency="USD")
    other = CustomerFactory(name="Bea Nord", home_location=other_site.location)
    _open(site.location, other, _days_late(2), "10")
    page = owner_client.get(reverse("dashboard:receivables")).content.decode()
    berlin = _table(page, site.location)
    assert "amounts in EUR" in berlin
    assert _amounts(berlin.split('class="location-total"')[1]) == [
        "65.00",
        "16.00",
        "152.00",
        "32.00",
        "200.00",
        "265.00",
    ]
    assert f"?location={site.location.pk}&amp;age=overdue" in berlin
    texas = _table(page, austin)
    assert "amounts in USD" in texas
    assert _amounts(_row(texas, texan)) == ["7.00", "3.00", "0.00", "0.00", "3.00", "10.00"]
    assert "Nothing is owed at Lager Nord" in _table(page, other_site.location)


@time_machine.travel(NOW, tick=False)
def test_the_overview_shows_each_locations_overdue_total_as_a_link(owner_client, site, other_site, aged):
    BillingSettings.objects.create(location=other_site.location, currency="CHF")
    page = owner_client.get(reverse("dashboard:home")).content.decode()
    berlin = page.split(f'data-overdue="{site.location.pk}"')[1].split("</td>")[0]
    assert f'href="{reverse("dashboard:invoice_list")}?location={site.location.pk}&amp;age=overdue"' in berlin
    assert ">190.00 EUR</a>" in berlin
    assert ">0.00 CHF</a>" in page.split(f'data-overdue="{other_site.location.pk}"')[1].split("</td>")[0]


@time_machine.travel(NOW, tick=False)
def test_a_manager_of_another_location_sees_none_of_it(staff_client, site, other_site, aged):
    client = staff_client(Role.MANAGER, other_site.location)
    page = client.get(reverse("dashboard:receivables")).content.decode()
    assert "Ada Lovelace" not in page
    assert f'id="location-{site.location.pk}"' not in page
    asked = client.get(reverse("dashboard:receivables"), {"location": site.location.pk}).content.decode()
    assert "Ada Lovelace" not in asked and "Lager Kreuzberg" not in asked
    assert "That location is not one of yours" in asked
    rows = _csv(client.get(reverse("dashboard:receivables_csv"), {"location": site.location.pk}))
    assert rows == [rows[0]]
    rows = _csv(client.get(reverse("dashboard:receivables_csv")))
    assert [row[0] for row in rows[1:]] == ["Lager Nord"]
    invoices = client.get(reverse("dashboard:invoice_list"), {"location": site.location.pk, "age": "overdue"})
    assert list(invoices.context["invoices"]) == []


@time_machine.travel(NOW, tick=False)
def test_the_csv_streams_the_table_with_formula_looking_names_made_text(owner_client, site, aged):
    sly = CustomerFactory(name='=HYPERLINK("http://x.test","pay")', home_location=site.location)
    _open(site.location, sly, _days_late(3), "12.50")
    for name in ("+49 Ltd", "-dash", "@at"):
        _open(site.location, CustomerFactory(name=name, home_location=site.location), _days_late(3), "1")
    response = owner_client.get(reverse("dashboard:receivables_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="receivables.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "Location",
        "Customer",
        "Currency",
        "Current",
        "1–30 days",
        "31–60 days",
        "Over 60 days",
        "Overdue",
        "Open",
    ]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name['\'=HYPERLINK("http://x.test","pay")'][3:] == [
        "0.00",
        "12.50",
        "0.00",
        "0.00",
        "12.50",
        "12.50",
    ]
    assert {"'+49 Ltd", "'-dash", "'@at"} <= set(by_name)
    assert by_name["Ada Lovelace"] == [
        "Lager Kreuzberg",
        "Ada Lovelace",
        "EUR",
        "65.00",
        "6.00",
        "152.00",
        "32.00",
        "190.00",
        "255.00",
    ]
    assert by_name["Total"][7] == "205.50"


@time_machine.travel(NOW, tick=False)
def test_the_page_and_the_csv_take_as_many_queries_for_many_customers_as_for_one(
    owner_client, site, other_site
):
    def queries_with(customers: int) -> tuple[int, int]:
        for location in (site.location, other_site.location):
            for n in range(customers):
                customer = CustomerFactory(home_location=location)
                _open(location, customer, _days_late(n * 20), "10")
        counts = []
        for name in ("dashboard:receivables", "dashboard:receivables_csv"):
            with CaptureQueriesContext(connection) as captured:
                response = owner_client.get(reverse(name))
                if response.streaming:
                    b"".join(response.streaming_content)
            assert response.status_code == 200
            counts.append(len(captured))
        return counts[0], counts[1]

    one = queries_with(1)
    assert one == queries_with(6)
    # The session and the staff member; the locations, their currencies and the sums.
    assert one[0] <= 5 and one[1] <= 5


@time_machine.travel(NOW, tick=False)
def test_the_most_overdue_show_first_and_the_csv_lists_everyone(owner_client, site, monkeypatch):
    monkeypatch.setattr(receivables_views, "CUSTOMERS_SHOWN", 2)
    for name, overdue, current in (("Ann", "5", "900"), ("Bob", "50", "0"), ("Cyd", "20", "0")):
        customer = CustomerFactory(name=name, home_location=site.location)
        _open(site.location, customer, _days_late(10), overdue)
        _open(site.location, customer, _days_late(0), current)
    table = _table(owner_client.get(reverse("dashboard:receivables")).content.decode(), site.location)
    shown = [
        row.split("</a>")[0].rsplit(">", 1)[1]
        for row in table.split('<th scope="row" class="fw-normal">')[1:]
    ]
    assert shown == ["Bob", "Cyd"]
    assert "The 2 most overdue of 3 customers show here" in table
    assert _amounts(table.split('class="location-total"')[1])[4:] == ["75.00", "975.00"]
    rows = _csv(owner_client.get(reverse("dashboard:receivables_csv")))
    assert [row[1] for row in rows[1:]] == ["Bob", "Cyd", "Ann", "Total"]
