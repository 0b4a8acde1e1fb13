"""`make bench` keeps working: the runner at its tiny scale, on SQLite, ends with its table."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_make_bench_runs_every_benchmark_and_ends_with_one_table(tmp_path):
    table = tmp_path / "table.md"
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    run = subprocess.run(  # noqa: S603
        [sys.executable, "bench/run_all.py", "--tiny", "--markdown", str(table)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [line for line in table.read_text().splitlines() if line.startswith("| ")][1:]
    figures = {row.split(" | ")[0].removeprefix("| ") for row in rows}
    for expected in (
        "door check in process, p99 of 60 checks",
        "door check / no-op view, threaded server (2 client threads)",
        "door check / no-op view, gunicorn (1 sync workers)",
        "All Contacts / Django admin: sort by email (goal ≤ 0.50 at 100,000 customers)",
        "Customer Report: peak memory at the end / after the first tenth",
        "Rentals / Django admin: deep page 2 (goal ≤ 0.50 at 500,000 bookings)",
        "Revoke access → the fake Sensorberg shows it (worker running)",
        "event inserts: without the constraints / with them",
        "Move in of 3 units, server time (test client)",
        "Receivables / invoice list (open, 200 newest)",
        "Billing run: 300 bookings, an invoice each",
        "Billing run again the same day: 300 bookings, nothing issued",
        "Billing run: peak memory at 300 / at 100 bookings",
        "Import tenants: progress bar's status request",
    ):
        assert expected in figures, sorted(figures)
    assert all(row.split(" | ")[1] == "sqlite" for row in rows)
    assert all(row.rstrip(" |").rsplit(" | ", 1)[1] in ("yes", "no", "median only", "—") for row in rows)
