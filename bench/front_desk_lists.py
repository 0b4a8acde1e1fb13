"""Rentals against the Django admin's Booking changelist and Units against its Unit changelist
(same data, same run), at one location with many units and bookings.

    .venv/bin/python bench/front_desk_lists.py                 # fresh SQLite file under /tmp
    .venv/bin/python bench/front_desk_lists.py --reuse         # keep the data of the last run
    DATABASE_URL=postgres://... .venv/bin/python bench/front_desk_lists.py
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-front-desk.sqlite3")  # noqa: S108

from figures import Figure, table  # noqa: E402
from pages import median_get, signed_in_owner  # noqa: E402
from setup_django import configure  # noqa: E402

ADMIN_BOOKINGS = "/admin/bookings/booking/"
ADMIN_UNITS = "/admin/facilities/unit/"
GOAL_BOOKINGS = 500_000


@dataclass(frozen=True)
class Case:
    """One question asked of our page (a URL name taking the location's id) and of the admin."""

    page: str
    label: str
    route: str
    query: str
    admin: str
    admin_query: str
    per_location: bool = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5_000)
    parser.add_argument("--bookings", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3, help="of every case, each the median of --requests")
    parser.add_argument("--requests", type=int, default=5, help="of each page, each round")
    parser.add_argument("--deep-page", type=int, default=400, help="of 50 rows; the admin shows 100")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run")
    options = parser.parse_args()
    print(table(measure(**vars(options))))


def measure(
    *, units: int, bookings: int, rounds: int, requests: int, deep_page: int, reuse: bool = False
) -> list[Figure]:
    """Each case of our page against the admin's changelist, as a ratio of their times."""
    configure(fresh=not reuse)
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    location, figures = _big_location(units=units, bookings=bookings)
    _owner, client = signed_in_owner()
    deep_page = min(deep_page, bookings // 50)
    ratios: dict[str, list[float]] = {}
    cases = [(case, _our_url(case, location)) for case in _cases(location, units, deep_page)]
    for _ in range(rounds):
        for case, ours in cases:
            mine = median_get(client, f"{ours}?{case.query}", requests)
            theirs = median_get(client, f"{case.admin}?{case.admin_query}", requests)
            ratios.setdefault(f"{case.page} / Django admin: {case.label}", []).append(mine / theirs)
    # The goal is set for 500,000 bookings: the admin's cost grows with the table (it counts
    # every match and sorts them), ours barely does, so a smaller table says little against it.
    full = bookings >= GOAL_BOOKINGS
    return figures + [
        Figure(
            name if full else f"{name} (goal ≤ {_goal(name):.2f} at {GOAL_BOOKINGS:,} bookings)",
            "×",
            values,
            at_most=_goal(name) if full else None,
        )
        for name, values in ratios.items()
    ]


def _goal(figure: str) -> float:
    """Rentals and Units at half the admin's time; the Overview, whose numbers count the location's
    units and bookings, no slower than the admin's list of its bookings."""
    return 1.0 if figure.startswith("Overview") else 0.50


def _cases(location: Any, units: int, deep_page: int) -> list[Case]:
    """Rentals and Units, each question asked of the admin with its own search and filters (the
    admin's lists narrowed to the location, as our pages are)."""
    here = f"location__id__exact={location.pk}"
    unit = f"S{units // 2:06d}"
    unit_page = max(1, min(deep_page, units // 50))
    rentals = "dashboard:location_rentals"
    units_page = "dashboard:location_units"
    return [
        Case("Rentals", "first page", rentals, "", ADMIN_BOOKINGS, here),
        Case("Rentals", "search a last name", rentals, "q=Weber", ADMIN_BOOKINGS, f"{here}&q=Weber"),
        Case("Rentals", "search a unit number", rentals, f"q={unit}", ADMIN_BOOKINGS, f"{here}&q={unit}"),
        Case(
            "Rentals",
            "filter Cancelled",
            rentals,
            "phase=cancelled",
            ADMIN_BOOKINGS,
            f"{here}&status__exact=cancelled",
        ),
        Case(
            "Rentals",
            f"deep page {deep_page}",
            rentals,
            f"after={_cursor_of_page(location, deep_page)}",
            ADMIN_BOOKINGS,
            f"{here}&p={deep_page // 2}",
        ),
        Case("Units", "first page", units_page, "", ADMIN_UNITS, here),
        Case("Units", "search a number", units_page, f"q={unit}", ADMIN_UNITS, f"{here}&q={unit}"),
        Case(
            "Units",
            "filter Out of service",
            units_page,
            "state=out_of_service",
            ADMIN_UNITS,
            f"{here}&status__exact=out_of_service",
        ),
        Case(
            "Units",
            f"deep page {unit_page}",
            units_page,
            f"page={unit_page}",
            ADMIN_UNITS,
            f"{here}&p={unit_page // 2 or 1}",
        ),
        # The Overview counts the location's units by state from its bookings, and today's move-ins and
        # move-outs (its chart's past months kept for the day); the admin's list counts its bookings.
        Case(
            "Overview",
            "bookings of the location",
            "dashboard:home",
            "",
            ADMIN_BOOKINGS,
            here,
            per_location=False,
        ),
    ]


def _our_url(case: Case, location: Any) -> str:
    from django.urls import reverse

    return reverse(case.route, args=[location.pk] if case.per_location else [])


def _big_location(*, units: int, bookings: int) -> tuple[Any, list[Figure]]:
    """The location of a previous run when it has the bookings, else a new one written in bulk."""
    from django.db import connection

    from keyport.bookings.models import Booking
    from keyport.demo.scale import BIG_SITE_PREFIX, seed_big_location
    from keyport.facilities.models import Location

    location = Location.objects.filter(name__startswith=BIG_SITE_PREFIX).order_by("-pk").first()
    if location is not None and Booking.objects.filter(location=location).count() >= bookings:
        return location, []
    started = time.perf_counter()
    location = seed_big_location(units=units, bookings=bookings)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics after a bulk load, for both sides
    seconds = time.perf_counter() - started
    return location, [Figure(f"Rentals: {units:,} units and {bookings:,} bookings written", "s", [seconds])]


def _cursor_of_page(location: Any, number: int) -> str:
    """The Next cursor that leads to page `number`: the last row of the page before."""
    from keyport.bookings.models import Booking
    from keyport.frontdesk.queries import rental_cursor

    row = Booking.objects.filter(location=location).order_by("-starts_on", "-id")[(number - 1) * 50 - 1]
    return rental_cursor(row)


if __name__ == "__main__":
    main()
