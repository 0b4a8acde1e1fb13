"""Rentals: every booking with its phase in its location's zone, customer, units, rent and access
state; searched, filtered, keyset-paged in a constant number of queries, scoped to the staff member."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyport.access.models import (
    OVERDUE_REASON,
    AccessGrant,
    BookingAccess,
    GrantOrigin,
    RevocationOrigin,
    SyncState,
)
from keyport.access.services import holder_for_contact
from keyport.billing.models import BillingSettings, Invoice
from keyport.bookings.models import Booking, BookingPhase, BookingStatus, BookingUnit
from keyport.frontdesk.queries import RentalFilters, RentalScope, filter_rentals, phase_conditions
from keyport.staff.models import Role
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db

# 2026-03-10 in Berlin (CET, UTC+1) begins at 09 Mar 23:00 UTC; in Chicago (CDT since 8 March,
# UTC-5) at 10 Mar 05:00 UTC.
DAY = dt.date(2026, 3, 10)
BERLIN_DAY_STARTS = dt.datetime(2026, 3, 9, 23, tzinfo=dt.UTC)
CHICAGO_DAY_STARTS = dt.datetime(2026, 3, 10, 5, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
ROW = re.compile(r'<a href="/dashboard/bookings/(\d+)/">#\d+</a></td>\s*<td>([^<]+)</td>')


@pytest.fixture
def berlin():
    return LocationFactory(name="Berlin Mitte", time_zone="Europe/Berlin")


@pytest.fixture
def chicago():
    return LocationFactory(name="Chicago Loop", time_zone="America/Chicago")


def rental(location, starts_on, ends_on=None, *, name="Tenant", unit_number=None, rent=None):
    customer = CustomerFactory(name=name, home_location=location)
    unit = UnitFactory(location=location, **({"number": unit_number} if unit_number else {}))
    booking = booking_of(customer, [unit], starts_on, ends_on)
    if rent is not None:
        BookingUnit.objects.filter(booking=booking).update(monthly_rent=rent)
    return booking


def rows(client, url):
    """{booking id: phase} of the rows on the page."""
    response = client.get(url)
    assert response.status_code == 200
    return {int(pk): phase for pk, phase in ROW.findall(response.content.decode())}


def rentals_url(location=None, **query):
    url = (
        reverse("dashboard:location_rentals", args=[location.pk])
        if location
        else reverse("dashboard:rentals")
    )
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


# Phases ------------------------------------------------------------------------------------


def test_a_booking_is_reserved_until_its_first_day_begins_in_its_locations_zone(
    chicago, staff_client
) -> None:
    booking = rental(chicago, DAY)
    client = staff_client(Role.EMPLOYEE, chicago)
    with time_machine.travel(CHICAGO_DAY_STARTS - SECOND, tick=False):
        # Already 10 March in UTC and in Berlin, still 9 March in Chicago.
        assert rows(client, rentals_url(chicago)) == {booking.pk: "Reserved"}
    with time_machine.travel(CHICAGO_DAY_STARTS, tick=False):
        assert rows(client, rentals_url(chicago)) == {booking.pk: "Current"}


def test_a_booking_ends_after_its_last_day_in_its_locations_zone(berlin, staff_client) -> None:
    booking = rental(berlin, DAY - dt.timedelta(days=30), DAY - dt.timedelta(days=1))
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS - SECOND, tick=False):
        assert rows(client, rentals_url(berlin)) == {booking.pk: "Ending soon"}
    with time_machine.travel(BERLIN_DAY_STARTS, tick=False):
        assert rows(client, rentals_url(berlin)) == {booking.pk: "Ended"}


def test_ending_soon_is_a_move_out_at_most_14_days_ahead(berlin, staff_client) -> None:
    soon = rental(berlin, DAY - dt.timedelta(days=30), DAY + dt.timedelta(days=14))
    later = rental(berlin, DAY - dt.timedelta(days=30), DAY + dt.timedelta(days=15))
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS, tick=False):
        assert rows(client, rentals_url(berlin)) == {soon.pk: "Ending soon", later.pk: "Current"}


def test_a_move_out_that_ended_access_now_is_ended_and_a_cancelled_booking_cancelled(
    berlin, staff_client
) -> None:
    moved_out = rental(berlin, DAY - dt.timedelta(days=30), DAY)
    Booking.objects.filter(pk=moved_out.pk).update(ended_at=BERLIN_DAY_STARTS + dt.timedelta(hours=10))
    cancelled = rental(berlin, DAY + dt.timedelta(days=3))
    Booking.objects.filter(pk=cancelled.pk).update(status=BookingStatus.CANCELLED)
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS + dt.timedelta(hours=10) - SECOND, tick=False):
        assert rows(client, rentals_url(berlin))[moved_out.pk] == "Ending soon"
    with time_machine.travel(BERLIN_DAY_STARTS + dt.timedelta(hours=10), tick=False):
        assert rows(client, rentals_url(berlin)) == {moved_out.pk: "Ended", cancelled.pk: "Cancelled"}


@pytest.mark.parametrize("offset", [-16, -15, -1, 0, 1, 13, 14, 15])
def test_the_databases_phase_is_the_bookings_own_phase(berlin, offset) -> None:
    start = DAY + dt.timedelta(days=offset)
    bookings = [
        rental(berlin, start),
        rental(berlin, start, start + dt.timedelta(days=abs(offset))),
        rental(berlin, DAY - dt.timedelta(days=40), start + dt.timedelta(days=20)),
    ]
    with time_machine.travel(BERLIN_DAY_STARTS + dt.timedelta(hours=12), tick=False):
        (today,) = RentalScope.of([berlin]).todays
        now = dt.datetime.now(dt.UTC)
        for phase, condition in phase_conditions(today, now).items():
            found = set(Booking.objects.filter(condition).values_list("pk", flat=True))
            assert found == {b.pk for b in bookings if b.phase_label(today) == phase.label}, phase


# Filters and search ------------------------------------------------------------------------


def test_each_phase_filter_lists_only_that_phase(berlin, staff_client) -> None:
    made = {
        "Reserved": rental(berlin, DAY + dt.timedelta(days=1)),
        "Current": rental(berlin, DAY - dt.timedelta(days=1)),
        "Ending soon": rental(berlin, DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=2)),
        "Ended": rental(berlin, DAY - dt.timedelta(days=9), DAY - dt.timedelta(days=1)),
        "Cancelled": rental(berlin, DAY),
    }
    Booking.objects.filter(pk=made["Cancelled"].pk).update(status=BookingStatus.CANCELLED)
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS, tick=False):
        for phase in BookingPhase:
            assert rows(client, rentals_url(berlin, phase=phase.value)) == {made[phase.label].pk: phase.label}


def test_move_ins_and_move_outs_today_count_from_each_locations_own_today(
    berlin, chicago, staff_client
) -> None:
    berlin_in = rental(berlin, DAY)
    chicago_in = rental(chicago, DAY)
    berlin_out = rental(berlin, DAY - dt.timedelta(days=9), DAY)
    chicago_out = rental(chicago, DAY - dt.timedelta(days=9), DAY)
    rental(berlin, DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1))
    cancelled = rental(berlin, DAY)
    Booking.objects.filter(pk=cancelled.pk).update(status=BookingStatus.CANCELLED)
    client = staff_client(Role.EMPLOYEE, berlin, chicago)
    with time_machine.travel(BERLIN_DAY_STARTS + dt.timedelta(hours=1), tick=False):
        # 10 March in Berlin, still 9 March in Chicago.
        assert set(rows(client, rentals_url(day="move_ins"))) == {berlin_in.pk}
        assert set(rows(client, rentals_url(day="move_outs"))) == {berlin_out.pk}
        assert rows(client, rentals_url(phase="reserved")) == {chicago_in.pk: "Reserved"}
    with time_machine.travel(CHICAGO_DAY_STARTS, tick=False):
        assert set(rows(client, rentals_url(day="move_ins"))) == {berlin_in.pk, chicago_in.pk}
        assert set(rows(client, rentals_url(day="move_outs"))) == {berlin_out.pk, chicago_out.pk}
        assert set(rows(client, rentals_url(chicago, day="move_outs"))) == {chicago_out.pk}


def test_search_finds_the_customers_name_a_contacts_email_or_a_units_number(berlin, staff_client) -> None:
    weber = rental(berlin, DAY, name="Anna Weber")
    by_email = rental(berlin, DAY, name="Klein GmbH")
    ContactFactory(customer=by_email.customer, email="buero@klein.example")
    by_unit = rental(berlin, DAY, name="Someone", unit_number="B-117")
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS, tick=False):
        assert set(rows(client, rentals_url(berlin, q="weber"))) == {weber.pk}
        assert set(rows(client, rentals_url(berlin, q="BUERO%40klein"))) == {by_email.pk}
        assert set(rows(client, rentals_url(berlin, q="b-117"))) == {by_unit.pk}
        assert rows(client, rentals_url(berlin, q="nobody")) == {}
        assert "No rentals match" in client.get(rentals_url(berlin, q="nobody")).content.decode()


def test_search_and_filters_combine(berlin) -> None:
    current = rental(berlin, DAY - dt.timedelta(days=3), name="Weber")
    rental(berlin, DAY + dt.timedelta(days=3), name="Weber")
    rental(berlin, DAY - dt.timedelta(days=3), name="Klein")
    with time_machine.travel(BERLIN_DAY_STARTS, tick=False):
        scope = RentalScope.of([berlin])
        found = filter_rentals(scope.bookings(), RentalFilters(search="Weber", phase="current"), scope)
        assert list(found.values_list("pk", flat=True)) == [current.pk]


def test_an_unknown_phase_is_refused_beside_its_field(berlin, staff_client) -> None:
    rental(berlin, DAY)
    client = staff_client(Role.EMPLOYEE, berlin)
    response = client.get(rentals_url(berlin, phase="gone"))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_phase-error"' in page and "Select a valid choice" in page
    assert not ROW.findall(page)


# Columns -----------------------------------------------------------------------------------


def test_a_row_shows_the_customer_linked_units_rent_in_the_locations_currency(berlin, staff_client) -> None:
    BillingSettings.objects.create(location=berlin, currency="CHF")
    customer = CustomerFactory(name="Anna Weber")
    units = [UnitFactory(location=berlin, number="A-1"), UnitFactory(location=berlin, number="A-2")]
    booking = booking_of(customer, units, DAY, DAY + dt.timedelta(days=60))
    BookingUnit.objects.filter(booking=booking, unit=units[0]).update(monthly_rent=Decimal("79.50"))
    BookingUnit.objects.filter(booking=booking, unit=units[1]).update(monthly_rent=Decimal("20.25"))
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS, tick=False):
        page = client.get(rentals_url(berlin)).content.decode()
    customer_url = reverse("dashboard:customer_detail", args=[customer.pk])
    assert f'<a href="{customer_url}">Anna Weber</a>' in page
    assert "A-1, A-2" in page and "2026-03-10 – 2026-05-09" in page
    assert "99.75 CHF" in page


def test_without_billing_settings_the_rent_is_in_the_default_currency(berlin, staff_client) -> None:
    rental(berlin, DAY, rent=Decimal("10"))
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS, tick=False):
        assert "10.00 EUR" in client.get(rentals_url(berlin)).content.decode()


def _access_cell(page: str, booking: Booking) -> str:
    row = page.split(f">#{booking.pk}</a>")[1].split("</tr>")[0]
    return row.rsplit("<td>", 1)[1]


def test_the_access_column_says_active_revoked_locked_for_overdue_or_sync_failing(
    berlin, staff_client
) -> None:
    active = rental(berlin, DAY - dt.timedelta(days=5))
    revoked = rental(berlin, DAY - dt.timedelta(days=5))
    BookingAccess.objects.create(booking=revoked, revoked_at=BERLIN_DAY_STARTS, revoked_reason="Keys lost")
    locked = rental(berlin, DAY - dt.timedelta(days=5))
    BookingAccess.objects.create(
        booking=locked,
        revoked_at=BERLIN_DAY_STARTS,
        revoked_reason=OVERDUE_REASON,
        revoked_origin=RevocationOrigin.OVERDUE,
    )
    failing = rental(berlin, DAY - dt.timedelta(days=5))
    contact = ContactFactory(customer=failing.customer)
    AccessGrant.objects.create(
        holder=holder_for_contact(location=berlin, contact=contact),
        unit=failing.units.get(),
        booking=failing,
        origin=GrantOrigin.BOOKING,
        starts_at=BERLIN_DAY_STARTS,
        sync_state=SyncState.FAILED,
    )
    upcoming = rental(berlin, DAY + dt.timedelta(days=5))
    ended = rental(berlin, DAY - dt.timedelta(days=9), DAY - dt.timedelta(days=2))
    BookingAccess.objects.create(booking=ended, revoked_at=BERLIN_DAY_STARTS, revoked_reason="Keys lost")
    client = staff_client(Role.EMPLOYEE, berlin)
    with time_machine.travel(BERLIN_DAY_STARTS + dt.timedelta(hours=8), tick=False):
        page = client.get(rentals_url(berlin)).content.decode()
    assert "Active" in _access_cell(page, active) and "failing" not in _access_cell(page, active)
    assert "Access revoked" in _access_cell(page, revoked)
    assert "Locked for overdue" in _access_cell(page, locked)
    assert "Active" in _access_cell(page, failing) and "Provider sync failing" in _access_cell(page, failing)
    assert "From the move-in" in _access_cell(page, upcoming)
    assert "None" in _access_cell(page, ended) and "revoked" not in _access_cell(page, ended)


# Paging and queries ------------------------------------------------------------------------


def test_pages_follow_each_other_newest_move_in_first_without_gaps_or_repeats(berlin, staff_client) -> None:
    customer = CustomerFactory()
    # Several bookings on each day, so that a page ends among bookings of the same date.
    made = [
        booking_of(customer, [UnitFactory(location=berlin)], DAY - dt.timedelta(days=n // 4))
        for n in range(120)
    ]
    expected = [b.pk for b in sorted(made, key=lambda b: (b.starts_on, b.pk), reverse=True)]
    client = staff_client(Role.EMPLOYEE, berlin)
    seen: list[int] = []
    url = rentals_url(berlin)
    pages = []
    while url:
        page = client.get(url).content.decode()
        pages.append(url)
        seen += [int(pk) for pk, _ in ROW.findall(page)]
        following = re.search(r'rel="next" href="([^"]+)"', page)
        url = rentals_url(berlin) + following.group(1).replace("&amp;", "&") if following else ""
    assert seen == expected and len(pages) == 3
    last = client.get(pages[-1]).content.decode()
    previous = rentals_url(berlin) + re.search(r'rel="prev" href="([^"]+)"', last).group(1).replace(
        "&amp;", "&"
    )
    assert [int(pk) for pk, _ in ROW.findall(client.get(previous).content.decode())] == expected[50:100]


def test_a_broken_cursor_starts_from_the_first_page(berlin, staff_client) -> None:
    booking = rental(berlin, DAY)
    client = staff_client(Role.EMPLOYEE, berlin)
    for cursor in ("not-a-cursor", "WzEsMl0", "WyJ4IiwxXQ"):  # garbage, [1,2], ["x",1]
        assert set(rows(client, rentals_url(berlin, after=cursor))) == {booking.pk}


def _queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _some_rentals(location, count: int) -> None:
    for n in range(count):
        booking = rental(location, DAY - dt.timedelta(days=n), rent=Decimal("50"))
        contact = ContactFactory(customer=booking.customer)
        AccessGrant.objects.create(
            holder=holder_for_contact(location=location, contact=contact),
            unit=booking.units.get(),
            booking=booking,
            origin=GrantOrigin.BOOKING,
            starts_at=BERLIN_DAY_STARTS,
            sync_state=SyncState.FAILED if n % 2 else SyncState.SYNCED,
        )
        if n % 3 == 0:
            BookingAccess.objects.create(booking=booking, revoked_at=BERLIN_DAY_STARTS)


def test_a_page_makes_as_many_queries_for_50_rentals_as_for_5(berlin, chicago, staff_client) -> None:
    client = staff_client(Role.EMPLOYEE, berlin, chicago)
    _some_rentals(berlin, 3)
    _some_rentals(chicago, 2)
    urls = [rentals_url(), rentals_url(berlin), rentals_url(q="Tenant", phase="current")]
    few = [_queries_of(client, url) for url in urls]
    _some_rentals(berlin, 25)
    _some_rentals(chicago, 20)
    assert [_queries_of(client, url) for url in urls] == few
    assert len(rows(client, rentals_url())) == 50


# Scope -------------------------------------------------------------------------------------


def test_staff_see_the_rentals_of_their_locations_only(berlin, chicago, staff_client) -> None:
    mine = rental(berlin, DAY)
    rental(chicago, DAY)
    client = staff_client(Role.MANAGER, berlin)
    assert set(rows(client, rentals_url())) == {mine.pk}
    assert set(rows(client, rentals_url(q="Tenant"))) == {mine.pk}
    assert client.get(rentals_url(chicago)).status_code == 404


def test_staff_with_no_location_see_no_rentals(berlin, staff_client) -> None:
    rental(berlin, DAY)
    client = staff_client(Role.EMPLOYEE)
    for url in (rentals_url(), rentals_url(phase="current"), rentals_url(day="move_ins", q="Tenant")):
        response = client.get(url)
        assert response.status_code == 200 and not ROW.findall(response.content.decode())


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_every_role_of_the_location_reads_its_rentals(berlin, role, staff_client) -> None:
    booking = rental(berlin, DAY)
    client = staff_client(role, berlin)
    assert set(rows(client, rentals_url(berlin))) == {booking.pk}


def test_the_old_bookings_address_leads_to_rentals_within_scope(berlin, chicago, staff_client) -> None:
    client = staff_client(Role.EMPLOYEE, berlin)
    response = client.get(reverse("dashboard:location_bookings", args=[berlin.pk]))
    assert response.status_code == 301 and response.headers["Location"] == rentals_url(berlin)
    assert client.get(reverse("dashboard:location_bookings", args=[chicago.pk])).status_code == 404


def test_the_dashboard_nav_and_the_location_page_lead_to_rentals(berlin, staff_client) -> None:
    client = staff_client(Role.EMPLOYEE, berlin)
    page = client.get(reverse("dashboard:location_detail", args=[berlin.pk])).content.decode()
    assert f'href="{rentals_url()}">Rentals</a>' in page
    assert f'href="{rentals_url(berlin)}">Rentals</a>' in page


# Customer links on the other lists ---------------------------------------------------------


def test_the_cars_and_invoices_lists_link_each_customer(client, owner, berlin) -> None:
    customer = CustomerFactory(name="Anna Weber", home_location=berlin)
    CarFactory(customer=customer)
    Invoice.objects.create(location=berlin, customer=customer, currency="EUR", due_on=DAY)
    client.force_login(owner)
    link = f'<a href="{reverse("dashboard:customer_detail", args=[customer.pk])}">Anna Weber</a>'
    assert link in client.get(reverse("dashboard:car_list")).content.decode()
    assert link in client.get(reverse("dashboard:invoice_list")).content.decode()
