"""Import tenants: a CSV of tenants checked and imported (a new customer, a booking with its doors and
an open invoice for the balance due, a line each) as the background worker runs it, a chunk at a
time; memory at two sizes of file, which should be the same; and the progress bar's status request.

    .venv/bin/python bench/tenant_import.py                    # fresh SQLite file under /tmp
    .venv/bin/python bench/tenant_import.py --rows 100000 --small-rows 10000
    DATABASE_URL=postgres://... .venv/bin/python bench/tenant_import.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-tenant-import.sqlite3")  # noqa: S108

from figures import Figure, table  # noqa: E402
from pages import signed_in_owner  # noqa: E402
from setup_django import configure  # noqa: E402

GOAL_ROWS_PER_SECOND = 1_000.0
GOAL_STATUS_MS = 20.0
# Peak memory of the larger file against the smaller one's: flat, give or take a chunk's noise.
GOAL_MEMORY_RATIO = 1.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000, help="lines of the file timed and traced")
    parser.add_argument("--small-rows", type=int, default=1_000, help="lines of the smaller traced file")
    parser.add_argument("--requests", type=int, default=50, help="status requests timed")
    options = parser.parse_args()
    print(table(measure(rows=options.rows, small_rows=options.small_rows, requests=options.requests)))


def measure(*, rows: int, small_rows: int, requests: int) -> list[Figure]:
    configure(fresh=True)
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    owner, client = signed_in_owner()
    figures = []
    with tempfile.TemporaryDirectory(prefix="keyport-bench-import-") as scratch:
        timed = _import(owner, rows, Path(scratch), trace=False)
        figures += [
            Figure(f"Import tenants: Check first of {rows:,} lines", "/s", [rows / timed["check"]]),
            Figure(
                f"Import tenants: import of {rows:,} lines (customer, booking, doors, invoice)",
                "/s",
                [rows / timed["import"]],
                at_least=GOAL_ROWS_PER_SECOND,
            ),
        ]
        small = _import(owner, small_rows, Path(scratch), trace=True)
        large = _import(owner, rows, Path(scratch), trace=True)
    # Memory holds a chunk of lines at most: below a chunk, a file's memory grows with its lines.
    chunk = max(settings.IMPORT_CHUNK_ROWS, settings.IMPORT_CHECK_CHUNK_LINES)
    flat_goal = GOAL_MEMORY_RATIO if small_rows > chunk else None
    figures += [
        Figure(f"Import tenants: peak memory (tracemalloc), {small_rows:,} lines", "MiB", [small["peak"]]),
        Figure(f"Import tenants: peak memory (tracemalloc), {rows:,} lines", "MiB", [large["peak"]]),
        Figure(
            f"Import tenants: peak memory, {rows:,} lines / {small_rows:,} lines",
            "×",
            [large["peak"] / small["peak"]],
            at_most=flat_goal,
        ),
    ]
    url = f"/dashboard/imports/{timed['import_id']}/progress/"
    figures.append(
        Figure(
            "Import tenants: progress bar's status request",
            "ms",
            _timings(client, url, requests),
            at_most=GOAL_STATUS_MS,
        )
    )
    return figures


def _timings(client: Any, url: str, requests: int) -> list[float]:
    assert client.get(url).status_code == 200  # warm-up
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return [statistics.median(timings[i::3]) for i in range(3)]


def _import(owner: Any, rows: int, scratch: Path, *, trace: bool) -> dict[str, Any]:
    """A location with a unit a line, the file, then the check and the import as the worker runs
    them; seconds of each, and the peak memory of both when traced."""
    from django.core.files import File

    from keyport.imports import checking, services
    from keyport.imports.models import ImportStatus, RowOutcome

    location = _location(rows)
    path = scratch / f"tenants-{location.pk}.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "Customer name,Email,Phone,Unit number,Move-in date,Move-out date,Monthly rent,Balance due\n"
        )
        for n in range(rows):
            balance = "25.00" if n % 10 == 0 else ""
            out.write(
                f"Tenant {n},t{location.pk}-{n}@example.com,+49 30 {n},U{n:06d},2025-02-01,,59.00,{balance}\n"
            )
    with path.open("rb") as stored:
        tenant_import = services.tenant_import_upload(
            staff=owner,
            location=location,
            upload=File(stored, name=path.name),  # type: ignore[arg-type]
            upload_name=path.name,
            upload_size=path.stat().st_size,
        )
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    checking.tenant_import_check_run(import_id=tenant_import.pk)
    checked = time.perf_counter()
    tenant_import.refresh_from_db()
    assert tenant_import.status == ImportStatus.CHECKED and tenant_import.rows_total == rows, (
        tenant_import.problem
    )
    services.tenant_import_start(staff=owner, tenant_import=tenant_import)
    services.tenant_import_run(import_id=tenant_import.pk)
    imported = time.perf_counter()
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    done = tenant_import.rows.filter(outcome=RowOutcome.IMPORTED).count()
    assert done == rows, f"{done} of {rows} lines imported"
    return {
        "check": checked - started,
        "import": imported - checked,
        "peak": peak,
        "import_id": tenant_import.pk,
    }


def _location(units: int) -> Any:
    """A location with `units` free units behind a gate, written in bulk (setup, no services)."""
    from decimal import Decimal

    from django.db import transaction

    from keyport.facilities.models import AccessPoint, Location, Unit, UnitAccessPoint, UnitKind, UnitType

    with transaction.atomic():
        location = Location.objects.create(
            name=f"Bench import {time.time_ns()}",
            street="Benchstraße 1",
            postal_code="10115",
            city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
        )
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
                for i in range(units)
            ],
            batch_size=5000,
        )
        UnitAccessPoint.objects.bulk_create(
            [
                UnitAccessPoint(unit_id=unit_id, access_point=gate)
                for unit_id in Unit.objects.filter(location=location).values_list("pk", flat=True).iterator()
            ],
            batch_size=5000,
        )
    return location


if __name__ == "__main__":
    main()
