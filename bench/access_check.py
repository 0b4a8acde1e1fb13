"""Access check latency (in process, over HTTP) and throughput against a no-op view, same server, same run.

.venv/bin/python bench/access_check.py            # fresh SQLite file under /tmp
DATABASE_URL=postgres://... .venv/bin/python bench/access_check.py
.venv/bin/python bench/access_check.py --without-event-write   # what-if: events not written at all
.venv/bin/python bench/access_check.py --sqlite-pragmas synchronous=OFF,wal_autocheckpoint=0   # what-if

Throughput is measured twice: on a threaded WSGI server inside this process, with client threads
beside it, and on gunicorn (the production server) in processes of its own, with client processes.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from figures import Figure, table
from setup_django import ROOT, alternating_slices, build_grants, configure, percentile, skip_event_writes

if TYPE_CHECKING:
    from keyport.access.services.doors import Door

PATHS = ("/noop", "/api/v1/access/check")


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _PoolServer(WSGIServer):
    """A fixed pool of threads, so each keeps its database connection as a production server would."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.pool = ThreadPoolExecutor(max_workers=8)

    def process_request(self, request: object, client_address: object) -> None:  # type: ignore[override]
        self.pool.submit(self._work, request, client_address)

    def _work(self, request: object, client_address: object) -> None:
        try:
            self.finish_request(request, client_address)  # type: ignore[arg-type]
        except Exception:
            self.handle_error(request, client_address)  # type: ignore[arg-type]
        finally:
            self.shutdown_request(request)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=2000, help="checks in process, each round")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0, help="of each path, each round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--gunicorn-workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn's own advice, two per core and one more, by default; 0 skips the gunicorn run",
    )
    parser.add_argument(
        "--without-event-write",
        action="store_true",
        help="skip the access event insert: the most that writing events in batches could gain",
    )
    parser.add_argument(
        "--sqlite-pragmas",
        default="",
        help="what-if: pragmas added to every SQLite connection of both servers, e.g. synchronous=OFF",
    )
    options = parser.parse_args()
    figures = measure(**vars(options))
    print(table(figures))


def measure(
    *,
    units: int,
    calls: int,
    threads: int,
    seconds: float,
    rounds: int,
    gunicorn_workers: int,
    without_event_write: bool = False,
    sqlite_pragmas: str = "",
) -> list[Figure]:
    """The door check's figures, each against its baseline in the same run (see docs/benchmarks.md)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"  # both servers: the no-op view added
    if sqlite_pragmas:
        os.environ["BENCH_SQLITE_PRAGMAS"] = sqlite_pragmas  # gunicorn's workers inherit it
        print(f"what-if run: every SQLite connection also sets {sqlite_pragmas}")
    configure(fresh=True)
    if without_event_write:
        skip_event_writes()
        print("what-if run: access events are NOT written")
    from django.core.wsgi import get_wsgi_application

    from keyport.access.services import device_key_issue
    from keyport.access.services.doors import Door
    from keyport.audit.services import Actor

    data = build_grants(units=units)
    gate, pins = data["gate"], data["pins"]
    door = Door.of(gate)  # type: ignore[arg-type]
    key = device_key_issue(actor=Actor.system("bench"), access_point=gate)  # type: ignore[arg-type]
    figures = [Figure("door check: data built (grants over units)", "s", [data["seconds"]])]  # type: ignore[list-item]
    figures += _in_process(key, pins, calls, rounds)  # type: ignore[arg-type]
    figures += _parts_of_a_check(door, key, pins, calls)  # type: ignore[arg-type]
    figures += _cpu_of_a_check(key, pins, calls)  # type: ignore[arg-type]
    application = get_wsgi_application()
    figures += _per_request_without_network(application, key, pins, calls)  # type: ignore[arg-type]
    server = make_server("127.0.0.1", 0, application, server_class=_PoolServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    rng = random.Random(7)  # noqa: S311
    for path in PATHS:
        latencies = []
        for _ in range(max(20, calls // 7)):
            started = time.perf_counter()
            _ask(port, key, path, rng.choice(pins))  # type: ignore[arg-type]
            latencies.append((time.perf_counter() - started) * 1000)
        figures.append(Figure(f"HTTP {_NAMES[path]}, one client", "ms", latencies, statistic="p99"))
    with ThreadPoolExecutor(threads) as clients:
        ratios = [
            _ratio(
                alternating_slices(
                    seconds,
                    PATHS,
                    lambda path, slice_seconds, first_seed: sum(
                        clients.map(
                            lambda job: _ask_for(*job),
                            _client_jobs(port, key, path, pins, slice_seconds, first_seed, threads),  # type: ignore[arg-type]
                        )
                    ),
                )
            )
            for _ in range(rounds)
        ]
    server.shutdown()
    server.server_close()
    figures.append(
        Figure(
            f"door check / no-op view, threaded server ({threads} client threads)", "×", ratios, at_least=0.70
        )
    )
    if gunicorn_workers:
        ratios = _throughput_on_gunicorn(
            gunicorn_workers,
            key,  # type: ignore[arg-type]
            pins,  # type: ignore[arg-type]
            threads,
            seconds,
            rounds,
            without_event_write=without_event_write,
        )
        figures.append(
            Figure(
                f"door check / no-op view, gunicorn ({gunicorn_workers} sync workers)",
                "×",
                ratios,
                at_least=0.70,
            )
        )
    return figures


_NAMES = {"/noop": "no-op view", "/api/v1/access/check": "door check"}


def _in_process(key: str, pins: list[str], calls: int, rounds: int) -> list[Figure]:
    """The device's whole check (key, read, decision, event, the check noted on the key) in process:
    p50 and p99 of each round."""
    from django.utils import timezone

    from keyport.access.services import device_access_decide, device_check_record

    rng = random.Random(7)  # noqa: S311
    p50s, p99s = [], []
    for _ in range(rounds):
        timings = []
        for _ in range(calls):
            pin = rng.choice(pins)
            started = time.perf_counter()
            decision = device_access_decide(key=key, access_point_ref="GATE", pin=pin)
            device_check_record(key=key, result=decision.reason, when=timezone.now())
            timings.append((time.perf_counter() - started) * 1000)
            assert decision.allowed, decision
        p50s.append(percentile(timings, 0.5))
        p99s.append(percentile(timings, 0.99))
    return [
        Figure(f"door check in process, p50 of {calls} checks", "ms", p50s),
        Figure(f"door check in process, p99 of {calls} checks", "ms", p99s, at_most=1.5),
    ]


def _ratio(totals: dict[str, int]) -> float:
    return totals["/api/v1/access/check"] / max(1, totals["/noop"])


def _mean_microseconds(action: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - started) / calls * 1e6


def _parts_of_a_check(door: Door, key: str, pins: list[str], calls: int) -> list[Figure]:
    """What each statement of a check costs on its own, in process (mean of `calls`), and the read
    again right after another connection's insert, as in a server of several processes."""
    from django.db import connections
    from django.utils import timezone

    from keyport.access.services.doors import access_event_record, door_for_device_key
    from keyport.lib.tokens import token_hash

    rng = random.Random(11)  # noqa: S311
    now = timezone.now()
    key_hash = token_hash(key)

    def read() -> object:
        return door_for_device_key(key_hash, pin=rng.choice(pins), when=now)

    def insert() -> None:
        access_event_record(door, channel="device", allowed=True, reason="ok", when=now)

    figures = [
        Figure(
            "door check part: the read (door, PIN's holder, grants), mean",
            "µs",
            [_mean_microseconds(read, calls)],
        ),
        Figure(
            "door check part: the event insert and its commit, mean",
            "µs",
            [_mean_microseconds(insert, calls)],
        ),
    ]
    with ThreadPoolExecutor(1) as other:  # a thread of its own has a database connection of its own
        reads = 0.0
        for _ in range(calls):
            other.submit(insert).result()
            started = time.perf_counter()
            read()
            reads += time.perf_counter() - started
        other.submit(connections.close_all).result()
    figures.append(
        Figure(
            "door check part: the read right after another connection's insert", "µs", [reads / calls * 1e6]
        )
    )
    return figures


def _cpu_of_a_check(key: str, pins: list[str], calls: int) -> list[Figure]:
    """On PostgreSQL: the least a statement costs (a prepared `SELECT 1` there and back), and the
    processor time a check costs this process and its database backend.

    The backend's is read from /proc, so only when the database server runs on this machine.
    """
    from django.db import connection

    from keyport.access.services import device_access_decide
    from keyport.access.services.doors import _run

    if connection.vendor != "postgresql":
        return []
    round_trip = _mean_microseconds(lambda: _run(connection, "SELECT 1", [], fetch=True), calls)
    figures = [Figure("one round trip to the database server (a prepared SELECT 1)", "µs", [round_trip])]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    if not backend.exists():
        return figures  # the database server is not on this machine

    def backend_seconds() -> float:
        fields = backend.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    rng = random.Random(17)  # noqa: S311
    ours, theirs = time.process_time(), backend_seconds()
    for _ in range(calls):
        device_access_decide(key=key, access_point_ref="GATE", pin=rng.choice(pins))
    ours, theirs = time.process_time() - ours, backend_seconds() - theirs
    return [
        *figures,
        Figure("processor time of a check: this process", "µs", [ours / calls * 1e6]),
        Figure("processor time of a check: its database backend", "µs", [theirs / calls * 1e6]),
    ]


def _per_request_without_network(
    application: Callable[..., Any], key: str, pins: list[str], calls: int
) -> list[Figure]:
    """The server's own cost of a request: the WSGI handler called directly, one request at a time."""
    rng = random.Random(13)  # noqa: S311

    def call(path: str) -> None:
        body = json.dumps({"access_point": "GATE", "pin": rng.choice(pins)}).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {key}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
        }
        response = application(environ, lambda status, headers: None)
        b"".join(response)
        response.close()

    for path in PATHS:  # warm-up: the first requests load the URLs and middleware
        _mean_microseconds(lambda path=path: call(path), 100)
    costs = {path: _mean_microseconds(lambda path=path: call(path), calls) for path in PATHS}
    return [
        Figure(f"WSGI handler without network: {_NAMES[path]}, mean", "µs", [cost])
        for path, cost in costs.items()
    ]


def _throughput_on_gunicorn(
    workers: int,
    key: str,
    pins: list[str],
    clients: int,
    seconds: float,
    rounds: int,
    *,
    without_event_write: bool,
) -> list[float]:
    """The same alternating slices against gunicorn's sync workers, asked by client processes."""
    from django.db import connections

    connections.close_all()  # the server's processes open their own
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        **({"BENCH_WITHOUT_EVENT_WRITE": "1"} if without_event_write else {}),
    }
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "bench_wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_for_port(port)
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            for path in PATHS:  # warm-up, not counted: each worker builds its URLs and middleware
                pool.starmap(_ask_for, _client_jobs(port, key, path, pins, 1.0, 0, clients))
            return [
                _ratio(
                    alternating_slices(
                        seconds,
                        PATHS,
                        lambda path, slice_seconds, first_seed: sum(
                            pool.starmap(
                                _ask_for,
                                _client_jobs(port, key, path, pins, slice_seconds, first_seed, clients),
                            )
                        ),
                    )
                )
                for _ in range(rounds)
            ]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _client_jobs(
    port: int, key: str, path: str, pins: list[str], seconds: float, first_seed: int, clients: int
) -> list[tuple[int, str, str, list[str], float, int]]:
    return [(port, key, path, pins, seconds, first_seed + n) for n in range(clients)]


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start listening within 30 s")


def _ask_for(port: int, key: str, path: str, pins: list[str], seconds: float, seed: int) -> int:
    """One client: asks one request after another for `seconds`; returns how many."""
    rng = random.Random(seed)  # noqa: S311
    done, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        _ask(port, key, path, rng.choice(pins))
        done += 1
    return done


def _ask(port: int, key: str, path: str, pin: str) -> None:
    """One request, on a connection of its own as a door makes it; the check must allow the PIN."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body=json.dumps({"access_point": "GATE", "pin": pin}), headers=headers)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    assert path == "/noop" or answer["allowed"], answer


if __name__ == "__main__":
    main()
