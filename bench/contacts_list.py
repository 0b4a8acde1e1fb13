"""All Contacts against the Django admin's Contact changelist (same data, same run), and the
Customer Report's CSV export: rows per second and peak memory at 10,000 and 100,000 rows.

    .venv/bin/python bench/contacts_list.py                 # fresh SQLite file under /tmp
    .venv/bin/python bench/contacts_list.py --reuse         # keep the data of the last run
    DATABASE_URL=postgres://... .venv/bin/python bench/contacts_list.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-contacts.sqlite3")  # noqa: S108

from setup_django import configure  # noqa: E402

ALL_CONTACTS = "/dashboard/contacts/"
ADMIN = "/admin/contacts/contact/"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--deep-page", type=int, default=1000, help="of 50 rows; the admin shows 100")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run")
    options = parser.parse_args()
    configure(fresh=not options.reuse)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from keyport.bookings.models import Booking
    from keyport.cars.models import Car
    from keyport.contacts.models import Contact
    from keyport.staff.models import StaffUser

    settings.ALLOWED_HOSTS = ["testserver"]
    if Contact.objects.count() < options.customers * 2:
        started = time.perf_counter()
        call_command("seed_scale", customers=options.customers, verbosity=0)
        print(f"seed_scale --customers {options.customers}: {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics after a bulk load, for both sides
    print(
        f"data: {Contact.objects.count():,} contacts, {Booking.objects.count():,} bookings, "
        f"{Car.objects.count():,} cars ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})"
    )
    owner = StaffUser.objects.filter(email="bench-owner@keyport.test").first()
    if owner is None:
        owner = StaffUser.objects.create_superuser("bench-owner@keyport.test", None, full_name="Bench Owner")
    client = Client()
    client.force_login(owner)

    deep_page = options.deep_page
    deep = _cursor_of_page(deep_page)
    cases = [
        ("first page", ALL_CONTACTS, "", ADMIN, ""),
        ("search a last name", ALL_CONTACTS, "q=Weber", ADMIN, "q=Weber"),
        ("search an email", ALL_CONTACTS, "q=p77777%40scale", ADMIN, "q=p77777%40scale"),
        # The admin does not look at plates: the same text, for the time of a search that finds none.
        ("search a plate", ALL_CONTACTS, f"q={_a_plate()}", ADMIN, f"q={_a_plate()}"),
        ("filter Inactive", ALL_CONTACTS, "active=inactive", ADMIN, "customer__is_active__exact=0"),
        (f"deep page {deep_page}", ALL_CONTACTS, f"after={deep}", ADMIN, f"p={deep_page // 2}"),
        ("sort by email", ALL_CONTACTS, "sort=email", ADMIN, "o=3"),
    ]
    print(f"median of {options.rounds} rounds, Django test client signed in as an owner:")
    for name, ours, our_query, admin, admin_query in cases:
        mine = _median(client, f"{ours}?{our_query}", options.rounds)
        theirs = _median(client, f"{admin}?{admin_query}", options.rounds)
        print(
            f"  {name:<20} All Contacts {mine.seconds * 1000:8.1f} ms ({mine.queries} queries)   "
            f"admin {theirs.seconds * 1000:8.1f} ms ({theirs.queries} queries)   "
            f"ratio {mine.seconds / theirs.seconds:.2f} (goal ≤ 0.50)"
        )
    _export(client)


def _a_plate() -> str:
    """A plate as a person types it: lower case, without its space and dash."""
    from urllib.parse import quote

    from keyport.cars.models import Car

    plate = Car.objects.order_by("pk").values_list("plate", flat=True)[Car.objects.count() // 2]
    return quote(plate.replace(" ", "").replace("-", "").lower())


def _cursor_of_page(number: int) -> str:
    """The Next cursor that leads to page `number` of the name sort: the last row of the page before."""
    from keyport.contacts.models import Contact
    from keyport.contacts.queries import CONTACT_SORTS, ContactFilters, encode_cursor, filter_contacts

    row = filter_contacts(Contact.objects.all(), ContactFilters())[(number - 1) * 50 - 1]
    return encode_cursor(row, CONTACT_SORTS["name"])


class _Timing:
    def __init__(self, seconds: float, queries: int) -> None:
        self.seconds, self.queries = seconds, queries


def _median(client: object, url: str, rounds: int) -> _Timing:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    get: Callable[[str], object] = client.get  # type: ignore[attr-defined]
    response = get(url)  # warm-up; a new filter is remembered once, here
    assert response.status_code == 200, (url, response.status_code)  # type: ignore[attr-defined]
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        get(url)
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        get(url)
    return _Timing(statistics.median(timings), len(queries))


def _export(client: object) -> None:
    """Stream the whole Customer Report; peak traced memory at 10,000 rows, 100,000 rows and the end."""
    get: Callable[[str], object] = client.get  # type: ignore[attr-defined]
    client.get(f"{ALL_CONTACTS}?q=")  # type: ignore[attr-defined]  # no remembered filters
    started = time.perf_counter()
    rows = sum(chunk.count(b"\n") for chunk in get("/dashboard/contacts/report.csv").streaming_content)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - started
    print(f"CSV export: {rows - 1:,} rows in {seconds:.1f} s, {(rows - 1) / seconds:,.0f} rows/s")

    tracemalloc.start()
    peaks: dict[int, float] = {}
    rows = 0
    for chunk in get("/dashboard/contacts/report.csv").streaming_content:  # type: ignore[attr-defined]
        rows += chunk.count(b"\n")
        if rows - 1 in (10_000, 100_000):
            peaks[rows - 1] = tracemalloc.get_traced_memory()[1] / 2**20
    peaks[rows - 1] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        "CSV export peak traced memory (tracemalloc): "
        + ", ".join(f"{peak:.1f} MiB at {count:,} rows" for count, peak in sorted(peaks.items()))
    )


if __name__ == "__main__":
    main()
