import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from keyport.audit.models import AuditEntry
from keyport.bookings.models import Booking, BookingUnit
from keyport.facilities.models import UnitStatus
from keyport.frontdesk.services import booking_cancel, booking_create, booking_set_end_date
from tests.factories import CustomerFactory, LocationFactory, UnitFactory

pytestmark = pytest.mark.django_db

JUNE_1 = dt.date(2026, 6, 1)
JUNE_30 = dt.date(2026, 6, 30)


@pytest.fixture
def location():
    return LocationFactory(time_zone="Europe/Berlin")


@pytest.fixture
def units(location):
    return [UnitFactory(location=location, number=f"A{n}") for n in range(1, 4)]


def test_booking_of_two_units_is_created_and_audited(actor, units):
    customer = CustomerFactory()
    booking = booking_create(
        actor=actor, customer=customer, units=units[:2], starts_on=JUNE_1, ends_on=JUNE_30
    )
    assert set(booking.units.all()) == set(units[:2])
    assert booking.location == units[0].location
    entry = AuditEntry.objects.get(action="booking.created")
    assert entry.details == {
        "units": ["A1", "A2"],
        "monthly_rents": {"A1": "0", "A2": "0"},
        "starts_on": "2026-06-01",
        "ends_on": "2026-06-30",
    }
    assert entry.customer == customer


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (dt.date(2026, 6, 30), dt.date(2026, 7, 10)),  # shares the last day
        (dt.date(2026, 5, 1), dt.date(2026, 6, 1)),  # shares the first day
        (dt.date(2026, 6, 10), dt.date(2026, 6, 12)),  # inside
        (dt.date(2026, 5, 1), None),  # open-ended from before
    ],
)
def test_a_unit_cannot_be_booked_twice_for_overlapping_dates(actor, units, starts_on, ends_on):
    booking_create(
        actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1, ends_on=JUNE_30
    )
    with pytest.raises(ValidationError, match="Already booked for these dates: A1"):
        booking_create(
            actor=actor,
            customer=CustomerFactory(),
            units=[units[0], units[1]],
            starts_on=starts_on,
            ends_on=ends_on,
        )
    assert Booking.objects.count() == 1
    assert BookingUnit.objects.count() == 1


def test_an_open_ended_booking_blocks_every_later_date(actor, units):
    booking_create(actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1)
    with pytest.raises(ValidationError):
        booking_create(
            actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=dt.date(2030, 1, 1)
        )


def test_back_to_back_bookings_are_allowed(actor, units):
    booking_create(
        actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1, ends_on=JUNE_30
    )
    booking_create(actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=dt.date(2026, 7, 1))
    assert Booking.objects.count() == 2


def test_a_cancelled_booking_frees_its_units(actor, units):
    first = booking_create(actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1)
    booking_cancel(actor=actor, booking=first, reason="Customer changed their mind")
    booking_create(actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1)
    assert AuditEntry.objects.get(action="booking.cancelled").details == {
        "reason": "Customer changed their mind"
    }


def test_cancelling_needs_a_reason(actor, units):
    booking = booking_create(actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1)
    with pytest.raises(ValidationError):
        booking_cancel(actor=actor, booking=booking, reason="  ")
    booking.refresh_from_db()
    assert not booking.is_cancelled


def test_end_before_start_is_refused(actor, units):
    with pytest.raises(ValidationError) as error:
        booking_create(
            actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_30, ends_on=JUNE_1
        )
    assert "ends_on" in error.value.message_dict
    assert not Booking.objects.exists()


def test_no_units_is_refused(actor):
    with pytest.raises(ValidationError, match="Choose at least one unit"):
        booking_create(actor=actor, customer=CustomerFactory(), units=[], starts_on=JUNE_1)


def test_units_of_two_locations_cannot_share_a_booking(actor, units):
    elsewhere = UnitFactory()
    with pytest.raises(ValidationError, match="same location"):
        booking_create(actor=actor, customer=CustomerFactory(), units=[units[0], elsewhere], starts_on=JUNE_1)


def test_a_unit_in_maintenance_cannot_be_booked(actor, units):
    units[0].status = UnitStatus.OUT_OF_SERVICE
    units[0].save()
    with pytest.raises(ValidationError, match="Not available for booking: A1"):
        booking_create(actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1)


def test_an_inactive_customer_cannot_book(actor, units):
    with pytest.raises(ValidationError, match="inactive"):
        booking_create(
            actor=actor, customer=CustomerFactory(is_active=False), units=[units[0]], starts_on=JUNE_1
        )


def test_moving_the_end_date_into_another_booking_is_refused(actor, units):
    first = booking_create(
        actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=JUNE_1, ends_on=JUNE_30
    )
    booking_create(actor=actor, customer=CustomerFactory(), units=[units[0]], starts_on=dt.date(2026, 7, 15))
    booking_set_end_date(actor=actor, booking=first, ends_on=dt.date(2026, 7, 14))
    with pytest.raises(ValidationError, match="Already booked"):
        booking_set_end_date(actor=actor, booking=first, ends_on=dt.date(2026, 7, 15))
    first.refresh_from_db()
    assert first.ends_on == dt.date(2026, 7, 14)
    assert set(first.booking_units.values_list("ends_on", flat=True)) == {dt.date(2026, 7, 14)}


@pytest.mark.parametrize(
    ("time_zone", "first_instant", "end_instant"),
    [
        # Berlin in summer is UTC+2: 1 June starts at 31 May 22:00 UTC,
        # and the day after 30 June starts at 30 June 22:00 UTC.
        (
            "Europe/Berlin",
            dt.datetime(2026, 5, 31, 22, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC),
        ),
        # Austin in summer is UTC-5.
        (
            "America/Chicago",
            dt.datetime(2026, 6, 1, 5, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC),
        ),
    ],
)
def test_booking_is_active_exactly_between_its_local_midnights(time_zone, first_instant, end_instant):
    location = LocationFactory(time_zone=time_zone)
    booking = Booking(customer=CustomerFactory(), location=location, starts_on=JUNE_1, ends_on=JUNE_30)
    second = dt.timedelta(seconds=1)
    assert not booking.is_active_at(first_instant - second)
    assert booking.is_active_at(first_instant)
    assert booking.is_active_at(end_instant - second)
    assert not booking.is_active_at(end_instant)


def test_booking_ending_on_the_daylight_saving_night_ends_at_local_midnight():
    location = LocationFactory(time_zone="Europe/Berlin")
    # Last day 24 October 2026; clocks go back on 25 October at 03:00 local.
    booking = Booking(
        customer=CustomerFactory(),
        location=location,
        starts_on=dt.date(2026, 10, 1),
        ends_on=dt.date(2026, 10, 24),
    )
    assert booking.ends_at() == dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)
    booking.ends_on = dt.date(2026, 10, 25)
    assert booking.ends_at() == dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC)


def test_open_ended_and_cancelled_bookings():
    location = LocationFactory()
    booking = Booking(customer=CustomerFactory(), location=location, starts_on=JUNE_1)
    assert booking.ends_at() is None
    assert booking.is_active_at(dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
    booking.status = "cancelled"
    assert not booking.is_active_at(dt.datetime(2026, 6, 10, tzinfo=dt.UTC))
    assert booking.phase_label(dt.date(2026, 6, 10)) == "Cancelled"


def test_phase_labels():
    booking = Booking(starts_on=JUNE_1, ends_on=JUNE_30)
    assert booking.phase_label(dt.date(2026, 5, 31)) == "Reserved"
    assert booking.phase_label(JUNE_1) == "Current"
    assert booking.phase_label(dt.date(2026, 6, 15)) == "Current"
    assert booking.phase_label(dt.date(2026, 6, 16)) == "Ending soon"
    assert booking.phase_label(JUNE_30) == "Ending soon"
    assert booking.phase_label(dt.date(2026, 7, 1)) == "Ended"
    assert Booking(starts_on=JUNE_1).phase_label(dt.date(2030, 1, 1)) == "Current"


def test_a_booking_moved_out_now_has_ended_within_its_last_day():
    moved_out = dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC)
    booking = Booking(starts_on=JUNE_1, ends_on=JUNE_30, ended_at=moved_out)
    assert booking.ends_at() == moved_out
    with time_machine.travel(moved_out + dt.timedelta(minutes=1)):
        assert booking.phase_label(JUNE_30) == "Ended"
    with time_machine.travel(moved_out - dt.timedelta(minutes=1)):
        assert booking.phase_label(JUNE_30) == "Ending soon"


def test_postgresql_itself_refuses_overlapping_booking_units(units):
    if connection.vendor != "postgresql":
        pytest.skip("The exclusion constraint exists on PostgreSQL only.")
    customer = CustomerFactory()
    first = Booking.objects.create(
        customer=customer, location=units[0].location, starts_on=JUNE_1, ends_on=JUNE_30
    )
    BookingUnit.objects.create(booking=first, unit=units[0], starts_on=JUNE_1, ends_on=JUNE_30)
    second = Booking.objects.create(customer=customer, location=units[0].location, starts_on=JUNE_30)
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingUnit.objects.create(booking=second, unit=units[0], starts_on=JUNE_30, ends_on=None)
    # A cancelled row does not count.
    BookingUnit.objects.create(
        booking=second, unit=units[0], starts_on=JUNE_30, ends_on=None, is_cancelled=True
    )
