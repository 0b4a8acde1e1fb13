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

from setup_django import ROOT, alternating_slices, build_grants, configure, percentile, skip_event_writes

if TYPE_CHECKING:
    from keyport.access.doors import Door

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
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
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
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"  # both servers: the no-op view added
    if options.sqlite_pragmas:
        os.environ["BENCH_SQLITE_PRAGMAS"] = options.sqlite_pragmas  # gunicorn's workers inherit it
        print(f"what-if run: every SQLite connection also sets {options.sqlite_pragmas}")
    configure(fresh=True)
    if options.without_event_write:
        skip_event_writes()
        print("what-if run: access events are NOT written")
    from django.core.wsgi import get_wsgi_application

    from keyport.access.doors import Door
    from keyport.access.models import AccessGrant
    from keyport.access.services import device_access_decide, device_key_issue
    from keyport.audit.services import Actor

    data = build_grants(units=options.units)
    gate, pins = data["gate"], data["pins"]
    door = Door.of(gate)  # type: ignore[arg-type]
    print(
        f"data: {AccessGrant.objects.count():,} grants over {options.units:,} units, built in {data['seconds']:.1f} s"  # noqa: E501
    )
    rng = random.Random(7)  # noqa: S311
    key = device_key_issue(actor=Actor.system("bench"), access_point=gate)  # type: ignore[arg-type]

    timings = []
    for _ in range(options.calls):
        pin = rng.choice(pins)  # type: ignore[arg-type]
        started = time.perf_counter()
        decision = device_access_decide(key=key, access_point_ref="GATE", pin=pin)
        timings.append(time.perf_counter() - started)
        assert decision.allowed, decision
    print(
        f"in process (the device's check, key to event): p50 {percentile(timings, 0.5) * 1000:.2f} ms, "
        f"p99 {percentile(timings, 0.99) * 1000:.2f} ms ({options.calls} checks)"
    )

    _parts_of_a_check(door, key, pins, options.calls)  # type: ignore[arg-type]
    _cpu_of_a_check(key, pins, options.calls)  # type: ignore[arg-type]
    application = get_wsgi_application()
    _per_request_without_network(application, key, pins, options.calls)  # type: ignore[arg-type]
    server = make_server("127.0.0.1", 0, application, server_class=_PoolServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    for path in PATHS:
        latencies = []
        for _ in range(300):
            started = time.perf_counter()
            _ask(port, key, path, rng.choice(pins))  # type: ignore[arg-type]
            latencies.append(time.perf_counter() - started)
        print(
            f"HTTP {path}: p50 {percentile(latencies, 0.5) * 1000:.2f} ms, p99 {percentile(latencies, 0.99) * 1000:.2f} ms (one client)"  # noqa: E501
        )

    with ThreadPoolExecutor(options.threads) as clients:
        totals = alternating_slices(
            options.seconds,
            PATHS,
            lambda path, seconds, first_seed: sum(
                clients.map(
                    lambda job: _ask_for(*job),
                    _client_jobs(port, key, path, pins, seconds, first_seed, options.threads),  # type: ignore[arg-type]
                )
            ),
        )
    print(_throughput_line(f"{options.threads} client threads", totals, options.seconds))
    server.shutdown()
    if options.gunicorn_workers:
        _throughput_on_gunicorn(
            options.gunicorn_workers,
            key,  # type: ignore[arg-type]
            pins,  # type: ignore[arg-type]
            options.threads,
            options.seconds,
            without_event_write=options.without_event_write,
        )


def _mean_microseconds(action: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - started) / calls * 1e6


def _parts_of_a_check(door: Door, key: str, pins: list[str], calls: int) -> None:
    """What each statement of a check costs on its own, in process (mean of `calls`), and the read
    again right after another connection's insert, as in a server of several processes."""
    from django.db import connections
    from django.utils import timezone

    from keyport.access.doors import access_event_record, door_for_device_key
    from keyport.access.services import _key_hash

    rng = random.Random(11)  # noqa: S311
    now = timezone.now()
    key_hash = _key_hash(key)

    def read() -> object:
        return door_for_device_key(key_hash, pin=rng.choice(pins), when=now)

    def insert() -> None:
        access_event_record(door, channel="device", allowed=True, reason="ok", when=now)

    parts = {"door with the PIN's holder and grants": read, "event insert": insert}
    print(
        "parts of one check, in process: "
        + ", ".join(f"{name} {_mean_microseconds(part, calls):.0f} µs" for name, part in parts.items())
    )
    with ThreadPoolExecutor(1) as other:  # a thread of its own has a database connection of its own
        reads = 0.0
        for _ in range(calls):
            other.submit(insert).result()
            started = time.perf_counter()
            read()
            reads += time.perf_counter() - started
        other.submit(connections.close_all).result()
    print(f"the same read right after another connection's event insert: {reads / calls * 1e6:.0f} µs")


def _cpu_of_a_check(key: str, pins: list[str], calls: int) -> None:
    """On PostgreSQL: the least a statement costs (a prepared `SELECT 1` there and back), and the
    processor time a check costs this process and its database backend.

    The backend's is read from /proc, so only when the database server runs on this machine.
    """
    from django.db import connection

    from keyport.access.doors import _run
    from keyport.access.services import device_access_decide

    if connection.vendor != "postgresql":
        return
    round_trip = _mean_microseconds(lambda: _run(connection, "SELECT 1", [], fetch=True), calls)
    print(f"one round trip to the database server (a prepared SELECT 1): {round_trip:.0f} µs")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    if not backend.exists():
        print("processor time of a check: the database server is not on this machine")
        return

    def backend_seconds() -> float:
        fields = backend.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    rng = random.Random(17)  # noqa: S311
    ours, theirs = time.process_time(), backend_seconds()
    for _ in range(calls):
        device_access_decide(key=key, access_point_ref="GATE", pin=rng.choice(pins))
    ours, theirs = time.process_time() - ours, backend_seconds() - theirs
    print(
        f"processor time of a check ({calls} checks): this process {ours / calls * 1e6:.0f} µs, "
        f"its database backend {theirs / calls * 1e6:.0f} µs"
    )


def _per_request_without_network(
    application: Callable[..., Any], key: str, pins: list[str], calls: int
) -> None:
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
    print(
        f"WSGI handler without network ({calls} requests each): no-op view {costs['/noop']:.0f} µs, "
        f"access check {costs['/api/v1/access/check']:.0f} µs a request"
    )


def _throughput_on_gunicorn(
    workers: int, key: str, pins: list[str], clients: int, seconds: float, *, without_event_write: bool
) -> None:
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
            totals = alternating_slices(
                seconds,
                PATHS,
                lambda path, slice_seconds, first_seed: sum(
                    pool.starmap(
                        _ask_for, _client_jobs(port, key, path, pins, slice_seconds, first_seed, clients)
                    )
                ),
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        _throughput_line(f"on gunicorn, {workers} sync workers; {clients} client processes", totals, seconds)
    )


def _client_jobs(
    port: int, key: str, path: str, pins: list[str], seconds: float, first_seed: int, clients: int
) -> list[tuple[int, str, str, list[str], float, int]]:
    return [(port, key, path, pins, seconds, first_seed + n) for n in range(clients)]


def _throughput_line(how: str, totals: dict[str, int], seconds: float) -> str:
    noop, check = totals["/noop"], totals["/api/v1/access/check"]
    return (
        f"throughput ({how}, {seconds:.0f} s each in {max(1, round(seconds))} alternating slices): "
        f"no-op view {noop / seconds:.0f}/s, access check {check / seconds:.0f}/s, "
        f"ratio {check / noop:.2f} (goal ≥ 0.70)"
    )


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
