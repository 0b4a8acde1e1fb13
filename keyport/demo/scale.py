"""Synthetic data at a big operator's scale, for benchmarks.

Written with bulk inserts and without audit entries: it stands for years of
history that were audited when they happened, and must load in minutes.
Per customer: two contacts, one and a half bookings, one car; one unit per
two customers (each unit booked up to three times, one after the other).
One customer in 25 is an event lead with no booking and no car (Ticket-only);
a third of the primary contacts have signed in to the portal and a sixth were
sent an invite, so that every Account Status is represented.
"""

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from keyport.bookings.models import Booking, BookingStatus, BookingUnit
from keyport.cars.models import Car
from keyport.contacts.models import (
    Contact,
    Customer,
    CustomerKind,
    PortalLink,
    PortalLinkPurpose,
)
from keyport.demo.data import CARS, COLOURS, FIRST_NAMES, LAST_NAMES
from keyport.facilities.models import AccessPoint, AccessPointKind, Location, Unit, UnitAccessPoint, UnitKind
from keyport.lib.search_text import search_text_of

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
    # Leads are the customers numbered 0, 25, 50...: they keep no units and no cars.
    storage_ids = [customer_id for n, customer_id in enumerate(customer_ids) if not _is_lead(n)]
    with transaction.atomic():
        contact_ids = _insert(Contact, _contact_rows(customer_ids, rng))
    counts["contacts"] = len(contact_ids)
    with transaction.atomic():
        counts["invites"] = len(_insert(PortalLink, _invite_rows(customer_ids, contact_ids, rng)))
    with transaction.atomic():
        counts["bookings"] = _bookings(storage_ids, units, len(customer_ids) * 3 // 2, today, rng)
    with transaction.atomic():
        counts["cars"] = len(_insert(Car, _car_rows(storage_ids, len(customer_ids), rng)))
    return counts


def _is_lead(n: int) -> bool:
    return n % 25 == 0


def _some_time_ago(rng: random.Random, *, days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=rng.randint(1, days), seconds=rng.randint(0, 86_399))


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
            kind=CustomerKind.LEAD if _is_lead(n) else CustomerKind.STORAGE,
            is_active=n % 10 != 0,
            home_location=locations[n % len(locations)],
            created_at=_some_time_ago(rng, days=5 * 365),
        )


def _contact_rows(customer_ids: list[int], rng: random.Random) -> Iterator[Contact]:
    for customer_id in customer_ids:
        for primary in (True, False):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            signed_in = _some_time_ago(rng, days=700) if primary and customer_id % 3 == 1 else None
            yield _searchable(
                Contact(
                    customer_id=customer_id,
                    is_primary=primary,
                    first_name=first,
                    last_name=last,
                    email=_primary_email(customer_id) if primary else f"a{customer_id}@scale.example.com",
                    phone=f"+49 30 {customer_id:08d}"
                    if primary
                    else f"+49 171 {rng.randint(0, 9_999_999):07d}",
                    can_access_portal=primary or customer_id % 3 == 0,
                    created_at=_some_time_ago(rng, days=5 * 365),
                    first_signed_in_at=signed_in,
                    last_signed_in_at=signed_in,
                )
            )


def _searchable(contact: Contact) -> Contact:
    """The contact with the search text its service would keep; every scale site is in Germany."""
    contact.search_text = search_text_of(contact.search_parts(), german=True)
    return contact


def _primary_email(customer_id: int) -> str:
    return f"p{customer_id}@scale.example.com"


def _invite_rows(customer_ids: list[int], contact_ids: list[int], rng: random.Random) -> Iterator[PortalLink]:
    """An expired invite for the primary contact of every sixth customer (Account Status: Email Sent)."""
    for n, customer_id in enumerate(customer_ids):
        if customer_id % 6 != 2:
            continue
        contact_id = contact_ids[2 * n]  # each customer's primary contact comes first
        sent = _some_time_ago(rng, days=300)
        yield PortalLink(
            contact_id=contact_id,
            purpose=PortalLinkPurpose.INVITE,
            token_hash=hashlib.sha256(f"scale-invite-{contact_id}".encode()).hexdigest(),
            sent_to=_primary_email(customer_id),
            created_at=sent,
            expires_at=sent + dt.timedelta(days=7),
        )


def _bookings(
    customer_ids: list[int], units: list[Unit], wanted: int, today: dt.date, rng: random.Random
) -> int:
    """`wanted` bookings shared out over the customers: up to three back-to-back bookings per unit."""
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


def _car_rows(customer_ids: list[int], count: int, rng: random.Random) -> Iterator[Car]:
    """`count` cars shared out over the customers, a few of whom own two."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    for n in range(count):
        customer_id = customer_ids[n % len(customer_ids)]
        make, model = rng.choice(CARS)
        yield Car(
            customer_id=customer_id,
            make=make,
            model=model,
            year=rng.randint(1960, 2025),
            colour=rng.choice(COLOURS),
            plate=f"{rng.choice(letters)}{rng.choice(letters)}-{rng.choice(letters)} {n + 1}",
        )


# One big location: the front desk's lists (Rentals, Units) at a large site's scale ---------------

BIG_SITE_PREFIX = "Big site"
# Every unit is let back to back for its share of the bookings; one booking in this many is cancelled.
CANCELLED_ONE_IN = 20


def seed_big_location(*, units: int, bookings: int, seed: int = 11) -> Location:
    """One location with `units` units and `bookings` bookings spread over them, one after another
    on each unit (the newest current, ending soon or reserved), and a customer with a contact for
    every four bookings, so that a search finds a handful of customers among many."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    today = timezone.localdate()
    with transaction.atomic():
        existing = Location.objects.filter(name__startswith=BIG_SITE_PREFIX).count()
        location = Location.objects.create(
            name=f"{BIG_SITE_PREFIX} {existing + 1}",
            street="Lagerstraße 1",
            postal_code="10000",
            city="Scaleton",
            country="DE",
            time_zone="Europe/Berlin",
        )
        unit_ids = _insert(
            Unit,
            (
                Unit(
                    location=location,
                    number=f"S{n:06d}",
                    kind=UnitKind.STORAGE_UNIT,
                    size_m2=Decimal(3 + n % 20),
                )
                for n in range(units)
            ),
        )
    customers = max(1, bookings // 4)
    with transaction.atomic():
        customer_ids = _insert(
            Customer,
            (
                Customer(
                    name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    home_location=location,
                    created_at=_some_time_ago(rng, days=10 * 365),
                )
                for _ in range(customers)
            ),
        )
        _insert(Contact, _big_site_contact_rows(customer_ids, rng))
    with transaction.atomic():
        _big_site_bookings(location, unit_ids, customer_ids, bookings, today, rng)
    return location


def _big_site_contact_rows(customer_ids: list[int], rng: random.Random) -> Iterator[Contact]:
    for customer_id in customer_ids:
        yield _searchable(
            Contact(
                customer_id=customer_id,
                is_primary=True,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                email=_primary_email(customer_id),
                can_access_portal=True,
            )
        )


def _big_site_bookings(
    location: Location,
    unit_ids: list[int],
    customer_ids: list[int],
    wanted: int,
    today: dt.date,
    rng: random.Random,
) -> None:
    """`wanted` bookings over the units, each unit's one after another back from today."""
    per_unit = -(-wanted // len(unit_ids))
    plans = []
    for index in range(wanted):
        unit_id = unit_ids[index % len(unit_ids)]
        back = per_unit - 1 - index // len(unit_ids)  # 0: the unit's newest booking
        if back == 0:
            starts_on = today + dt.timedelta(days=rng.randint(-300, 20))
            last_day = max(starts_on, today) + dt.timedelta(days=rng.randint(1, 60))
            ends_on = rng.choice([None, None, last_day])
        else:
            # Before the newest booking's earliest start (300 days back), 330 days apart, less up
            # to 30: each ends (30 to 290 days on) before the unit's next booking can start.
            starts_on = today - dt.timedelta(days=300 + 330 * back - rng.randint(0, 30))
            ends_on = starts_on + dt.timedelta(days=rng.randint(30, 290))
        cancelled = index % CANCELLED_ONE_IN == 7
        rent = Decimal(40 + index % 160)
        plans.append(
            (customer_ids[rng.randrange(len(customer_ids))], unit_id, starts_on, ends_on, cancelled, rent)
        )
    for batch in _batched(iter(plans)):
        made = Booking.objects.bulk_create(
            [
                Booking(
                    customer_id=customer_id,
                    location=location,
                    starts_on=start,
                    ends_on=end,
                    status=BookingStatus.CANCELLED if cancelled else BookingStatus.CONFIRMED,
                )
                for customer_id, _unit, start, end, cancelled, _rent in batch
            ]
        )
        BookingUnit.objects.bulk_create(
            [
                BookingUnit(
                    booking=booking,
                    unit_id=unit_id,
                    starts_on=start,
                    ends_on=end,
                    is_cancelled=cancelled,
                    monthly_rent=rent,
                )
                for booking, (_customer, unit_id, start, end, cancelled, rent) in zip(
                    made, batch, strict=True
                )
            ]
        )
