"""Move in: the front desk's submit of a move-in of three units, through the Django test client, at
a location with many units of which most are rented. Server time in process, p99 of the tries.

    .venv/bin/python bench/move_in.py                    # fresh SQLite file under /tmp
    .venv/bin/python bench/move_in.py --units 50000 --tries 200
    DATABASE_URL=postgres://... .venv/bin/python bench/move_in.py
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-move-in.sqlite3")  # noqa: S108

from figures import Figure, table  # noqa: E402
from setup_django import configure  # noqa: E402

UNITS_PER_MOVE_IN = 3
GOAL_MS = 150.0
# Of the location's units, this share is rented already (open-ended), as at a busy site.
RENTED = 0.8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5_000, help="at the location, most of them rented")
    parser.add_argument("--tries", type=int, default=50, help="move-ins timed, each of three free units")
    options = parser.parse_args()
    print(table(measure(units=options.units, tries=options.tries)))


def measure(*, units: int, tries: int) -> list[Figure]:
    """Each try moves a customer with a portal contact into three free units (the booking, its
    grants, the Welcome email); the first try warms up and is not counted."""
    configure(fresh=True)
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from keyport.bookings.models import Booking

    settings.ALLOWED_HOSTS = ["testserver"]
    started = time.perf_counter()
    scene = _build(units=units, tries=tries + 1)
    figures = [Figure("Move in: data built (units, bookings)", "s", [time.perf_counter() - started])]
    client = Client()
    client.force_login(scene["owner"])
    url = reverse("dashboard:move_in", args=[scene["location"].pk])
    timings = []
    for index, customer_id in enumerate(scene["customers"]):
        chosen = scene["free"][index * UNITS_PER_MOVE_IN : (index + 1) * UNITS_PER_MOVE_IN]
        data = {
            "action": "move_in",
            "customer": customer_id,
            "starts_on": scene["today"],
            "units": chosen,
            **{f"rent_{unit_id}": "59.00" for unit_id in chosen},
            "deposit": "100",
        }
        began = time.perf_counter()
        response = client.post(url, data)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 302:
            raise SystemExit(f"the move-in was refused: {response.status_code}")
        if index:
            timings.append(elapsed)
    if Booking.objects.filter(customer_id__in=scene["customers"]).count() != len(scene["customers"]):
        raise SystemExit("a move-in made no booking")
    figures.append(
        Figure(
            f"Move in of {UNITS_PER_MOVE_IN} units, server time (test client)",
            "ms",
            timings,
            at_most=GOAL_MS,
            statistic="p99",
        )
    )
    return figures


def _build(*, units: int, tries: int) -> dict[str, object]:
    """A location with `units` units of one type, most rented open-ended, and a customer with a
    portal contact for each try; written in bulk (no services: this is setup)."""
    from decimal import Decimal

    from django.db import connection, transaction

    from keyport.bookings.models import Booking, BookingUnit
    from keyport.contacts.models import Contact, Customer
    from keyport.facilities.models import AccessPoint, Location, Unit, UnitAccessPoint, UnitKind, UnitType
    from keyport.staff.models import Role, StaffUser

    batch = 5000
    with transaction.atomic():
        location = Location.objects.create(
            name="Bench move-in",
            street="Benchstraße 1",
            postal_code="10115",
            city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
        )
        today = location.local_now().date()
        gate = AccessPoint.objects.create(location=location, name="Gate", kind="gate", external_id="GATE")
        unit_type = UnitType.objects.create(
            location=location,
            name="Small",
            width_m=Decimal("1"),
            depth_m=Decimal("2"),
            monthly_price=Decimal("49"),
        )
        Unit.objects.bulk_create(
            [
                Unit(
                    location=location,
                    number=f"U{i:06d}",
                    kind=UnitKind.STORAGE_UNIT,
                    size_m2=Decimal("2"),
                    unit_type=unit_type,
                )
                for i in range(max(units, tries * UNITS_PER_MOVE_IN * 2))
            ],
            batch_size=batch,
        )
        unit_ids = list(Unit.objects.filter(location=location).order_by("pk").values_list("pk", flat=True))
        UnitAccessPoint.objects.bulk_create(
            [UnitAccessPoint(unit_id=u, access_point=gate) for u in unit_ids], batch_size=batch
        )
        rented = unit_ids[: min(int(len(unit_ids) * RENTED), len(unit_ids) - tries * UNITS_PER_MOVE_IN)]
        tenants = Customer.objects.bulk_create(
            [Customer(name=f"Tenant {i}", home_location=location) for i in range(len(rented))],
            batch_size=batch,
        )
        bookings = Booking.objects.bulk_create(
            [Booking(customer=c, location=location, starts_on=today) for c in tenants], batch_size=batch
        )
        BookingUnit.objects.bulk_create(
            [
                BookingUnit(booking=b, unit_id=u, starts_on=today)
                for b, u in zip(bookings, rented, strict=True)
            ],
            batch_size=batch,
        )
        customers = Customer.objects.bulk_create(
            [Customer(name=f"Walk-in {i}", home_location=location) for i in range(tries)]
        )
        Contact.objects.bulk_create(
            [
                Contact(
                    customer=c,
                    is_primary=True,
                    first_name="Walk-in",
                    email=f"walk-in-{c.pk}@bench.test",
                    can_access_portal=True,
                )
                for c in customers
            ]
        )
        owner = StaffUser.objects.create_user("owner@bench.test", "bench-password", role=Role.OWNER)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "location": location,
        "owner": owner,
        "today": today.isoformat(),
        "customers": [c.pk for c in customers],
        "free": unit_ids[len(rented) :],
    }


if __name__ == "__main__":
    main()
