"""The demo facility: two sites, their units and access points, customers, bookings and cars.

Deterministic (a seeded random generator), so every fresh install shows the same data.
"""

import datetime as dt
import hashlib
import random
import secrets
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from keyport.access.services import ShareRequest, share_create
from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from keyport.cars.services import car_create
from keyport.contacts.models import Contact, CustomerKind, PortalLink, PortalLinkPurpose
from keyport.contacts.services import ContactDetails, customer_create
from keyport.demo.sections import seed_sections
from keyport.facilities.models import AccessPointKind, Location, Unit, UnitKind
from keyport.facilities.services import (
    access_point_create,
    location_create,
    location_set_opening_hours,
    unit_create,
    unit_map_access_points,
    unit_type_create,
)
from keyport.frontdesk.services import booking_create, contact_add
from keyport.staff.models import Role, StaffUser

DEMO_PASSWORD = "keyport-demo"  # noqa: S105 - the published demo sign-in
OWNER_EMAIL = "owner@demo.keyport.test"
TENANT_EMAIL = "tenant@demo.keyport.test"
PARTNER_EMAIL = "partner@demo.keyport.test"
GUEST_EMAIL = "guest@demo.keyport.test"
BERLIN = "Keyport Self Storage Berlin-Kreuzberg"
AUSTIN = "Keyport Car Storage Austin"

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hannah",
    "Ibrahim",
    "Jana",
    "Karl",
    "Lea",
    "Mehmet",
    "Nina",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
    "Stefan",
    "Tara",
    "Uwe",
    "Vera",
    "Walter",
    "Yusuf",
    "Zoe",
    "Emily",
    "Jacob",
    "Sophia",
    "Mason",
    "Olivia",
]
LAST_NAMES = [
    "Müller",
    "Schmidt",
    "Weber",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Johnson",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
]
CARS = [
    ("Porsche", "911"),
    ("BMW", "M3"),
    ("Mercedes-Benz", "SL 500"),
    ("Ford", "Mustang"),
    ("Chevrolet", "Corvette"),
    ("Jaguar", "E-Type"),
    ("Volkswagen", "Beetle"),
    ("Audi", "RS6"),
    ("Tesla", "Model S"),
    ("Mazda", "MX-5"),
    ("Land Rover", "Defender"),
    ("Toyota", "Supra"),
]
COLOURS = ["Black", "White", "Silver", "Red", "Blue", "Green", "Yellow", "Grey"]


def demo_is_seeded() -> bool:
    return Location.objects.filter(name=BERLIN).exists()


@transaction.atomic
def seed_demo() -> dict[str, int]:
    """Create the demo facility once; a second call changes nothing."""
    if demo_is_seeded():
        return {}
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    actor = Actor.system("demo data")
    today = timezone.localdate()

    berlin, berlin_units = _berlin(actor)
    austin, austin_bays = _austin(actor)
    _staff(berlin)

    tenant = customer_create(
        actor=actor,
        name="Mara Schneider",
        home_location=berlin,
        primary=ContactDetails(
            first_name="Mara",
            last_name="Schneider",
            email=TENANT_EMAIL,
            phone="+49 30 5550 1010",
            can_access_portal=True,
        ),
    )
    contact_add(
        actor=actor,
        customer=tenant,
        details=ContactDetails(
            first_name="Jonas",
            last_name="Schneider",
            email=PARTNER_EMAIL,
            phone="+49 30 5550 1011",
            can_access_portal=True,
        ),
    )
    tenant_booking = booking_create(
        actor=actor, customer=tenant, units=berlin_units[9:11], starts_on=today - dt.timedelta(days=60)
    )
    _example_share(actor, tenant_booking, berlin_units[9], today)
    car_create(
        actor=actor, customer=tenant, make="Volvo", model="P1800", plate="B MS 1800", year=1969, colour="Red"
    )
    customer_create(
        actor=actor,
        name="Sam Rivera",
        kind=CustomerKind.LEAD,
        home_location=austin,
        primary=ContactDetails(
            first_name="Sam", last_name="Rivera", email=GUEST_EMAIL, can_access_portal=True
        ),
    )

    free_units = berlin_units[20:]
    free_bays = list(austin_bays)
    rng.shuffle(free_units)
    rng.shuffle(free_bays)
    bookings = cars = 0
    for number in range(148):
        in_berlin = number % 3 != 0
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customer = customer_create(
            actor=actor,
            name=f"{first} {last}",
            home_location=berlin if in_berlin else austin,
            primary=ContactDetails(
                first_name=first,
                last_name=last,
                email=f"{first}.{last}.{number}@example.com".lower().replace("ü", "ue").replace("ö", "oe"),
                phone=f"+49 30 {5550000 + number}" if in_berlin else f"+1 512 555 {1000 + number}",
                can_access_portal=rng.random() < 0.8,
            ),
        )
        if rng.random() < 0.25:
            contact_add(
                actor=actor,
                customer=customer,
                details=ContactDetails(
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=last,
                    email=f"family.{number}@example.com",
                    can_access_portal=rng.random() < 0.5,
                ),
            )
        pool = free_units if in_berlin else free_bays
        if pool and rng.random() < 0.85:
            starts_on = today - dt.timedelta(days=rng.randint(-20, 700))
            ends_on = None if rng.random() < 0.7 else starts_on + dt.timedelta(days=rng.randint(30, 400))
            booked = [pool.pop()]
            booking_create(actor=actor, customer=customer, units=booked, starts_on=starts_on, ends_on=ends_on)
            bookings += 1
            if not in_berlin:
                # A car stands only in a bay its customer's booking holds today.
                current = starts_on <= today and (ends_on is None or ends_on >= today)
                make, model = rng.choice(CARS)
                car_create(
                    actor=actor,
                    customer=customer,
                    make=make,
                    model=model,
                    plate=_plate(rng),
                    year=rng.randint(1960, 2024),
                    colour=rng.choice(COLOURS),
                    bay=booked[0] if current else None,
                )
                cars += 1
    _portal_history()
    seed_sections(
        actor=actor, berlin=berlin, austin=austin, tenant=tenant, guest=Contact.objects.get(email=GUEST_EMAIL)
    )
    return {
        "locations": 2,
        "units": len(berlin_units) + len(austin_bays),
        "customers": 150,
        "bookings": bookings + 1,
        "cars": cars + 1,
    }


def _example_share(actor: Actor, booking: Booking, unit: Unit, today: dt.date) -> None:
    """Mara shares one unit with a friend for a week, as in the Share Access article."""

    share_create(
        actor=actor,
        booking=booking,
        shared_by=booking.customer.contacts.filter(is_primary=True).first(),
        request=ShareRequest(
            emails=["friend@example.com"], units=[unit], starts_on=today, ends_on=today + dt.timedelta(days=6)
        ),
    )


def _portal_history() -> None:
    """Account Status for the demo: some contacts were sent an invite (Email Sent), some have signed
    in (Signed In); the named tenant, partner and guest have not, so a visitor can try it first.

    Written as history (expired, used links), without sending mail: var/mail/ holds only what a
    visitor asks for.
    """
    rng = random.Random(3)  # noqa: S311 - demo data, not secrets
    now = timezone.now()
    named = {TENANT_EMAIL, PARTNER_EMAIL, GUEST_EMAIL}
    people = Contact.objects.filter(can_access_portal=True, customer__is_active=True).exclude(email__in=named)
    for contact in people.order_by("pk"):
        roll = rng.random()
        if roll < 0.3:
            continue  # Not signed in yet
        sent_at = now - dt.timedelta(days=rng.randint(1, 60))
        assert contact.email is not None  # noqa: S101 - filtered on portal access, which needs one
        signed_in = roll >= 0.55
        PortalLink.objects.create(
            contact=contact,
            purpose=PortalLinkPurpose.INVITE,
            token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
            sent_to=contact.email,
            created_at=sent_at,
            expires_at=sent_at + dt.timedelta(hours=72),
            used_at=sent_at + dt.timedelta(hours=2) if signed_in else None,
        )
        if signed_in:
            contact.first_signed_in_at = contact.last_signed_in_at = sent_at + dt.timedelta(hours=2)
            contact.save(update_fields=["first_signed_in_at", "last_signed_in_at"])


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(1000, 9999)}"


def _berlin(actor: Actor) -> tuple[Location, list[Unit]]:
    berlin = location_create(
        actor=actor,
        name=BERLIN,
        street="Köpenicker Straße 145",
        postal_code="10997",
        city="Berlin",
        country="DE",
        time_zone="Europe/Berlin",
    )
    location_set_opening_hours(
        actor=actor, location=berlin, hours=[(day, dt.time(6), dt.time(22)) for day in range(7)]
    )
    gate = access_point_create(
        actor=actor, location=berlin, name="Main gate", kind=AccessPointKind.GATE, external_id="BER-GATE-1"
    )
    door = access_point_create(
        actor=actor,
        location=berlin,
        name="Building door",
        kind=AccessPointKind.BUILDING_DOOR,
        external_id="BER-DOOR-1",
    )
    lift = access_point_create(
        actor=actor,
        location=berlin,
        name="Goods elevator",
        kind=AccessPointKind.ELEVATOR,
        external_id="BER-LIFT-1",
    )
    # Name, width × depth in metres and monthly price in euros: a typical self-storage ladder.
    ladder = [
        ("Locker", "1", "1.5", "29"),
        ("Small", "1.5", "2", "49"),
        ("Medium S", "2", "2.5", "75"),
        ("Medium", "2.5", "3", "105"),
        ("Large", "2.5", "4", "135"),
        ("Extra large", "3", "5", "189"),
        ("Garage", "4", "5", "239"),
    ]
    types = [
        unit_type_create(
            actor=actor,
            location=berlin,
            name=name,
            width_m=Decimal(width),
            depth_m=Decimal(depth),
            monthly_price=Decimal(price),
        )
        for name, width, depth, price in ladder
    ]
    units = []
    for index in range(200):
        floor = index // 100
        number = f"{'AB'[floor]}{index % 100 + 1:03d}"
        unit = unit_create(
            actor=actor,
            location=berlin,
            number=number,
            kind=UnitKind.STORAGE_UNIT,
            size_m2=types[index % len(types)].size_m2,
            unit_type=types[index % len(types)],
        )
        units.append(unit)
        # A handful of units are left unmapped, as on a real site mid-installation.
        if index % 40 == 39:
            continue
        lock = access_point_create(
            actor=actor,
            location=berlin,
            name=f"Unit {number} lock",
            kind=AccessPointKind.UNIT_LOCK,
            external_id=f"BER-LOCK-{number}",
        )
        mapped = [gate, door, lock] + ([lift] if floor else [])
        unit_map_access_points(actor=actor, unit=unit, access_points=mapped)
    return berlin, units


def _austin(actor: Actor) -> tuple[Location, list[Unit]]:
    austin = location_create(
        actor=actor,
        name=AUSTIN,
        street="2100 E Cesar Chavez St",
        postal_code="78702",
        city="Austin",
        country="US",
        time_zone="America/Chicago",
    )
    location_set_opening_hours(
        actor=actor, location=austin, hours=[(day, dt.time(7), dt.time(20)) for day in range(7)]
    )
    gate = access_point_create(
        actor=actor, location=austin, name="Vehicle gate", kind=AccessPointKind.GATE, external_id="AUS-GATE-1"
    )
    door = access_point_create(
        actor=actor,
        location=austin,
        name="Lobby door",
        kind=AccessPointKind.BUILDING_DOOR,
        external_id="AUS-DOOR-1",
    )
    bay_type = unit_type_create(
        actor=actor,
        location=austin,
        name="Parking bay",
        width_m=Decimal("2.5"),
        depth_m=Decimal("6"),
        monthly_price=Decimal("145"),
    )
    bays = []
    for index in range(100):
        bay = unit_create(
            actor=actor,
            location=austin,
            number=f"P{index + 1:03d}",
            kind=UnitKind.PARKING_BAY,
            size_m2=bay_type.size_m2,
            unit_type=bay_type,
        )
        unit_map_access_points(actor=actor, unit=bay, access_points=[gate, door])
        bays.append(bay)
    return austin, bays


def _staff(berlin: Location) -> None:
    StaffUser.objects.create_user(OWNER_EMAIL, DEMO_PASSWORD, full_name="Olivia Owner", role=Role.OWNER)
    manager = StaffUser.objects.create_user(
        "manager@demo.keyport.test", DEMO_PASSWORD, full_name="Max Manager", role=Role.MANAGER
    )
    manager.locations.add(berlin)
    employee = StaffUser.objects.create_user(
        "employee@demo.keyport.test", DEMO_PASSWORD, full_name="Emma Employee", role=Role.EMPLOYEE
    )
    employee.locations.add(berlin)
