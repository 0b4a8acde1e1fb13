"""Point Django at a separate benchmark database (a fresh SQLite file, or DATABASE_URL) and build data.

Imported first by every benchmark; never collected by pytest (bench/ is outside testpaths).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = Path(os.environ.get("BENCH_SQLITE_PATH", "/tmp/keyport-bench.sqlite3"))  # noqa: S108


def configure(*, fresh: bool, migrate: bool = True) -> None:
    """Django set up on the bench's database; `migrate=False` for a process of a run already set up."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(BENCH_DB)
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(str(BENCH_DB) + suffix).unlink(missing_ok=True)
            if template := os.environ.get("BENCH_SQLITE_TEMPLATE"):
                shutil.copyfile(template, BENCH_DB)  # migrated once by bench/run_all.py
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyport.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    if not migrate:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if fresh and os.environ.get("DATABASE_URL"):
        from keyport.facilities.models import Location

        if Location.objects.exists():
            raise SystemExit(
                "The benchmark builds its own data and needs an empty database; make one with\n"
                "  dropdb -h 127.0.0.1 -U postgres --if-exists keyport_bench && "
                "createdb -h 127.0.0.1 -U postgres keyport_bench"
            )


def build_grants(*, units: int = 50_000, holders_per_unit: int = 4) -> dict[str, object]:
    """50,000 units and 200,000 grants at one location, written in bulk (no services: this is setup)."""
    import datetime as dt
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from keyport.access.models import AccessGrant, AccessHolder, GrantOrigin
    from keyport.bookings.models import Booking, BookingUnit
    from keyport.contacts.models import Customer
    from keyport.facilities.models import (
        AccessPoint,
        AccessPointKind,
        Location,
        Unit,
        UnitAccessPoint,
        UnitKind,
    )

    started = time.perf_counter()
    batch = 5000
    rng = random.Random(4)  # noqa: S311
    with transaction.atomic():
        location = Location.objects.create(
            name=f"Bench {time.time_ns()}",
            street="Benchstraße 1",
            postal_code="10115",
            city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
        )
        gate = AccessPoint.objects.create(
            location=location, name="Gate", kind=AccessPointKind.GATE, external_id="GATE"
        )
        Unit.objects.bulk_create(
            [
                Unit(location=location, number=f"U{i:06d}", kind=UnitKind.STORAGE_UNIT, size_m2=Decimal("5"))
                for i in range(units)
            ],
            batch_size=batch,
        )
        unit_ids = list(Unit.objects.filter(location=location).order_by("pk").values_list("pk", flat=True))
        UnitAccessPoint.objects.bulk_create(
            [UnitAccessPoint(unit_id=u, access_point=gate) for u in unit_ids], batch_size=batch
        )
        Customer.objects.bulk_create([Customer(name=f"Bench {i}") for i in range(units)], batch_size=batch)
        customer_ids = list(
            Customer.objects.filter(name__startswith="Bench ")
            .order_by("-pk")
            .values_list("pk", flat=True)[:units]
        )
        start = timezone.localdate() - dt.timedelta(days=10)
        Booking.objects.bulk_create(
            [Booking(customer_id=c, location=location, starts_on=start) for c in customer_ids],
            batch_size=batch,
        )
        booking_ids = list(
            Booking.objects.filter(location=location).order_by("pk").values_list("pk", flat=True)
        )
        BookingUnit.objects.bulk_create(
            [
                BookingUnit(booking_id=b, unit_id=u, starts_on=start)
                for b, u in zip(booking_ids, unit_ids, strict=True)
            ],
            batch_size=batch,
        )
        pins = rng.sample(range(1_000_000), units * holders_per_unit)
        AccessHolder.objects.bulk_create(
            [
                AccessHolder(location=location, email=f"h{i}@bench.test", pin=f"{p:06d}")
                for i, p in enumerate(pins)
            ],
            batch_size=batch,
        )
        holder_ids = list(
            AccessHolder.objects.filter(location=location).order_by("pk").values_list("pk", "pin")
        )
        begins = timezone.now() - dt.timedelta(days=10)
        AccessGrant.objects.bulk_create(
            [
                AccessGrant(
                    holder_id=holder_ids[i][0],
                    unit_id=unit_ids[i // holders_per_unit],
                    booking_id=booking_ids[i // holders_per_unit],
                    origin=GrantOrigin.BOOKING,
                    starts_at=begins,
                )
                for i in range(len(holder_ids))
            ],
            batch_size=batch,
        )
    from django.db import connection

    with connection.cursor() as cursor:
        # The planner's statistics, and on PostgreSQL the rows' visibility set once, as in a
        # database that has been in use (autovacuum would do both in a while).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "location": location,
        "gate": gate,
        "pins": [pin for _, pin in holder_ids],
        "seconds": time.perf_counter() - started,
    }


def alternating_slices(
    seconds: float, variants: Sequence[str], ask: Callable[[str, float, int], int]
) -> dict[str, int]:
    """What each variant got done in `seconds`, in one-second slices taken in turn, so that a busy
    moment of the machine weighs on all. `ask(variant, slice_seconds, first_seed)` runs one slice."""
    slices = max(1, round(seconds))
    totals = dict.fromkeys(variants, 0)
    for index in range(slices):
        for variant in variants:
            totals[variant] += ask(variant, seconds / slices, index * 100)
    return totals


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def skip_event_writes() -> None:
    """The what-if of `--without-event-write`: decisions are made as ever, their events not written."""
    import keyport.access.services

    keyport.access.services.access_event_record = lambda *args, **kwargs: None  # type: ignore[assignment]
