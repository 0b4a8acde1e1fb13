"""Every benchmark, each against its baseline in the same run, ending in one table.

    make bench                                   # .venv/bin/python bench/run_all.py: SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/keyport_bench make bench   # SQLite, then PostgreSQL
    .venv/bin/python bench/run_all.py --full     # the scale of the recorded figures (docs/benchmarks.md)
    .venv/bin/python bench/run_all.py --only access_check,contacts_list --markdown /tmp/table.md

Each benchmark runs in a process of its own (each sets up Django on a database of its own: a fresh
SQLite file in a temporary directory, or on PostgreSQL a database named after the one in
DATABASE_URL with the benchmark's name added, dropped and created again) and hands back its
figures from its `measure` function; nothing is read back from what it prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import sqlite3
import sys
import tempfile
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from figures import Figure, table

# What each benchmark is asked at each scale. "quick" is `make bench` (under 10 minutes on a
# 2-core machine, with PostgreSQL too); "full" the recorded figures; "tiny" the test that keeps
# the runner working (tests/test_bench.py).
SCALES: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {
        "access_check": {
            "units": 200,
            "calls": 60,
            "threads": 2,
            "seconds": 0.3,
            "rounds": 2,
            "gunicorn_workers": 1,
        },
        "contacts_list": {"customers": 60, "rounds": 1, "requests": 1, "deep_page": 2},
        "front_desk_lists": {"units": 40, "bookings": 300, "rounds": 1, "requests": 1, "deep_page": 2},
        "revoke": {"rounds": 1, "sensorberg_rounds": 1},
        "event_inserts": {"units": 50, "processes": 1, "seconds": 0.2, "rounds": 1},
        "move_in": {"units": 100, "tries": 4},
        "receivables": {"customers": 30, "rounds": 1, "requests": 1},
        "billing_run": {"sizes": [100, 300]},
        "tenant_import": {"rows": 40, "small_rows": 20, "requests": 5},
    },
    "quick": {
        "access_check": {
            "units": 5_000,
            "calls": 600,
            "threads": 4,
            "seconds": 2,
            "rounds": 3,
            "gunicorn_workers": 5,
        },
        "contacts_list": {"customers": 20_000, "rounds": 3, "requests": 3, "deep_page": 400},
        "front_desk_lists": {
            "units": 5_000,
            "bookings": 50_000,
            "rounds": 3,
            "requests": 3,
            "deep_page": 400,
        },
        "revoke": {"rounds": 3, "sensorberg_rounds": 10},
        "event_inserts": {"units": 2000, "processes": 5, "seconds": 1, "rounds": 3},
        "move_in": {"units": 5_000, "tries": 50},
        "receivables": {"customers": 10_000, "rounds": 3, "requests": 3},
        "billing_run": {"sizes": [1_000, 10_000]},
        "tenant_import": {"rows": 2_000, "small_rows": 1_200, "requests": 30},
    },
    "full": {
        "access_check": {
            "units": 50_000,
            "calls": 2000,
            "threads": 4,
            "seconds": 10,
            "rounds": 3,
            "gunicorn_workers": 5,
        },
        "contacts_list": {"customers": 100_000, "rounds": 3, "requests": 7, "deep_page": 1000},
        "front_desk_lists": {
            "units": 50_000,
            "bookings": 500_000,
            "rounds": 3,
            "requests": 7,
            "deep_page": 1000,
        },
        "revoke": {"rounds": 5, "sensorberg_rounds": 30},
        "event_inserts": {"units": 2000, "processes": 5, "seconds": 5, "rounds": 3},
        "move_in": {"units": 50_000, "tries": 200},
        "receivables": {"customers": 50_000, "rounds": 3, "requests": 5},
        "billing_run": {"sizes": [10_000, 100_000]},
        "tenant_import": {"rows": 100_000, "small_rows": 10_000, "requests": 100},
    },
}
BENCHES = tuple(SCALES["quick"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--full", dest="scale", action="store_const", const="full", help="the recorded scale")
    scale.add_argument(
        "--tiny", dest="scale", action="store_const", const="tiny", help="seconds: for the test"
    )
    parser.add_argument("--only", default=",".join(BENCHES), help=f"a comma-separated subset of {BENCHES}")
    parser.add_argument("--markdown", type=Path, help="also write the heading and table to this file")
    parser.set_defaults(scale="quick")
    options = parser.parse_args(argv)
    only = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = set(only) - set(BENCHES)
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}; there are {', '.join(BENCHES)}")

    started = time.monotonic()
    postgres = os.environ.get("DATABASE_URL", "")
    databases = ["sqlite", *(["postgresql"] if postgres else [])]
    figures: list[Figure] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="keyport-bench-") as scratch:
        # SQLite: one database migrated once, copied for each benchmark.
        _migrated_sqlite(Path(scratch) / "migrated.sqlite3")
        for database in databases:
            for name in only:
                print(f"== {name} on {database} ({options.scale})", flush=True)
                env = _database_env(database, name, postgres, Path(scratch))
                bench_started = time.monotonic()
                found, failure = _run_in_own_process(name, SCALES[options.scale][name], env)
                print(f"   {name} on {database}: {time.monotonic() - bench_started:.0f} s", flush=True)
                for figure in found:
                    figure.database = database
                figures += found
                if failure:
                    failures.append(f"{name} on {database}:\n{failure}")
    heading = _heading(options.scale, argv, postgres, time.monotonic() - started)
    report = f"{heading}\n\n{table(figures)}\n"
    print("\n" + report)
    if options.markdown:
        options.markdown.write_text(report)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _database_env(database: str, bench: str, postgres: str, scratch: Path) -> dict[str, str]:
    """The environment a benchmark's process sets before Django: its own database."""
    if database == "sqlite":
        return {
            "BENCH_SQLITE_PATH": str(scratch / f"{bench}.sqlite3"),
            "BENCH_SQLITE_TEMPLATE": str(scratch / "migrated.sqlite3"),
            "DATABASE_URL": "",
        }
    url = urlsplit(postgres)
    name = f"{url.path.lstrip('/') or 'keyport'}_{bench}"
    _create_empty_database(postgres, name)
    return {"DATABASE_URL": urlunsplit(url._replace(path=f"/{name}"))}


def _migrated_sqlite(path: Path) -> Path:
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_migrate, args=(str(path),))
    process.start()
    process.join()
    if process.exitcode:
        raise SystemExit("migrating the benchmarks' SQLite database failed")
    return path


def _migrate(path: str) -> None:
    os.environ["BENCH_SQLITE_PATH"] = path
    os.environ.pop("DATABASE_URL", None)
    from setup_django import configure

    configure(fresh=True)


def _create_empty_database(url: str, name: str) -> None:
    """Made from the server's maintenance database, so that the one named in the URL need not exist."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(_maintenance(url), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _run_in_own_process(name: str, kwargs: dict[str, Any], env: dict[str, str]) -> tuple[list[Figure], str]:
    """The benchmark's figures, measured in a new process (not a pool's: benchmarks start their own)."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_measure, args=(name, kwargs, env, sending))
    process.start()
    sending.close()
    try:
        answer = receiving.recv()
    except EOFError:
        answer = {"error": f"its process ended with exit code {process.join() or process.exitcode}"}
    process.join()
    if "error" in answer:
        return [], answer["error"]
    return [Figure(**figure) for figure in answer["figures"]], ""


def _measure(name: str, kwargs: dict[str, Any], env: dict[str, str], answer: Connection) -> None:
    for variable, value in env.items():
        if value:
            os.environ[variable] = value
        else:
            os.environ.pop(variable, None)
    try:
        module = __import__(name)
        figures = module.measure(**kwargs)
        answer.send({"figures": [figure.as_dict() for figure in figures]})
    except BaseException:
        answer.send({"error": traceback.format_exc()})
        raise
    finally:
        answer.close()


def _heading(scale: str, argv: list[str] | None, postgres: str, seconds: float) -> str:
    command = " ".join(["bench/run_all.py", *(sys.argv[1:] if argv is None else argv)])
    if postgres:
        command = f"DATABASE_URL={postgres} {command}"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    versions = f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    if postgres:
        versions += f", PostgreSQL {_postgres_version(postgres)}"
    when = f"{dt.datetime.now().astimezone():%d %b %Y %H:%M %Z}"
    return (
        f"{when}, `{command}` ({scale} scale, {seconds / 60:.1f} min); "
        f"{os.cpu_count()} cores, load average at the end {load}; {versions}"
    )


def _postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(_maintenance(url)) as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]


def _maintenance(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


if __name__ == "__main__":
    sys.exit(main())
