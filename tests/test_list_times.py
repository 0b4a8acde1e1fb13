"""One time rule for every list: each row in its location's zone, a zone all rows share named once
above the list, each row's zone named when a list mixes zones, rows in the order of their instants."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from keyport.audit.models import ActorKind, AuditEntry
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.models import Invoice
from keyport.emails.models import EmailStatus, EmailTemplate, OutgoingEmail
from keyport.lib.times import list_zone, local_time_html, zone_of
from keyport.staff.models import Role
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db

# Three changes, newest first: 09:00 in Chicago is the latest instant, though it reads earliest.
CHICAGO_AT = dt.datetime(2026, 3, 4, 15, tzinfo=dt.UTC)  # 09:00 CST
BERLIN_LATE = dt.datetime(2026, 3, 4, 14, tzinfo=dt.UTC)  # 15:00 CET
BERLIN_EARLY = dt.datetime(2026, 3, 4, 13, tzinfo=dt.UTC)  # 14:00 CET

# A row's time with its zone named beside it: (local time, zone, abbreviation).
LABELLED_ROW = re.compile(
    r'(\d{4}-\d\d-\d\d \d\d:\d\d)</time> <abbr class="text-body-secondary" title="([^"]+)">([A-Z]+)</abbr>'
)
CAPTION = "data-times-caption>"


@pytest.fixture
def berlin():
    return LocationFactory(name="Berlin Mitte", time_zone="Europe/Berlin")


@pytest.fixture
def chicago():
    return LocationFactory(name="Chicago Loop", time_zone="America/Chicago")


@pytest.fixture
def customer(berlin):
    return CustomerFactory(name="Schneider", home_location=berlin)


def manager_of(client, *locations):
    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(*locations)
    client.force_login(manager)
    return manager


def change(location, when, customer=None, label="Booking #1"):
    return AuditEntry.objects.create(
        created_at=when,
        actor_kind=ActorKind.SYSTEM,
        actor_label="Keyport",
        action="booking.created",
        target_type="bookings.booking",
        target_id=1,
        target_label=label,
        location=location,
        customer=customer,
    )


def section(page: str, heading_id: str) -> str:
    """The part of a page from one section's heading to the next section."""
    start = page.index(f'id="{heading_id}"')
    end = page.find("<h", page.index("</h", start) + 1)
    return page[start : end if end != -1 else len(page)]


def three_changes(berlin, chicago, customer=None):
    change(berlin, BERLIN_EARLY, customer)
    change(chicago, CHICAGO_AT, customer)
    change(berlin, BERLIN_LATE, customer)


def test_a_zone_is_the_locations_and_a_row_of_no_location_shows_the_installs(berlin) -> None:
    assert zone_of(berlin) == "Europe/Berlin"
    assert zone_of(None) == "UTC"


def test_a_list_shares_a_zone_only_when_every_row_has_it(berlin, chicago) -> None:
    assert list_zone([berlin, berlin]) == "Europe/Berlin"
    assert list_zone([berlin, chicago]) is None
    assert list_zone([]) is None


def test_a_time_is_shown_in_its_zone_with_its_summer_abbreviation() -> None:
    summer = dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)
    html = local_time_html(summer, "Europe/Berlin", list_zone=None)
    assert html == (
        '<time datetime="2026-07-01T14:00:00+02:00">2026-07-01 14:00</time> '
        '<abbr class="text-body-secondary" title="Europe/Berlin">CEST</abbr>'
    )
    assert local_time_html(summer, "Europe/Berlin", list_zone="Europe/Berlin").endswith("14:00</time>")


def test_a_time_follows_the_readers_language() -> None:
    with translation.override("de"):
        html = local_time_html(CHICAGO_AT, "America/Chicago", list_zone="America/Chicago", format="j. F Y")
    assert "4. März 2026" in html


def test_the_overview_shows_each_change_in_its_locations_zone_newest_instant_first(
    client, berlin, chicago
) -> None:
    three_changes(berlin, chicago)
    manager_of(client, berlin, chicago)
    activity = section(client.get(reverse("dashboard:home")).content.decode(), "activity-heading")
    assert LABELLED_ROW.findall(activity) == [
        ("2026-03-04 09:00", "America/Chicago", "CST"),
        ("2026-03-04 15:00", "Europe/Berlin", "CET"),
        ("2026-03-04 14:00", "Europe/Berlin", "CET"),
    ]
    assert "Each time in the time zone of its location" in activity
    assert "Times in" not in activity


def test_the_customers_activity_shows_each_change_in_its_locations_zone_newest_instant_first(
    client, berlin, chicago, customer
) -> None:
    three_changes(berlin, chicago, customer)
    manager_of(client, berlin, chicago)
    page = client.get(reverse("dashboard:customer_detail", args=[customer.pk])).content.decode()
    activity = page[page.index('aria-label="Activity"') : page.index('id="emails-heading"')]
    assert [row[0:3:2] for row in LABELLED_ROW.findall(activity)] == [
        ("2026-03-04 09:00", "CST"),
        ("2026-03-04 15:00", "CET"),
        ("2026-03-04 14:00", "CET"),
    ]


def test_a_list_whose_rows_share_a_zone_names_it_once_and_not_on_each_row(client, berlin, chicago) -> None:
    three_changes(berlin, chicago)
    manager_of(client, berlin)
    activity = section(client.get(reverse("dashboard:home")).content.decode(), "activity-heading")
    assert activity.count(CAPTION) == 1 and "Times in Europe/Berlin" in activity
    assert LABELLED_ROW.findall(activity) == []
    assert re.findall(r"(\d\d:\d\d)</time>", activity) == ["15:00", "14:00"]


def test_the_email_log_names_the_customers_zone(client, berlin, customer) -> None:
    contact = ContactFactory(customer=customer)
    OutgoingEmail.objects.create(
        to=contact.email,
        contact=contact,
        subject="Welcome",
        body_text="Hello",
        status=EmailStatus.SENT,
        created_at=BERLIN_EARLY,
        sent_at=BERLIN_EARLY + dt.timedelta(minutes=1),
    )
    manager_of(client, berlin)
    page = client.get(reverse("dashboard:customer_detail", args=[customer.pk])).content.decode()
    emails = page[page.index('id="emails-heading"') :]
    assert emails.index("Times in Europe/Berlin") < emails.index('aria-label="Emails sent"')
    assert '<time datetime="2026-03-04T14:00:00+01:00">2026-03-04 14:00</time>' in emails
    assert "Delivered <time" in emails and ">14:01</time>" in emails


def test_all_contacts_says_since_when_in_the_viewers_location_zone_not_utc(client, berlin, customer) -> None:
    ContactFactory(customer=customer, first_signed_in_at=BERLIN_EARLY)
    manager_of(client, berlin)
    page = client.get(reverse("dashboard:all_contacts")).content.decode()
    assert "since <time" in page and "2026-03-04 14:00</time>" in page
    assert page.count("Times in Europe/Berlin") == 1
    assert "UTC" not in page


def test_all_contacts_names_each_rows_zone_when_the_customers_live_in_two_zones(
    client, berlin, chicago, customer
) -> None:
    ContactFactory(customer=customer, first_name="Mara", first_signed_in_at=BERLIN_EARLY)
    elsewhere = CustomerFactory(name="Miller", home_location=chicago)
    ContactFactory(customer=elsewhere, first_name="Nora", first_signed_in_at=CHICAGO_AT)
    manager_of(client, berlin, chicago)
    page = client.get(reverse("dashboard:all_contacts")).content.decode()
    assert sorted(LABELLED_ROW.findall(page)) == [
        ("2026-03-04 09:00", "America/Chicago", "CST"),
        ("2026-03-04 14:00", "Europe/Berlin", "CET"),
    ]
    assert "Times in" not in page


def test_the_email_templates_list_names_the_owners_locations_zone_not_utc(client, owner, berlin) -> None:
    EmailTemplate.objects.create(
        key="shared_access", subject="S", body_text="B", updated_at=BERLIN_EARLY, updated_by="Olga"
    )
    client.force_login(owner)
    page = client.get(reverse("dashboard:email_templates")).content.decode()
    assert "Times in Europe/Berlin" in page and "changed <time" in page and "14:00</time> by Olga" in page
    assert "UTC" not in page


def test_an_invoices_access_lock_is_in_its_locations_zone_not_utc(client, owner, berlin, customer) -> None:
    booking = booking_of(customer, [UnitFactory(location=berlin)], dt.date(2026, 1, 1))
    invoice = billing.invoice_create(
        actor=Actor.system("tests"),
        location=berlin,
        customer=customer,
        booking=booking,
        due_on=dt.date(2026, 3, 1),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("80"))],
    )
    Invoice.objects.filter(pk=invoice.pk).update(access_locked_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    client.force_login(owner)
    page = client.get(reverse("dashboard:invoice_detail", args=[invoice.pk])).content.decode()
    assert "(since <time" in page
    assert (
        '2026-05-01 02:00</time> <abbr class="text-body-secondary" title="Europe/Berlin">CEST</abbr>)' in page
    )
    assert "UTC" not in page


def _queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# Evening in Chicago, the next morning in Berlin: the Overview counts for two local dates.
TWO_LOCAL_DATES = dt.datetime(2026, 3, 5, 3, tzinfo=dt.UTC)


@time_machine.travel(TWO_LOCAL_DATES)
def test_list_pages_make_as_many_queries_for_many_rows_in_mixed_zones_as_for_one(
    client, berlin, chicago, customer
) -> None:
    manager_of(client, berlin, chicago)
    urls = [
        reverse("dashboard:home"),
        reverse("dashboard:customer_detail", args=[customer.pk]),
        reverse("dashboard:all_contacts"),
    ]
    change(berlin, BERLIN_EARLY, customer)
    ContactFactory(customer=customer, first_signed_in_at=BERLIN_EARLY)
    for url in urls:  # the Overview's past months are counted on its first view of the day, then kept
        client.get(url)
    few = [_queries_of(client, url) for url in urls]
    for n in range(12):
        change(chicago if n % 2 else berlin, CHICAGO_AT + dt.timedelta(minutes=n), customer)
        other = CustomerFactory(home_location=chicago if n % 2 else berlin)
        ContactFactory(customer=other, first_signed_in_at=CHICAGO_AT)
    assert [_queries_of(client, url) for url in urls] == few
    # The Overview: session, user, its audit, locations, the units counted, for each local date
    # (here two) the occupied, out of service and reserved units and the move-ins and move-outs,
    # the kept occupancy of past months (a cache read), the currencies and the overdue sums, a
    # template check, the staff member's locations and the PIN blocks.
    assert few[0] == 4 + 1 + 2 * 5 + 1 + 2 + 3
