"""Access check latency (in process, over HTTP) and throughput against a no-op view, same server, same run.

.venv/bin/python bench/access_check.py            # fresh SQLite file under /tmp
DATABASE_URL=postgres://... .venv/bin/python bench/access_check.py
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from setup_django import build_grants, configure, percentile


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
    options = parser.parse_args()
    configure(fresh=True)
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    from keyport.access.doors import Door
    from keyport.access.models import AccessGrant
    from keyport.access.services import access_decide, device_key_issue
    from keyport.audit.services import Actor

    data = build_grants(units=options.units)
    gate, pins = data["gate"], data["pins"]
    door = Door.of(gate)  # type: ignore[arg-type]
    print(
        f"data: {AccessGrant.objects.count():,} grants over {options.units:,} units, built in {data['seconds']:.1f} s"  # noqa: E501
    )
    rng = random.Random(7)  # noqa: S311

    timings = []
    for _ in range(options.calls):
        pin = rng.choice(pins)  # type: ignore[arg-type]
        started = time.perf_counter()
        decision = access_decide(door=door, pin=pin, channel="device")
        timings.append(time.perf_counter() - started)
        assert decision.allowed, decision
    print(
        f"in process: p50 {percentile(timings, 0.5) * 1000:.2f} ms, p99 {percentile(timings, 0.99) * 1000:.2f} ms ({options.calls} checks)"  # noqa: E501
    )

    key = device_key_issue(actor=Actor.system("bench"), access_point=gate)  # type: ignore[arg-type]
    settings.ROOT_URLCONF = "bench_urls"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    from django.db import connections

    # Persistent connections, as behind a real server or pool (the handler's copy is what counts).
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None
    connections.settings["default"]["CONN_MAX_AGE"] = None
    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), server_class=_PoolServer, handler_class=_Quiet
    )
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


if __name__ == "__main__":
    main()
