"""Access events written by several processes at once, with and without database constraints on
their references, in the same run.

.venv/bin/python bench/event_inserts.py            # fresh SQLite file under /tmp
DATABASE_URL=postgres://... .venv/bin/python bench/event_inserts.py

Keyport's events carry no constraint on their five references (`AccessEvent`, since migration
access 0004); this run migrates back to access 0003 for alternate slices to show what they cost.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time
from typing import TYPE_CHECKING

from figures import Figure, table
from setup_django import alternating_slices, build_grants, configure

if TYPE_CHECKING:
    from keyport.access.services.doors import Door

References = list[tuple[int, int, int, int]]  # grant, holder, unit, booking
WITH, WITHOUT = "with database constraints", "without"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="for each of the two")
    parser.add_argument("--rounds", type=int, default=1)
    options = parser.parse_args()
    print(table(measure(**vars(options))))


def measure(*, units: int, processes: int, seconds: float, rounds: int) -> list[Figure]:
    """Event inserts a second without the references' constraints against with them, same run."""
    configure(fresh=True)
    from django.db import connections

    from keyport.access.models import AccessGrant
    from keyport.access.services.doors import Door

    data = build_grants(units=units)
    door = Door.of(data["gate"])  # type: ignore[arg-type]
    references: References = list(
        AccessGrant.objects.values_list("pk", "holder_id", "unit_id", "booking_id")[:5000]
    )
    connections.close_all()  # the writers open their own
    with multiprocessing.get_context("spawn").Pool(processes, initializer=_writer_setup) as pool:

        def write(variant: str, slice_seconds: float, first_seed: int) -> int:
            _set_constraints(constrained=variant == WITH)
            jobs = [(door, references, slice_seconds, first_seed + n) for n in range(processes)]
            return sum(pool.starmap(_inserts_for, jobs))

        rates: dict[str, list[float]] = {WITH: [], WITHOUT: []}
        for _ in range(rounds):
            totals = alternating_slices(seconds, (WITH, WITHOUT), write)
            for variant, total in totals.items():
                rates[variant].append(total / seconds)
    return [
        Figure(f"event inserts, {processes} processes: references {WITHOUT}", "/s", rates[WITHOUT]),
        Figure(f"event inserts, {processes} processes: references {WITH}", "/s", rates[WITH]),
        Figure(
            "event inserts: without the constraints / with them",
            "×",
            [ours / theirs for ours, theirs in zip(rates[WITHOUT], rates[WITH], strict=True)],
        ),
    ]


def _set_constraints(*, constrained: bool) -> None:
    """Give the events' references their database constraints, as before migration access 0004,
    or take them away again."""
    from django.core.management import call_command
    from django.db import connection

    from keyport.access.models import AccessEvent

    call_command("migrate", "access", "0003" if constrained else "0004", verbosity=0)
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, AccessEvent._meta.db_table).values()
    assert sum(bool(constraint["foreign_key"]) for constraint in found) == (5 if constrained else 0)
    connection.close()


def _writer_setup() -> None:
    configure(fresh=False, migrate=False)  # the schema is this run's to change


def _inserts_for(door: Door, references: References, seconds: float, seed: int) -> int:
    """One writer: events on random grants for `seconds`, each committed on its own; returns how many."""
    from django.utils import timezone

    from keyport.access.services.doors import GrantAtDoor, access_event_record

    rng = random.Random(seed)  # noqa: S311
    done, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        grant_id, holder_id, unit_id, booking_id = rng.choice(references)
        grant = GrantAtDoor(grant_id, unit_id, booking_id, is_active=True, in_window=True, has_ended=False)
        access_event_record(
            door,
            channel="device",
            allowed=True,
            reason="ok",
            when=timezone.now(),
            holder_id=holder_id,
            grant=grant,
        )
        done += 1
    return done


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyport.settings")
    main()
