"""Revocation: revoking a booking with 100 shares, and the time from Revoke access until the fake
Sensorberg shows the change with the worker running.

    .venv/bin/python bench/revoke.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from decimal import Decimal

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-revoke.sqlite3")  # noqa: S108
# The fake Sensorberg listens on 127.0.0.1; the worker started below inherits this.
os.environ.setdefault("SENSORBERG_ALLOW_PRIVATE_HOSTS", "true")

from figures import Figure, table  # noqa: E402
from setup_django import BENCH_DB, ROOT, configure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sensorberg-rounds", type=int, default=30)
    options = parser.parse_args()
    print(table(measure(rounds=options.rounds, sensorberg_rounds=options.sensorberg_rounds)))


def measure(*, rounds: int, sensorberg_rounds: int) -> list[Figure]:
    """Revoking 100 shares in process, and Revoke access until the fake Sensorberg shows it."""
    configure(fresh=True)
    from django.conf import settings
    from django.utils import timezone

    from keyport.access.models import SensorbergAccount
    from keyport.access.services import ShareRequest, booking_revoke_access, share_create
    from keyport.audit.services import Actor
    from keyport.contacts.models import Contact, Customer
    from keyport.facilities.models import AccessPoint, Location, Unit, UnitAccessPoint
    from keyport.frontdesk.services import booking_create

    sys.path.insert(0, str(ROOT))
    from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg

    settings.ACCESS_SHARES_PER_BOOKING = 1000
    actor = Actor.system("bench")
    today = timezone.localdate()

    def site(name: str, provider: str) -> tuple[Location, AccessPoint]:
        location = Location.objects.create(
            name=name,
            street="Benchweg 2",
            postal_code="1",
            city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
            access_provider=provider,
        )
        door = AccessPoint.objects.create(
            location=location, name="Door", kind="building_door", external_id="DOOR"
        )
        return location, door

    def booked(location: Location, door: AccessPoint, n: int):  # type: ignore[no-untyped-def]
        unit = Unit.objects.create(
            location=location, number=f"B{n:04d}", kind="storage_unit", size_m2=Decimal("5")
        )
        UnitAccessPoint.objects.create(unit=unit, access_point=door)
        customer = Customer.objects.create(name=f"Bench tenant {n}")
        Contact.objects.create(
            customer=customer,
            is_primary=True,
            first_name="T",
            email=f"t{location.pk}-{n}@bench.test",
            can_access_portal=True,
        )
        booking = booking_create(
            actor=actor, customer=customer, units=[unit], starts_on=today - dt.timedelta(days=1)
        )
        return booking, unit

    # A. Revoking a booking with 100 shares (built-in provider, in process).
    location, door = site("Bench built-in", "builtin")
    durations = []
    for n in range(rounds):
        booking, unit = booked(location, door, n)
        share_create(
            actor=actor,
            booking=booking,
            shared_by=None,
            request=ShareRequest(
                emails=[f"g{n}-{i}@bench.test" for i in range(100)],
                units=[unit],
                starts_on=today,
                ends_on=today + dt.timedelta(days=7),
            ),
        )
        started = time.perf_counter()
        booking_revoke_access(actor=actor, booking=booking, reason="bench")
        durations.append((time.perf_counter() - started) * 1000)
    figures = [Figure("revoke a booking with 100 shares (in process)", "ms", durations)]

    # B. Revoke access → the fake Sensorberg shows it, with the worker running.
    fake = FakeSensorberg().start()
    location, door = site("Bench Sensorberg", "sensorberg")
    SensorbergAccount.objects.create(
        location=location, base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    env = {**os.environ, "SQLITE_PATH": str(BENCH_DB), "LOG_LEVEL": "ERROR", "ACCESS_SWEEP_SECONDS": "0"}
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "run_worker",
            "--interval",
            "0.05",
            "--no-reload",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        latencies = []
        for n in range(sensorberg_rounds):
            booking, unit = booked(location, door, 1000 + n)
            fake.add_group(unit.number)
            share_create(
                actor=actor,
                booking=booking,
                shared_by=None,
                request=ShareRequest(
                    emails=[f"s{n}-{i}@bench.test" for i in range(3)],
                    units=[unit],
                    starts_on=today,
                    ends_on=today + dt.timedelta(days=7),
                ),
            )
            deadline = time.monotonic() + 60
            while len(fake.members(unit.number)) < 4:
                if time.monotonic() > deadline:
                    raise SystemExit("grants never reached the fake Sensorberg; is the worker running?")
                time.sleep(0.01)
            started = time.perf_counter()
            booking_revoke_access(actor=actor, booking=booking, reason="bench")
            while fake.members(unit.number):
                time.sleep(0.005)
            latencies.append(time.perf_counter() - started)
        figures.append(
            Figure(
                "Revoke access → the fake Sensorberg shows it (worker running)",
                "s",
                latencies,
                at_most=5.0,
                statistic="p99",
            )
        )
        return figures
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        fake.stop()


if __name__ == "__main__":
    main()
