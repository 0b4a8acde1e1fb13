"""The Units page (each unit's state on a day), unit and unit type changes, the units import and
the Overview's numbers and occupancy chart."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.billing.models import BillingSettings, Invoice, InvoiceStatus
from keyport.bookings.models import Booking
from keyport.bookings.unit_states import month_ends, occupied_at_past_month_ends
from keyport.facilities.models import Location, Unit, UnitAccessPoint, UnitStatus, UnitType
from keyport.staff.models import Role
from tests.factories import (
    AccessPointFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    UnitTypeFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db

# 13:00 on Tuesday 10 March 2026 in Berlin.
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def site() -> Location:
    return LocationFactory(name="Lager Mitte")


def client_of(role: str, location: Location | None = None) -> Client:
    user = StaffUserFactory(role=role)
    if location is not None:
        user.locations.add(location)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_owner() -> Client:
    return client_of(Role.OWNER)


def units_page(client: Client, location: Location, **query: str) -> tuple[list[str], str]:
    """The unit numbers on the page, in order, and the page's HTML."""
    response = client.get(reverse("dashboard:location_units", args=[location.pk]), query)
    assert response.status_code == 200, response.content
    return [unit.number for unit in response.context["units"]], response.content.decode()


def states(client: Client, location: Location, **query: str) -> dict[str, str]:
    response = client.get(reverse("dashboard:location_units", args=[location.pk]), query)
    return {unit.number: unit.state for unit in response.context["units"]}


def lock_for_overdue(booking: Booking) -> None:
    Invoice.objects.create(
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        currency="EUR",
        status=InvoiceStatus.OPEN,
        due_on=TODAY - dt.timedelta(days=30),
        total=Decimal("49.00"),
        access_locked_at=NOW - dt.timedelta(days=2),
    )


def unchanged_snapshot() -> tuple[object, ...]:
    return (
        list(Unit.objects.order_by("pk").values_list("number", "status", "size_m2", "unit_type_id")),
        list(UnitType.objects.order_by("pk").values_list("name", "monthly_price", "retired_at")),
        UnitAccessPoint.objects.count(),
        AuditEntry.objects.count(),
    )


# States on a day.


def test_each_units_state_on_today_in_the_locations_time_zone(as_owner, site):
    customer = CustomerFactory(name="Mara Tenant")
    booking_of(customer, [UnitFactory(location=site, number="A1")], TODAY)
    booking_of(customer, [UnitFactory(location=site, number="A2")], TODAY + dt.timedelta(days=1))
    booking_of(
        customer,
        [UnitFactory(location=site, number="A3")],
        TODAY - dt.timedelta(days=9),
        TODAY - dt.timedelta(days=1),
    )
    lock_for_overdue(
        booking_of(customer, [UnitFactory(location=site, number="A4")], TODAY - dt.timedelta(days=60))
    )
    UnitFactory(
        location=site, number="A5", status=UnitStatus.OUT_OF_SERVICE, out_of_service_reason="Door bent"
    )
    UnitFactory(location=site, number="A6")
    UnitFactory(location=site, number="A7", status=UnitStatus.RETIRED)
    assert states(as_owner, site) == {
        "A1": "occupied",
        "A2": "reserved",
        "A3": "available",
        "A4": "locked",
        "A5": "out_of_service",
        "A6": "available",
    }
    _, page = units_page(as_owner, site)
    assert "Door bent" in page and "Mara Tenant" in page
    assert reverse("dashboard:customer_detail", args=[customer.pk]) in page


def test_the_state_on_a_chosen_day(as_owner, site):
    customer = CustomerFactory()
    booking_of(customer, [UnitFactory(location=site, number="A1")], TODAY + dt.timedelta(days=1))
    booking_of(
        customer,
        [UnitFactory(location=site, number="A2")],
        TODAY - dt.timedelta(days=9),
        TODAY - dt.timedelta(days=1),
    )
    assert states(as_owner, site, day="2026-03-11") == {"A1": "occupied", "A2": "available"}
    assert states(as_owner, site, day="2026-03-09") == {"A1": "reserved", "A2": "occupied"}


def test_today_is_the_locations_own_date(site):
    west = LocationFactory(time_zone="America/Los_Angeles")
    booking_of(CustomerFactory(), [UnitFactory(location=west, number="W1")], TODAY)
    client = client_of(Role.OWNER)
    # 06:00 UTC on 10 March is still 9 March in Los Angeles.
    with time_machine.travel(dt.datetime(2026, 3, 10, 6, tzinfo=dt.UTC), tick=False):
        assert states(client, west) == {"W1": "reserved"}
    assert states(client, west) == {"W1": "occupied"}


def test_a_move_out_with_access_ending_now_makes_the_unit_available_at_once(as_owner, site):
    booking = booking_of(
        CustomerFactory(), [UnitFactory(location=site, number="A1")], TODAY - dt.timedelta(days=9), TODAY
    )
    assert states(as_owner, site) == {"A1": "occupied"}
    Booking.objects.filter(pk=booking.pk).update(ended_at=NOW - dt.timedelta(minutes=1))
    assert states(as_owner, site) == {"A1": "available"}


def test_a_lock_shows_from_the_day_it_began(as_owner, site):
    lock_for_overdue(
        booking_of(
            CustomerFactory(), [UnitFactory(location=site, number="A1")], TODAY - dt.timedelta(days=60)
        )
    )
    assert states(as_owner, site, day="2026-03-08") == {"A1": "locked"}
    assert states(as_owner, site, day="2026-03-07") == {"A1": "occupied"}


def test_a_rented_unit_out_of_service_stays_occupied_and_says_why(as_owner, site):
    unit = UnitFactory(
        location=site, number="A1", status=UnitStatus.OUT_OF_SERVICE, out_of_service_reason="Leak"
    )
    booking_of(CustomerFactory(), [unit], TODAY - dt.timedelta(days=3))
    assert states(as_owner, site) == {"A1": "occupied"}
    assert "Out of service: Leak" in units_page(as_owner, site)[1]


# Filters, search, paging, queries.


@pytest.fixture
def mixed(site):
    small = UnitTypeFactory(location=site, name="Small")
    large = UnitTypeFactory(location=site, name="Large", width_m=Decimal("4"), depth_m=Decimal("5"))
    customer = CustomerFactory()
    booking_of(
        customer, [UnitFactory(location=site, number="B1", unit_type=small, size_m2=Decimal("3"))], TODAY
    )
    lock_for_overdue(
        booking_of(
            customer, [UnitFactory(location=site, number="B2", unit_type=large, size_m2=Decimal("20"))], TODAY
        )
    )
    booking_of(
        customer,
        [UnitFactory(location=site, number="C1", unit_type=small, size_m2=Decimal("3"))],
        TODAY + dt.timedelta(days=5),
    )
    UnitFactory(location=site, number="C2", unit_type=large, size_m2=Decimal("20"))
    return small, large


def test_filters_by_state_type_and_size_and_searches_by_number(as_owner, site, mixed):
    small, large = mixed
    assert units_page(as_owner, site, state="occupied")[0] == ["B1", "B2"]  # Locked units are occupied too
    assert units_page(as_owner, site, state="locked")[0] == ["B2"]
    assert units_page(as_owner, site, state="reserved")[0] == ["C1"]
    assert units_page(as_owner, site, state="available")[0] == ["C2"]
    assert units_page(as_owner, site, unit_type=str(small.pk))[0] == ["B1", "C1"]
    assert units_page(as_owner, site, size_from="10")[0] == ["B2", "C2"]
    assert units_page(as_owner, site, size_to="10", state="reserved")[0] == ["C1"]
    assert units_page(as_owner, site, q="c")[0] == ["C1", "C2"]


def test_the_price_is_the_types_in_the_locations_currency(as_owner, site, mixed):
    BillingSettings.objects.create(location=site, currency="CHF")
    page = units_page(as_owner, site, q="B1")[1]
    assert "49.00 CHF" in page and "2 × 2.5 m" in page


def test_bad_filters_are_refused_beside_their_fields(as_owner, site, mixed):
    response = as_owner.get(
        reverse("dashboard:location_units", args=[site.pk]), {"day": "31.02.", "unit_type": "x"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_day-error"' in page and 'id="id_unit_type-error"' in page
    assert [unit.number for unit in response.context["units"]] == ["B1", "B2", "C1", "C2"]


def test_another_locations_type_is_no_filter_choice(as_owner, site, mixed):
    elsewhere = UnitTypeFactory(location=LocationFactory())
    response = as_owner.get(
        reverse("dashboard:location_units", args=[site.pk]), {"unit_type": str(elsewhere.pk)}
    )
    assert response.status_code == 400


def test_pages_of_fifty(as_owner, site):
    for number in range(120):
        UnitFactory(location=site, number=f"P{number:03d}")
    assert units_page(as_owner, site)[0][:2] == ["P000", "P001"]
    assert len(units_page(as_owner, site)[0]) == 50
    assert units_page(as_owner, site, page="3")[0] == [f"P{number:03d}" for number in range(100, 120)]
    assert "Page 2 of 3" in units_page(as_owner, site, page="2")[1]


def test_the_units_page_makes_the_same_number_of_queries_for_one_unit_and_fifty(as_owner):
    def scene(count: int) -> Location:
        location = LocationFactory()
        unit_type = UnitTypeFactory(location=location)
        for index in range(count):
            unit = UnitFactory(location=location, unit_type=unit_type)
            unit.access_points.add(AccessPointFactory(location=location))
            booking_of(CustomerFactory(), [unit], TODAY - dt.timedelta(days=index % 3))
        return location

    small, big = scene(1), scene(50)
    with CaptureQueriesContext(connection) as one:
        as_owner.get(reverse("dashboard:location_units", args=[small.pk]))
    with CaptureQueriesContext(connection) as fifty:
        response = as_owner.get(reverse("dashboard:location_units", args=[big.pk]), {"state": "occupied"})
    assert len(response.context["units"]) == 50
    assert len(one) == len(fifty) <= 10


@pytest.fixture
def edges(site):
    """Units whose state on TODAY turns on one day or on which rule comes first."""
    customer = CustomerFactory()
    day = dt.timedelta(days=1)
    held_then_reserved = UnitFactory(location=site, number="E01")
    booking_of(customer, [held_then_reserved], TODAY - 9 * day, TODAY)  # its last day is today
    booking_of(customer, [held_then_reserved], TODAY + day)
    booking_of(customer, [UnitFactory(location=site, number="E02")], TODAY - 9 * day, TODAY - day)
    booking_of(customer, [UnitFactory(location=site, number="E03")], TODAY + day, TODAY + 9 * day)
    booking_of(customer, [UnitFactory(location=site, number="E04")], TODAY, TODAY)
    rented_out_of_service = UnitFactory(location=site, number="E05", status=UnitStatus.OUT_OF_SERVICE)
    lock_for_overdue(booking_of(customer, [rented_out_of_service], TODAY - 60 * day))
    reserved_out_of_service = UnitFactory(location=site, number="E06", status=UnitStatus.OUT_OF_SERVICE)
    booking_of(customer, [reserved_out_of_service], TODAY + day)
    cancelled = booking_of(customer, [UnitFactory(location=site, number="E07")], TODAY - day)
    cancelled.booking_units.update(is_cancelled=True)
    moved_out = booking_of(customer, [UnitFactory(location=site, number="E08")], TODAY - 9 * day, TODAY)
    Booking.objects.filter(pk=moved_out.pk).update(ended_at=NOW - dt.timedelta(seconds=1))
    moving_out = booking_of(customer, [UnitFactory(location=site, number="E09")], TODAY - 9 * day, TODAY)
    Booking.objects.filter(pk=moving_out.pk).update(ended_at=NOW + dt.timedelta(seconds=1))
    lock_for_overdue(booking_of(customer, [UnitFactory(location=site, number="E10")], TODAY + day))
    UnitFactory(location=site, number="E11")
    UnitFactory(location=site, number="E12", status=UnitStatus.RETIRED)


def test_the_state_at_the_edges_of_a_booking_and_of_its_rules(as_owner, site, edges):
    assert states(as_owner, site) == {
        "E01": "occupied",  # on its last day, the next booking from tomorrow
        "E02": "available",  # ended yesterday
        "E03": "reserved",  # from tomorrow
        "E04": "occupied",  # a one-day booking, today
        "E05": "locked",  # rented and overdue, out of service too
        "E06": "out_of_service",  # out of service, reserved from tomorrow
        "E07": "available",  # its booking cancelled
        "E08": "available",  # moved out a second ago
        "E09": "occupied",  # access ends in a second
        "E10": "reserved",  # an overdue lock on a booking not begun
        "E11": "available",
    }
    assert states(as_owner, site, day="2026-03-11") == {
        "E01": "occupied",
        "E02": "available",
        "E03": "occupied",
        "E04": "available",
        "E05": "locked",
        "E06": "occupied",
        "E07": "available",
        "E08": "available",
        "E09": "available",
        "E10": "locked",
        "E11": "available",
    }


@pytest.mark.parametrize("day", ["2026-03-09", "2026-03-10", "2026-03-11"])
def test_each_state_filter_finds_the_units_shown_in_that_state(as_owner, site, edges, day):
    shown = states(as_owner, site, day=day)
    for state in ("available", "reserved", "occupied", "locked", "out_of_service"):
        wanted = {"locked", "occupied"} if state == "occupied" else {state}
        found = states(as_owner, site, day=day, state=state)
        assert found == {number: each for number, each in shown.items() if each in wanted}, state


def test_paging_a_state_lists_each_unit_once_in_order(as_owner, site):
    customer = CustomerFactory()
    for number in range(160):
        unit = UnitFactory(location=site, number=f"P{number:03d}")
        if number % 3 == 0:
            booking_of(customer, [unit], TODAY - dt.timedelta(days=number % 5))
    occupied = [f"P{number:03d}" for number in range(160) if number % 3 == 0]  # 54: two pages
    available = [f"P{number:03d}" for number in range(160) if number % 3 != 0]  # 106: three
    for state, expected in [("occupied", occupied), ("available", available)]:
        pages = [units_page(as_owner, site, state=state, page=str(page))[0] for page in (1, 2, 3)]
        listed = pages[0] + pages[1] + (pages[2] if state == "available" else [])
        assert listed == expected, state
        assert f"{len(expected)} units" in units_page(as_owner, site, state=state)[1]
    assert "Page 3 of 3" in units_page(as_owner, site, state="available", page="3")[1]


def test_a_page_makes_the_same_queries_whatever_its_filter_and_depth(as_owner, site, edges):
    for number in range(120):
        booking_of(CustomerFactory(), [UnitFactory(location=site, number=f"P{number:03d}")], TODAY)

    def queries_of(**query: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            units_page(as_owner, site, **query)
        return [each["sql"] for each in queries]

    deep = [queries_of(page="3"), queries_of(state="occupied", page="2")]
    assert len({len(queries) for queries in deep}) == 1
    # A first page reads its rows with its ids: one query less than a deeper page.
    assert len(queries_of()) == len(queries_of(state="occupied")) == len(deep[0]) - 1
    # A first page that holds every match needs no COUNT either.
    for query in [{"state": "locked"}, {"q": "E0"}]:
        queries = queries_of(**query)
        assert len(queries) == len(deep[0]) - 2 and not any("COUNT(" in sql for sql in queries), query
    assert len(queries_of(q="nothing like it")) < len(deep[0]) - 2


def test_without_a_state_filter_the_page_is_counted_and_chosen_from_the_units_alone(as_owner, site, edges):
    for number in range(100):
        booking_of(CustomerFactory(), [UnitFactory(location=site, number=f"P{number:03d}")], TODAY)
    with CaptureQueriesContext(connection) as queries:
        assert len(units_page(as_owner, site, page="2")[0]) == 50
    counted = [query["sql"] for query in queries if "COUNT(" in query["sql"]]
    assert len(counted) == 1 and "bookings_" not in counted[0]
    paged = [query["sql"] for query in queries if "OFFSET 50" in query["sql"]]
    assert len(paged) == 1 and "bookings_" not in paged[0]


# Adding, editing and retiring units and unit types.


def post(client: Client, name: str, pk: int, data: dict[str, object] | None = None, **kwargs: object):
    return client.post(reverse(f"dashboard:{name}", args=[pk]), data or {}, **kwargs)


def test_a_manager_adds_a_unit_type_and_a_unit_of_it_audited(site):
    manager = client_of(Role.MANAGER, site)
    data = {"name": "Small locker", "width_m": "1.5", "depth_m": "2", "monthly_price": "39.00"}
    assert post(manager, "location_unit_types", site.pk, data).status_code == 302
    unit_type = UnitType.objects.get(location=site)
    data = {"number": " A101 ", "kind": "storage_unit", "size_m2": "3", "unit_type": unit_type.pk}
    response = post(manager, "unit_create", site.pk, data)
    unit = Unit.objects.get(location=site)
    assert response.headers["Location"] == reverse("dashboard:unit_edit", args=[unit.pk])
    assert (unit.number, unit.unit_type, unit.monthly_price) == ("A101", unit_type, Decimal("39.00"))
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "unit_type.created",
        "unit.created",
    ]


def test_an_employee_gets_403_and_nothing_changes(site):
    employee = client_of(Role.EMPLOYEE, site)
    unit = UnitFactory(location=site, number="A1")
    unit_type = UnitTypeFactory(location=site)
    before = unchanged_snapshot()
    attempts = [
        ("unit_create", site.pk, {"number": "A2", "kind": "storage_unit", "size_m2": "3"}),
        ("location_unit_types", site.pk, {"name": "X", "width_m": "1", "depth_m": "1", "monthly_price": "1"}),
        ("unit_edit", unit.pk, {"number": "A9", "kind": "storage_unit", "size_m2": "3"}),
        ("unit_service", unit.pk, {"reason": "Broken"}),
        ("unit_retire", unit.pk, {}),
        ("unit_access_points", unit.pk, {"access_points": [AccessPointFactory(location=site).pk]}),
        ("unit_type_edit", unit_type.pk, {"name": "Y", "width_m": "1", "depth_m": "1", "monthly_price": "1"}),
        ("unit_type_retire", unit_type.pk, {}),
        ("unit_type_delete", unit_type.pk, {}),
        ("units_import", site.pk, {"file": SimpleUploadedFile("u.csv", b"A3,,3\n")}),
    ]
    before = unchanged_snapshot()
    for name, pk, data in attempts:
        assert post(employee, name, pk, data).status_code == 403, name
    assert unchanged_snapshot() == before
    _, page = units_page(employee, site)
    assert reverse("dashboard:unit_create", args=[site.pk]) not in page
    assert reverse("dashboard:unit_edit", args=[unit.pk]) not in page


def test_a_unit_cannot_get_another_locations_type(as_owner, site):
    unit = UnitFactory(location=site, number="A1")
    foreign = UnitTypeFactory(location=LocationFactory())
    before = unchanged_snapshot()
    response = post(
        as_owner,
        "unit_edit",
        unit.pk,
        {"number": "A1", "kind": "storage_unit", "size_m2": "5", "unit_type": foreign.pk},
    )
    assert response.status_code == 400
    assert 'id="id_unit_type-error"' in response.content.decode()
    assert unchanged_snapshot() == before


def test_the_service_refuses_another_locations_type_and_a_retired_one(site, actor):
    from django.core.exceptions import ValidationError

    from keyport.facilities.services import unit_create, unit_update

    unit = UnitFactory(location=site)
    refused_types = (
        UnitTypeFactory(location=LocationFactory()),
        UnitTypeFactory(location=site, retired_at=NOW),
    )
    before = unchanged_snapshot()
    for unit_type in refused_types:
        with pytest.raises(ValidationError) as refused:
            unit_update(actor=actor, unit=unit, unit_type=unit_type)
        assert "unit_type" in refused.value.message_dict
        with pytest.raises(ValidationError):
            unit_create(actor=actor, location=site, number="N1", size_m2=Decimal("2"), unit_type=unit_type)
    assert unchanged_snapshot() == before


def test_a_negative_price_is_refused_beside_its_field(as_owner, site):
    unit_type = UnitTypeFactory(location=site)
    before = unchanged_snapshot()
    bad = {"name": "Small", "width_m": "1", "depth_m": "1", "monthly_price": "-1"}
    for response in (
        post(as_owner, "location_unit_types", site.pk, bad),
        post(as_owner, "unit_type_edit", unit_type.pk, bad),
    ):
        assert response.status_code == 400
        assert 'id="id_monthly_price-error"' in response.content.decode()
    assert unchanged_snapshot() == before


def test_a_duplicate_number_is_refused_beside_its_field(as_owner, site):
    UnitFactory(location=site, number="A1")
    other = UnitFactory(location=site, number="A2")
    before = unchanged_snapshot()
    created = post(
        as_owner, "unit_create", site.pk, {"number": "a1 ", "kind": "storage_unit", "size_m2": "3"}
    )
    edited = post(as_owner, "unit_edit", other.pk, {"number": "A1", "kind": "storage_unit", "size_m2": "3"})
    for response in (created, edited):
        assert response.status_code == 400
        assert 'id="id_number-error"' in response.content.decode()
    assert unchanged_snapshot() == before


def test_editing_a_unit_is_audited_with_old_and_new(as_owner, site):
    unit = UnitFactory(location=site, number="A1")
    large = UnitTypeFactory(location=site, name="Large")
    post(
        as_owner,
        "unit_edit",
        unit.pk,
        {"number": "A1", "kind": "parking_bay", "size_m2": "12", "unit_type": large.pk},
    )
    unit.refresh_from_db()
    assert (unit.kind, unit.size_m2, unit.unit_type) == ("parking_bay", Decimal("12.00"), large)
    entry = AuditEntry.objects.get(action="unit.updated")
    assert entry.details["changed"]["size_m2"] == ["5.00", "12"]
    assert entry.details["changed"]["unit_type"] == ["", "Large"]


@pytest.mark.parametrize(
    ("starts", "ends"),
    [(-10, None), (-10, 0), (3, 9)],
    ids=["open-ended", "ending-today", "future"],
)
def test_retiring_a_unit_with_a_current_or_future_booking_is_refused(as_owner, site, starts, ends):
    unit = UnitFactory(location=site, number="A1")
    booking_of(
        CustomerFactory(),
        [unit],
        TODAY + dt.timedelta(days=starts),
        None if ends is None else TODAY + dt.timedelta(days=ends),
    )
    before = unchanged_snapshot()
    response = post(as_owner, "unit_retire", unit.pk)
    assert response.status_code == 400
    assert "has a current or future booking" in response.content.decode()
    assert unchanged_snapshot() == before


def test_retiring_a_unit_whose_bookings_ended_takes_it_off_the_units_page(as_owner, site):
    unit = UnitFactory(location=site, number="A1")
    booking_of(CustomerFactory(), [unit], TODAY - dt.timedelta(days=10), TODAY - dt.timedelta(days=1))
    response = post(as_owner, "unit_retire", unit.pk)
    assert response.headers["Location"] == reverse("dashboard:location_units", args=[site.pk])
    unit.refresh_from_db()
    assert unit.status == UnitStatus.RETIRED
    assert units_page(as_owner, site)[0] == []
    assert as_owner.get(reverse("dashboard:unit_edit", args=[unit.pk])).status_code == 404


def test_out_of_service_with_a_reason_and_back_in_service(as_owner, site):
    unit = UnitFactory(location=site, number="A1")
    refused = post(as_owner, "unit_service", unit.pk, {"reason": "  "})
    assert refused.status_code == 400 and 'id="id_reason-error"' in refused.content.decode()
    assert not AuditEntry.objects.exists()
    post(as_owner, "unit_service", unit.pk, {"reason": "Water damage"})
    assert states(as_owner, site) == {"A1": "out_of_service"}
    assert "Water damage" in units_page(as_owner, site)[1]
    post(as_owner, "unit_service", unit.pk, {"in_service": "1"})
    unit.refresh_from_db()
    assert (unit.status, unit.out_of_service_reason) == (UnitStatus.AVAILABLE, "")
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "unit.out_of_service",
        "unit.in_service",
    ]


def test_the_mapped_access_points_are_edited_on_the_units_page(as_owner, site):
    unit = UnitFactory(location=site, number="A1")
    gate, door = (
        AccessPointFactory(location=site, name="Gate"),
        AccessPointFactory(location=site, name="Door"),
    )
    post(as_owner, "unit_access_points", unit.pk, {"access_points": [gate.pk, door.pk]})
    assert set(unit.access_points.all()) == {gate, door}
    post(as_owner, "unit_access_points", unit.pk, {"access_points": [door.pk]})
    assert list(unit.access_points.all()) == [door]
    assert AuditEntry.objects.filter(action="unit.access_mapped").count() == 2
    before = unchanged_snapshot()
    foreign = AccessPointFactory(location=LocationFactory())
    response = post(as_owner, "unit_access_points", unit.pk, {"access_points": [foreign.pk]})
    assert response.status_code == 400
    assert 'id="access-points-error"' in response.content.decode()
    assert unchanged_snapshot() == before


def test_a_type_in_use_is_retired_not_deleted(as_owner, site):
    used = UnitTypeFactory(location=site, name="Used")
    UnitFactory(location=site, unit_type=used)
    unused = UnitTypeFactory(location=site, name="Unused")
    before = unchanged_snapshot()
    response = post(as_owner, "unit_type_delete", used.pk)
    assert response.status_code == 400
    assert "1 unit has this type: retire it instead." in response.content.decode()
    assert unchanged_snapshot() == before
    post(as_owner, "unit_type_retire", used.pk)
    post(as_owner, "unit_type_delete", unused.pk)
    assert list(UnitType.objects.values_list("name", flat=True)) == ["Used"]
    used.refresh_from_db()
    assert used.retired_at == NOW
    form = as_owner.get(reverse("dashboard:unit_create", args=[site.pk])).context["form"]
    assert list(form.fields["unit_type"].queryset) == []


def test_a_new_price_of_a_type_is_audited(as_owner, site):
    unit_type = UnitTypeFactory(location=site, name="Small", monthly_price=Decimal("39.00"))
    data = {"name": "Small", "width_m": "2", "depth_m": "2.5", "monthly_price": "45"}
    assert post(as_owner, "unit_type_edit", unit_type.pk, data).status_code == 302
    unit_type.refresh_from_db()
    assert unit_type.monthly_price == Decimal("45.00")
    assert AuditEntry.objects.get(action="unit_type.updated").details == {
        "changed": {"monthly_price": ["39.00", "45"]}
    }


# Importing units from a CSV.


def import_units(client: Client, location: Location, text: str, kind: str = "storage_unit"):
    upload = SimpleUploadedFile("units.csv", text.encode(), content_type="text/csv")
    return client.post(reverse("dashboard:units_import", args=[location.pk]), {"file": upload, "kind": kind})


def test_an_import_adds_units_creates_new_types_and_maps_access_points(as_owner, site):
    small = UnitTypeFactory(location=site, name="Small", monthly_price=Decimal("39.00"))
    gate = AccessPointFactory(location=site, external_id="GATE-1")
    lock = AccessPointFactory(location=site, external_id="LOCK-A102")
    response = import_units(
        as_owner,
        site,
        "number,type,size,price,access points\n"
        "A101,small,3,,GATE-1\n"
        "A102,Small,3,39.00,gate-1,LOCK-A102\n"
        "B201,Large,4x5,99.50,GATE-1\n"
        "B202,Large,4x5,,\n"
        "C1,,2.5\n",
    )
    assert response.status_code == 302
    units = {unit.number: unit for unit in Unit.objects.filter(location=site)}
    large = UnitType.objects.get(location=site, name="Large")
    assert (large.width_m, large.depth_m, large.monthly_price) == (4, 5, Decimal("99.50"))
    assert {number: unit.unit_type for number, unit in units.items()} == {
        "A101": small,
        "A102": small,
        "B201": large,
        "B202": large,
        "C1": None,
    }
    assert units["B201"].size_m2 == 20
    assert set(units["A102"].access_points.all()) == {gate, lock}
    assert not units["B202"].access_points.exists()
    assert AuditEntry.objects.filter(action="unit.created").count() == 5


def test_a_bad_line_refuses_the_whole_file_naming_each_line(as_owner, site):
    UnitFactory(location=site, number="A1")
    UnitTypeFactory(location=site, name="Small", monthly_price=Decimal("39.00"))
    AccessPointFactory(location=site, external_id="GATE-1")
    before = unchanged_snapshot()
    response = import_units(
        as_owner,
        site,
        "A2,Small,3,,GATE-1\n"  # fine, yet not added
        "a1,Small,3\n"
        "A3,Small,3,-5\n"
        "A4,Small,3,45\n"
        "A5,Huge,30,120\n"
        "A6,Tiny,1x1\n"
        "A7,,big\n"
        "A8,Small,3,,NOPE\n"
        "A2,Small,3\n"
        "A9,,3,10\n",
    )
    assert response.status_code == 400
    page = response.content.decode()
    for expected in [
        "Line 2: unit a1 already exists at Lager Mitte.",
        "Line 3: the price &#x27;-5&#x27; is not an amount of zero or more.",
        "Line 4: the type Small costs 39.00: leave the price empty or give the same.",
        "Line 5: there is no unit type &#x27;Huge&#x27; at Lager Mitte",
        "Line 6: there is no unit type &#x27;Tiny&#x27; at Lager Mitte",
        "Line 7: the size &#x27;big&#x27; is not",
        "Line 8: unknown access point NOPE at Lager Mitte.",
        "Line 9: unit A2 is already on line 1.",
        "Line 10: a price needs a unit type",
    ]:
        assert expected in page, expected
    assert "Line 1:" not in page
    assert unchanged_snapshot() == before


def test_an_empty_or_unreadable_file_is_refused(as_owner, site):
    before = unchanged_snapshot()
    assert "The file has no rows" in import_units(as_owner, site, "number,type,size\n").content.decode()
    upload = SimpleUploadedFile("units.csv", b"\xff\xfeA1", content_type="text/csv")
    response = as_owner.post(
        reverse("dashboard:units_import", args=[site.pk]), {"file": upload, "kind": "storage_unit"}
    )
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()
    assert unchanged_snapshot() == before


# The Overview.


def overview(client: Client):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    return {row.location.name: row for row in response.context["rows"]}, response.content.decode()


def test_the_overview_counts_units_by_state_and_todays_moves(as_owner, site, mixed):
    UnitFactory(location=site, number="D1", status=UnitStatus.OUT_OF_SERVICE, out_of_service_reason="Leak")
    UnitFactory(location=site, number="D2", status=UnitStatus.RETIRED)
    booking_of(
        CustomerFactory(), [UnitFactory(location=site, number="E1")], TODAY - dt.timedelta(days=5), TODAY
    )
    rows, page = overview(as_owner)
    today = rows["Lager Mitte"].today
    # B1, B2 (locked) and E1 occupied; C1 reserved; C2 available; D1 out of service.
    assert (today.units, today.occupied, today.reserved, today.available) == (6, 3, 1, 1)
    assert today.occupancy_percent == 60  # 3 of the 5 units in service
    assert (today.move_ins, today.move_outs) == (2, 1)
    units_url = reverse("dashboard:location_units", args=[site.pk])
    for state in ("occupied", "reserved", "available"):
        assert f'href="{units_url}?state={state}"' in page
    assert "60 %" in page


def test_the_overviews_numbers_lead_to_the_same_units(as_owner, site, mixed):
    rows, _ = overview(as_owner)
    today = rows["Lager Mitte"].today
    for state, count in [
        ("occupied", today.occupied),
        ("reserved", today.reserved),
        ("available", today.available),
    ]:
        assert len(units_page(as_owner, site, state=state)[0]) == count


def test_the_overviews_moves_today_lead_to_the_same_rentals(as_owner, site, mixed):
    rows, page = overview(as_owner)
    today = rows["Lager Mitte"].today
    rentals_url = reverse("dashboard:location_rentals", args=[site.pk])
    for day, count in [("move_ins", today.move_ins), ("move_outs", today.move_outs)]:
        assert f'href="{rentals_url}?day={day}"' in page
        response = as_owner.get(f"{rentals_url}?day={day}")
        assert response.status_code == 200
        assert len(response.context["page"].rentals) == count


def test_the_chart_shows_occupancy_at_the_end_of_each_of_the_last_twelve_months(as_owner, site):
    units = [UnitFactory(location=site) for _ in range(4)]
    customer = CustomerFactory()
    booking_of(customer, units[:1], dt.date(2025, 1, 1))  # every month
    booking_of(
        customer, units[1:2], dt.date(2025, 9, 30), dt.date(2025, 10, 31)
    )  # September and October ends
    booking_of(customer, units[2:3], dt.date(2026, 3, 1), dt.date(2026, 3, 9))  # over before today
    rows, page = overview(as_owner)
    chart = rows["Lager Mitte"].chart
    assert [bar.month_end for bar in chart] == [
        dt.date(2025, 4, 30),
        dt.date(2025, 5, 31),
        dt.date(2025, 6, 30),
        dt.date(2025, 7, 31),
        dt.date(2025, 8, 31),
        dt.date(2025, 9, 30),
        dt.date(2025, 10, 31),
        dt.date(2025, 11, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        TODAY,
    ]
    assert [bar.percent for bar in chart] == [25] * 5 + [50, 50] + [25] * 5
    assert [bar.height for bar in chart][5] == 40 and chart[0].y == 60
    svg = page.split(f'id="occupancy-{site.pk}"', 1)[1].split("</figure>", 1)[0]
    assert 'role="img"' in svg and "<title" in svg and "Sep 2025: 50 %" in svg
    assert '<th scope="row">March 2026 (today)</th><td>1</td><td>25 %</td>' in svg
    assert "style=" not in svg


def test_month_ends_run_back_across_the_year():
    assert month_ends(dt.date(2026, 1, 15), months=3) == [
        dt.date(2025, 11, 30),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 15),
    ]


def test_a_manager_sees_only_their_locations_on_the_overview(site):
    LocationFactory(name="Lager Anderswo")
    rows, page = overview(client_of(Role.MANAGER, site))
    assert list(rows) == ["Lager Mitte"]
    assert "Lager Anderswo" not in page


def test_a_type_name_taken_in_another_case_is_refused(as_owner, site):
    UnitTypeFactory(location=site, name="Small")
    other = UnitTypeFactory(location=site, name="Large")
    before = unchanged_snapshot()
    data = {"name": " small", "width_m": "1", "depth_m": "1", "monthly_price": "10"}
    for response in (
        post(as_owner, "location_unit_types", site.pk, data),
        post(as_owner, "unit_type_edit", other.pk, data),
    ):
        assert response.status_code == 400
        assert 'id="id_name-error"' in response.content.decode()
    assert unchanged_snapshot() == before


def test_an_import_adds_parking_bays_when_asked(as_owner, site):
    assert import_units(as_owner, site, "P1,,12.5\nP2,,12.5\n", kind="parking_bay").status_code == 302
    assert set(Unit.objects.values_list("kind", flat=True)) == {"parking_bay"}


def test_an_import_reads_a_semicolon_separated_file_with_decimal_commas(as_owner, site):
    gate = AccessPointFactory(location=site, external_id="GATE-1")
    response = import_units(
        as_owner,
        site,
        "Number;Type;Size;Price;Access points\nA101;Large;2,5x4;79,50;GATE-1\nA102;Large;2,5x4;;GATE-1\n",
    )
    assert response.status_code == 302
    large = UnitType.objects.get(location=site, name="Large")
    assert (large.width_m, large.depth_m, large.monthly_price) == (Decimal("2.5"), 4, Decimal("79.50"))
    assert [unit.number for unit in Unit.objects.filter(location=site, unit_type=large)] == ["A101", "A102"]
    assert set(Unit.objects.get(number="A102").access_points.all()) == {gate}


def test_an_import_reads_a_tab_separated_file(as_owner, site):
    response = import_units(as_owner, site, "A101\tLarge\t2x3\t50.00\n")
    assert response.status_code == 302
    assert Unit.objects.get(location=site).unit_type.name == "Large"


def test_the_chart_keeps_its_past_months_for_the_day_and_shows_today_as_it_is(as_owner, site):
    units = [UnitFactory(location=site) for _ in range(4)]
    customer = CustomerFactory()
    booking_of(customer, units[:1], dt.date(2025, 1, 1))
    first = [bar.occupied for bar in overview(as_owner)[0]["Lager Mitte"].chart]
    # A back-dated booking shows in the past months the next day; a booking of today, at once.
    booking_of(customer, units[1:2], dt.date(2025, 6, 1))
    booking_of(customer, units[2:3], TODAY)
    again = [bar.occupied for bar in overview(as_owner)[0]["Lager Mitte"].chart]
    assert first == [1] * 12
    assert again == [1] * 11 + [3]
    tomorrow = occupied_at_past_month_ends([site], NOW + dt.timedelta(days=1))[site.pk]
    assert tomorrow[:2] == [1, 1] and tomorrow[2:] == [2] * 9
