"""The Overview's numbers per location and its occupancy chart, drawn as SVG on the server."""

import datetime as dt
from dataclasses import dataclass

from keyport.billing.receivables import Overdue, overdue_per_location
from keyport.bookings.unit_states import (
    LocationToday,
    locations_today,
    month_ends,
    occupied_at_past_month_ends,
)
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_with_counts_for_staff

# The chart's drawing area, in SVG user units; the page scales it to the column's width.
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 240, 80, 4


@dataclass(frozen=True)
class ChartBar:
    month_end: dt.date
    occupied: int
    percent: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class OverviewRow:
    location: Location
    today: LocationToday
    chart: list[ChartBar]
    overdue: Overdue


def occupancy_chart(today: dt.date, occupied: list[int], rentable: int) -> list[ChartBar]:
    """One bar a month-end, its height the share of the rentable units occupied then."""
    days = month_ends(today)
    width = (CHART_WIDTH - BAR_GAP * (len(days) - 1)) // len(days)
    bars = []
    for index, (day, count) in enumerate(zip(days, occupied, strict=True)):
        percent = min(100, round(100 * count / rentable)) if rentable else 0
        height = round(CHART_HEIGHT * percent / 100)
        bars.append(
            ChartBar(day, count, percent, index * (width + BAR_GAP), CHART_HEIGHT - height, width, height)
        )
    return bars


def overview_of(user: StaffUser, now: dt.datetime) -> list[OverviewRow]:
    """The staff member's locations, each with today's numbers, its overdue total and its chart
    (the past months' bars kept for the day, today's bar the Occupied of today's numbers)."""
    locations = list(locations_with_counts_for_staff(user))
    today = locations_today(locations, now)
    past = occupied_at_past_month_ends(locations, now)
    overdue = overdue_per_location(locations, now)
    return [
        OverviewRow(
            location=location,
            today=today[location.pk],
            chart=occupancy_chart(
                now.astimezone(location.zone).date(),
                [*past[location.pk], today[location.pk].occupied],
                today[location.pk].units - today[location.pk].out_of_service,
            ),
            overdue=overdue[location.pk],
        )
        for location in locations
    ]
