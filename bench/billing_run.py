"""The billing run: a location's nightly issue of every booking's rent invoice for its next period.

At each size a location gets that many open-ended bookings (one unit each, moved in today): the
first run issues an invoice for each, a second run the same day issues nothing, and a run a month
later (the next periods) is measured for its peak memory (tracemalloc), which must stay flat from
the small size to the large one: the run reads and writes in batches.

    .venv/bin/python bench/billing_run.py                          # fresh SQLite file under /tmp
    .venv/bin/python bench/billing_run.py --sizes 10000,100000     # the recorded scale
    DATABASE_URL=postgres://... .venv/bin/python bench/billing_run.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import tracemalloc

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-billing-run.sqlite3")  # noqa: S108

from figures import Figure, table  # noqa: E402
from setup_django import configure  # noqa: E402

GOAL_SECONDS = 120.0
# The large size's peak memory over the small one's: flat, give or take the interpreter's noise.
GOAL_MEMORY_RATIO = 1.5
MIB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000", help="bookings at each size, comma-separated")
    options = parser.parse_args()
    print(table(measure(sizes=[int(size) for size in options.sizes.split(",")])))


def measure(*, sizes: list[int]) -> list[Figure]:
    configure(fresh=True)
    from keyport.billing.models import Invoice
    from keyport.billing.rent import billing_run_location

    figures: list[Figure] = []
    peaks: list[float] = []
    for size in sizes:
        location, today = _build(size)
        began = time.perf_counter()
        issued = billing_run_location(location=location, today=today)
        elapsed = time.perf_counter() - began
        if issued != size:
            raise SystemExit(f"the run issued {issued} invoices for {size} bookings")
        figures.append(
            Figure(f"Billing run: {size:,} bookings, an invoice each", "s", [elapsed], at_most=GOAL_SECONDS)
        )
        began = time.perf_counter()
        again = billing_run_location(location=location, today=today)
        elapsed = time.perf_counter() - began
        if again:
            raise SystemExit(f"the second run issued {again} invoices")
        figures.append(
            Figure(f"Billing run again the same day: {size:,} bookings, nothing issued", "s", [elapsed])
        )
        tracemalloc.start()
        next_month = billing_run_location(location=location, today=today + dt.timedelta(days=31))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if next_month != size:
            raise SystemExit(f"the next month's run issued {next_month} invoices for {size} bookings")
        peaks.append(peak / MIB)
        figures.append(
            Figure(f"Billing run: peak memory (tracemalloc) at {size:,} bookings", "MiB", [peak / MIB])
        )
    if Invoice.objects.count() != 2 * sum(sizes):
        raise SystemExit("the runs issued a period twice")
    figures.append(
        Figure(
            f"Billing run: peak memory at {sizes[-1]:,} / at {sizes[0]:,} bookings",
            "×",
            [peaks[-1] / peaks[0]],
            at_most=GOAL_MEMORY_RATIO,
        )
    )
    return figures


def _build(size: int) -> tuple[object, dt.date]:
    """A location with `size` customers, each with a booking of one unit from today at 59.00 a
    month, written in bulk (no services: this is setup)."""
    from decimal import Decimal

    from django.db import connection, transaction

    from keyport.billing.models import BillingSettings
    from keyport.bookings.models import Booking, BookingUnit
    from keyport.contacts.models import Customer
    from keyport.facilities.models import Location, Unit, UnitKind

    batch = 5000
    with transaction.atomic():
        location = Location.objects.create(
            name=f"Bench billing {size}",
            street="Benchstraße 1",
            postal_code="10115",
            city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
        )
        BillingSettings.objects.create(location=location, invoice_prefix=f"B{size}", vat_rate=Decimal("19"))
        today = location.local_now().date()
        units = Unit.objects.bulk_create(
            [
                Unit(location=location, number=f"U{i:06d}", kind=UnitKind.STORAGE_UNIT, size_m2=Decimal("2"))
                for i in range(size)
            ],
            batch_size=batch,
        )
        customers = Customer.objects.bulk_create(
            [Customer(name=f"Tenant {i}", home_location=location) for i in range(size)], batch_size=batch
        )
        bookings = Booking.objects.bulk_create(
            [Booking(customer=c, location=location, starts_on=today) for c in customers], batch_size=batch
        )
        BookingUnit.objects.bulk_create(
            [
                BookingUnit(booking=b, unit=u, starts_on=today, monthly_rent=Decimal("59.00"))
                for b, u in zip(bookings, units, strict=True)
            ],
            batch_size=batch,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return location, today


if __name__ == "__main__":
    main()
