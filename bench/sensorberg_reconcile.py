"""Reconcile of a 5,000-unit Sensorberg location against the fake with 5 ms latency per call:
the time it takes and the TCP connections it opens (counted by the fake as it accepts them).

    .venv/bin/python bench/sensorberg_reconcile.py [--units 5000] [--latency 0.005]

Every unit has one grant, and the fake already holds each membership as Keyport would push it:
the steady state, in which reconcile only reads. The first pass looks up every unit's access
group by its External Identifier and reads its memberships (two calls a unit); the second has the
group ids cached (one call a unit).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-sensorberg.sqlite3")  # noqa: S108
os.environ.setdefault("SENSORBERG_ALLOW_PRIVATE_HOSTS", "true")  # the fake listens on 127.0.0.1

from setup_django import ROOT, build_grants, configure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.005)
    options = parser.parse_args()
    configure(fresh=True)
    from keyport.access.models import AccessGrant, SensorbergAccount
    from keyport.access.providers.sensorberg.memberships import membership_body, unit_external_id
    from keyport.access.services import sync_reconcile
    from keyport.facilities.models import Location

    sys.path.insert(0, str(ROOT))
    from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg

    location = build_grants(units=options.units, holders_per_unit=1)["location"]
    assert isinstance(location, Location)
    Location.objects.filter(pk=location.pk).update(access_provider="sensorberg")
    location.refresh_from_db()
    fake = FakeSensorberg().start()
    SensorbergAccount.objects.create(
        location=location, base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    for grant in AccessGrant.objects.filter(unit__location=location).select_related("holder", "unit"):
        group = fake.add_group(unit_external_id(grant.unit))
        fake.state.memberships[group] = {grant.membership_ref: membership_body(grant)}
    fake.state.latency = options.latency

    for label in ("first pass (groups looked up)", "second pass (group ids cached)"):
        calls, connections = len(fake.state.answers), fake.state.connections
        started = time.perf_counter()
        drifted = sync_reconcile(location=location)
        took = time.perf_counter() - started
        calls = len(fake.state.answers) - calls
        print(
            f"{label}: {options.units} units in {took:.1f} s, {calls} calls, "
            f"{fake.state.connections - connections} connections opened, {drifted} set right"
        )
    fake.stop()


if __name__ == "__main__":
    main()
