"""Billing periods and proration: pure functions of dates."""

import datetime as dt
from decimal import Decimal

from keyport.billing.periods import (
    BillingAnchor,
    Period,
    add_months,
    next_period,
    period_containing,
    prorated,
)

D = dt.date
MOVE_IN = BillingAnchor.MOVE_IN
FIRST = BillingAnchor.FIRST_OF_MONTH


def periods(anchor, starts_on, ends_on=None, count=4):
    found, after = [], None
    for _ in range(count):
        period = next_period(anchor=anchor, booking_starts_on=starts_on, booking_ends_on=ends_on, after=after)
        if period is None:
            break
        found.append(period)
        after = period.starts_on
    return found


def test_a_period_anchored_on_the_31st_ends_before_the_shortest_months_last_day():
    assert add_months(D(2026, 1, 31), 1, 31) == D(2026, 2, 28)
    assert add_months(D(2026, 1, 31), 2, 31) == D(2026, 3, 31)
    assert add_months(D(2028, 1, 31), 1, 31) == D(2028, 2, 29)
    assert [(p.starts_on, p.ends_on) for p in periods(MOVE_IN, D(2026, 1, 31), count=3)] == [
        (D(2026, 1, 31), D(2026, 2, 27)),
        (D(2026, 2, 28), D(2026, 3, 30)),
        (D(2026, 3, 31), D(2026, 4, 29)),
    ]


def test_move_in_anchored_periods_are_whole_months_from_the_move_in_day():
    first, second = periods(MOVE_IN, D(2026, 3, 15), count=2)
    assert first == Period(D(2026, 3, 15), D(2026, 4, 14), D(2026, 3, 15), D(2026, 4, 14))
    assert not first.is_partial
    assert second.starts_on == D(2026, 4, 15)


def test_first_of_month_periods_prorate_the_first_month_by_day():
    first, second = periods(FIRST, D(2026, 3, 15), count=2)
    assert (first.starts_on, first.ends_on, first.days, first.full_days) == (
        D(2026, 3, 15),
        D(2026, 3, 31),
        17,
        31,
    )
    assert prorated(Decimal("100.00"), first.days, first.full_days) == Decimal("54.84")
    assert (second.starts_on, second.ends_on, second.is_partial) == (D(2026, 4, 1), D(2026, 4, 30), False)


def test_february_prorates_over_its_28_or_29_days():
    february = period_containing(
        D(2026, 2, 20), anchor=FIRST, booking_starts_on=D(2026, 2, 15), booking_ends_on=None
    )
    assert (february.days, february.full_days) == (14, 28)
    assert prorated(Decimal("90.00"), february.days, february.full_days) == Decimal("45.00")
    leap = period_containing(
        D(2028, 2, 20), anchor=FIRST, booking_starts_on=D(2028, 2, 15), booking_ends_on=None
    )
    assert (leap.days, leap.full_days) == (15, 29)
    assert prorated(Decimal("90.00"), leap.days, leap.full_days) == Decimal("46.55")


def test_a_move_out_cuts_the_last_period_and_ends_billing():
    found = periods(MOVE_IN, D(2026, 1, 10), ends_on=D(2026, 3, 19), count=10)
    assert [(p.starts_on, p.ends_on, p.is_partial) for p in found] == [
        (D(2026, 1, 10), D(2026, 2, 9), False),
        (D(2026, 2, 10), D(2026, 3, 9), False),
        (D(2026, 3, 10), D(2026, 3, 19), True),
    ]
    last = found[-1]
    assert (last.days, last.full_days) == (10, 31)
    assert prorated(Decimal("31.00"), last.days, last.full_days) == Decimal("10.00")


def test_a_move_out_on_a_months_last_day_leaves_the_last_period_whole():
    found = periods(FIRST, D(2026, 1, 1), ends_on=D(2026, 2, 28), count=10)
    assert [(p.starts_on, p.ends_on, p.is_partial) for p in found] == [
        (D(2026, 1, 1), D(2026, 1, 31), False),
        (D(2026, 2, 1), D(2026, 2, 28), False),
    ]


def test_a_period_across_the_daylight_saving_change_prorates_by_days_not_hours():
    # Europe/Berlin springs forward on 29 March 2026 and falls back on 25 October: 23 and 25 hour days.
    march = period_containing(
        D(2026, 3, 29), anchor=FIRST, booking_starts_on=D(2026, 3, 16), booking_ends_on=None
    )
    assert (march.days, march.full_days) == (16, 31)
    assert prorated(Decimal("62.00"), march.days, march.full_days) == Decimal("32.00")
    october = period_containing(
        D(2026, 10, 1), anchor=FIRST, booking_starts_on=D(2026, 1, 1), booking_ends_on=D(2026, 10, 25)
    )
    assert (october.days, october.full_days) == (25, 31)


def test_the_days_of_a_unit_within_a_period():
    period = Period(D(2026, 3, 1), D(2026, 3, 31), D(2026, 3, 1), D(2026, 3, 31))
    assert period.days_of(D(2026, 3, 11), None) == 21
    assert period.days_of(D(2026, 2, 1), D(2026, 3, 5)) == 5
    assert period.days_of(D(2026, 4, 1), None) == 0


def test_proration_rounds_half_up_to_the_cent():
    assert prorated(Decimal("10.00"), 1, 8) == Decimal("1.25")
    assert prorated(Decimal("0.10"), 1, 4) == Decimal("0.03")
    assert prorated(Decimal("80.00"), 31, 31) == Decimal("80.00")
