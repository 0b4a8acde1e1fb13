"""Access check latency (in process, over HTTP) and throughput against a no-op view, same server, same run.

.venv/bin/python bench/access_check.py            # fresh SQLite file under /tmp
DATABASE_URL=postgres://... .venv/bin/python bench/access_check.py
.venv/bin/python bench/access_check.py --without-event-write   # what-if: events not written at all

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
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from setup_django import ROOT, build_grants, configure, percentile

if TYPE_CHECKING:
    from keyport.access.doors import Door


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
    options = parser.parse_args()
    configure(fresh=True)
    if options.without_event_write:
        import keyport.access.services

        keyport.access.services.access_event_record = lambda *args, **kwargs: None  # type: ignore[assignment]
        print("what-if run: access events are NOT written")
    from django.conf import settings
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
    settings.ROOT_URLCONF = "bench_urls"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    from django.db import connections

    # Persistent connections, as behind a real server or pool (the handler's copy is what counts).
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None
    connections.settings["default"]["CONN_MAX_AGE"] = None
    application = get_wsgi_application()
    _per_request_without_network(application, key, pins, options.calls)  # type: ignore[arg-type]
    server = make_server("127.0.0.1", 0, application, server_class=_PoolServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def request(path: str, pin: str) -> None:
        body = json.dumps({"access_point": "GATE", "pin": pin}).encode()
        call = urllib.request.Request(  # noqa: S310
            base + path,
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(call, timeout=30) as response:  # noqa: S310
            answer = json.loads(response.read())
        assert path == "/noop" or answer["allowed"], answer

    for path in ("/noop", "/api/v1/access/check"):
        latencies = []
        for _ in range(300):
            started = time.perf_counter()
            request(path, rng.choice(pins))  # type: ignore[arg-type]
            latencies.append(time.perf_counter() - started)
        print(
            f"HTTP {path}: p50 {percentile(latencies, 0.5) * 1000:.2f} ms, p99 {percentile(latencies, 0.99) * 1000:.2f} ms (one client)"  # noqa: E501
        )

    def throughput(path: str, seconds: float) -> int:
        """Checks answered by `options.threads` clients asking one after another for `seconds`."""
        done = [0] * options.threads
        stop = time.perf_counter() + seconds

        def client(index: int) -> None:
            local = random.Random(index)  # noqa: S311
            while time.perf_counter() < stop:
                request(path, local.choice(pins))  # type: ignore[arg-type]
                done[index] += 1

        workers = [threading.Thread(target=client, args=(i,)) for i in range(options.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(done)

    # Alternate one-second slices of each, so that a busy moment of the machine weighs on both.
    slices = max(1, round(options.seconds))
    noop = check = 0
    for _ in range(slices):
        noop += throughput("/noop", options.seconds / slices)
        check += throughput("/api/v1/access/check", options.seconds / slices)
    print(
        f"throughput ({options.threads} clients, {options.seconds:.0f} s each "
        f"in {slices} alternating slices): "
        f"no-op view {noop / options.seconds:.0f}/s, access check {check / options.seconds:.0f}/s, "
        f"ratio {check / noop:.2f} (goal ≥ 0.70)"
    )
    server.shutdown()
    if options.without_event_write:
        print("gunicorn run skipped: the what-if patches this process only")
    elif options.gunicorn_workers:
        _throughput_on_gunicorn(options.gunicorn_workers, key, pins, options.threads, options.seconds)  # type: ignore[arg-type]


def _mean_microseconds(action: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - started) / calls * 1e6


def _parts_of_a_check(door: Door, key: str, pins: list[str], calls: int) -> None:
    """What each statement of a check costs on its own, in process (mean of `calls`)."""
    import hashlib

    from django.utils import timezone

    from keyport.access.doors import access_event_record, door_for_device_key

    rng = random.Random(11)  # noqa: S311
    now = timezone.now()
    key_hash = hashlib.sha256(key.encode()).hexdigest()  # as the device key is kept
    parts = {
        "door with the PIN's holder and grants": lambda: door_for_device_key(
            key_hash, pin=rng.choice(pins), when=now
        ),
        "event insert": lambda: access_event_record(
            door, channel="device", allowed=True, reason="ok", when=now
        ),
    }
    print(
        "parts of one check, in process: "
        + ", ".join(f"{name} {_mean_microseconds(part, calls):.0f} µs" for name, part in parts.items())
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

    paths = ("/noop", "/api/v1/access/check")
    for path in paths:  # warm-up: the first requests load the URLs and middleware
        _mean_microseconds(lambda path=path: call(path), 100)
    costs = {path: _mean_microseconds(lambda path=path: call(path), calls) for path in paths}
    print(
        f"WSGI handler without network ({calls} requests each): no-op view {costs['/noop']:.0f} µs, "
        f"access check {costs['/api/v1/access/check']:.0f} µs a request"
    )


def _throughput_on_gunicorn(workers: int, key: str, pins: list[str], clients: int, seconds: float) -> None:
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
    }
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "keyport.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_for_port(port)
        slices = max(1, round(seconds))
        totals = {"/noop": 0, "/api/v1/access/check": 0}
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            for index in range(slices):
                for path in totals:
                    jobs = [
                        (port, key, path, pins, seconds / slices, index * clients + n) for n in range(clients)
                    ]
                    totals[path] += sum(pool.starmap(_ask_for, jobs))
    finally:
        server.terminate()
        server.wait(timeout=30)
    noop, check = totals["/noop"], totals["/api/v1/access/check"]
    print(
        f"throughput on gunicorn ({workers} sync workers; {clients} client processes, {seconds:.0f} s each "
        f"in {slices} alternating slices): no-op view {noop / seconds:.0f}/s, "
        f"access check {check / seconds:.0f}/s, ratio {check / noop:.2f} (goal ≥ 0.70)"
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
    """One client process: asks one request after another for `seconds`; returns how many."""
    rng = random.Random(seed)  # noqa: S311
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    done, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        body = json.dumps({"access_point": "GATE", "pin": rng.choice(pins)})
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", path, body=body, headers=headers)
        answer = json.loads(connection.getresponse().read())
        connection.close()
        assert path == "/noop" or answer["allowed"], answer
        done += 1
    return done


if __name__ == "__main__":
    main()
