"""Synthetic data at a big operator's scale, for benchmarks.

Written with bulk inserts and without audit entries: it stands for years of
history that were audited when they happened, and must load in minutes.
Per customer: two contacts, one and a half bookings, one car; one unit per
two customers (each unit booked up to three times, one after the other).
"""

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from keyport.bookings.models import Booking, BookingUnit
from keyport.cars.models import Car
from keyport.contacts.models import Contact, Customer, CustomerKind
from keyport.demo.data import CARS, COLOURS, FIRST_NAMES, LAST_NAMES
from keyport.facilities.models import AccessPoint, AccessPointKind, Location, Unit, UnitAccessPoint, UnitKind

BATCH = 5000
SCALE_PREFIX = "Scale site"
TIME_ZONES = ["Europe/Berlin", "America/Chicago", "Europe/London", "America/New_York"]


def _batched(items: Iterator[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(model: type[models.Model], rows: Iterator[Any]) -> list[int]:
    """Insert in batches; the new primary keys, in order."""
    ids: list[int] = []
    for batch in _batched(rows):
        created = model._default_manager.bulk_create(batch, batch_size=BATCH)
        ids.extend(obj.pk for obj in created)
    return ids


def seed_scale(*, customers: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    today = timezone.localdate()
    unit_count = max(1, customers // 2)
    with transaction.atomic():
        locations = _locations(len(TIME_ZONES))
        units = _units(locations, unit_count)
    counts = {"locations": len(locations), "units": len(units)}
    with transaction.atomic():
        customer_ids = _insert(Customer, _customer_rows(customers, locations, rng))
    counts["customers"] = len(customer_ids)
    with transaction.atomic():
        counts["contacts"] = len(_insert(Contact, _contact_rows(customer_ids, rng)))
    with transaction.atomic():
        counts["bookings"] = _bookings(customer_ids, units, today, rng)
    with transaction.atomic():
        counts["cars"] = len(_insert(Car, _car_rows(customer_ids, rng)))
    return counts


def _locations(count: int) -> list[Location]:
    existing = Location.objects.filter(name__startswith=SCALE_PREFIX).count()
    locations = [
        Location(
            name=f"{SCALE_PREFIX} {existing + n + 1}",
            street=f"Industrieweg {n + 1}",
            postal_code="10000",
            city="Scaleton",
            country="DE",
            time_zone=TIME_ZONES[n % len(TIME_ZONES)],
        )
        for n in range(count)
    ]
    return Location.objects.bulk_create(locations)


def _units(locations: list[Location], count: int) -> list[Unit]:
    per_location = -(-count // len(locations))
    units: list[Unit] = []
    for location in locations:
        gate = AccessPoint.objects.create(
            location=location, name="Gate", kind=AccessPointKind.GATE, external_id=f"{location.pk}-GATE"
        )
        batch = [
            Unit(
                location=location,
                number=f"S{n:06d}",
                kind=UnitKind.STORAGE_UNIT if n % 4 else UnitKind.PARKING_BAY,
                size_m2=Decimal(5 + n % 20),
            )
            for n in range(min(per_location, count - len(units)))
        ]
        created = Unit.objects.bulk_create(batch, batch_size=BATCH)
        UnitAccessPoint.objects.bulk_create(
            [UnitAccessPoint(unit=unit, access_point=gate) for unit in created], batch_size=BATCH
        )
        units.extend(created)
    return units


def _customer_rows(count: int, locations: list[Location], rng: random.Random) -> Iterator[Customer]:
    for n in range(count):
        yield Customer(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            kind=CustomerKind.LEAD if n % 25 == 0 else CustomerKind.STORAGE,
            is_active=n % 10 != 0,
            home_location=locations[n % len(locations)],
        )


def _contact_rows(customer_ids: list[int], rng: random.Random) -> Iterator[Contact]:
    for customer_id in customer_ids:
        for primary in (True, False):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            yield Contact(
                customer_id=customer_id,
                is_primary=primary,
                first_name=first,
                last_name=last,
                email=f"{'p' if primary else 'a'}{customer_id}@scale.example.com",
                phone=f"+49 30 {customer_id:08d}",
                can_access_portal=primary or customer_id % 3 == 0,
            )


def _bookings(customer_ids: list[int], units: list[Unit], today: dt.date, rng: random.Random) -> int:
    """One and a half bookings per customer: up to three back-to-back bookings per unit."""
    wanted = len(customer_ids) * 3 // 2
    plans = []
    for index in range(wanted):
        unit = units[index % len(units)]
        round_ = index // len(units)  # 0: current, 1 and 2: earlier, ended tenancies
        starts_on = today - dt.timedelta(days=30 + 400 * round_ + rng.randint(0, 50))
        ends_on = None if round_ == 0 else starts_on + dt.timedelta(days=300)
        plans.append((customer_ids[index % len(customer_ids)], unit, starts_on, ends_on))
    for batch in _batched(iter(plans)):
        bookings = Booking.objects.bulk_create(
            [
                Booking(customer_id=customer_id, location_id=unit.location_id, starts_on=start, ends_on=end)
                for customer_id, unit, start, end in batch
            ]
        )
        BookingUnit.objects.bulk_create(
            [
                BookingUnit(booking=booking, unit=unit, starts_on=start, ends_on=end)
                for booking, (_customer, unit, start, end) in zip(bookings, batch, strict=True)
            ]
        )
    return len(plans)


def _car_rows(customer_ids: list[int], rng: random.Random) -> Iterator[Car]:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    for customer_id in customer_ids:
        make, model = rng.choice(CARS)
        yield Car(
            customer_id=customer_id,
            make=make,
            model=model,
            year=rng.randint(1960, 2025),
            colour=rng.choice(COLOURS),
            plate=f"{rng.choice(letters)}{rng.choice(letters)} {customer_id}",
        )
