"""All Contacts against the Django admin's Contact changelist (same data, same run), and the
Customer Report's CSV export: rows per second and peak memory at 10,000 and 100,000 rows.

    .venv/bin/python bench/contacts_list.py                 # fresh SQLite file under /tmp
    .venv/bin/python bench/contacts_list.py --reuse         # keep the data of the last run
    DATABASE_URL=postgres://... .venv/bin/python bench/contacts_list.py
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-contacts.sqlite3")  # noqa: S108

from figures import Figure, table  # noqa: E402
from pages import median_get, signed_in_owner  # noqa: E402
from setup_django import configure  # noqa: E402

ALL_CONTACTS = "/dashboard/contacts/"
ADMIN = "/admin/contacts/contact/"
REPORT = "/dashboard/contacts/report.csv"
GOAL_CUSTOMERS = 100_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="of every case, each the median of --requests")
    parser.add_argument("--requests", type=int, default=7, help="of each page, each round")
    parser.add_argument("--deep-page", type=int, default=1000, help="of 50 rows; the admin shows 100")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run")
    options = parser.parse_args()
    print(table(measure(**vars(options))))


def measure(
    *, customers: int, rounds: int, requests: int, deep_page: int, reuse: bool = False
) -> list[Figure]:
    """All Contacts against the admin, case by case, and the Customer Report's export."""
    configure(fresh=not reuse)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from keyport.contacts.models import Contact

    settings.ALLOWED_HOSTS = ["testserver"]
    figures = []
    if Contact.objects.count() < customers * 2:
        started = time.perf_counter()
        call_command("seed_scale", customers=customers, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics after a bulk load, for both sides
        figures.append(
            Figure(
                f"All Contacts: seed_scale --customers {customers:,}", "s", [time.perf_counter() - started]
            )
        )
    owner, client = signed_in_owner()

    deep_page = min(deep_page, Contact.objects.count() // 50)
    deep = _cursor_of_page(deep_page)
    cases = [
        # "q=" rather than nothing: the bare address redirects to the remembered filters.
        ("first page", ALL_CONTACTS, "q=", ADMIN, ""),
        ("search a last name", ALL_CONTACTS, "q=Weber", ADMIN, "q=Weber"),
        ("search an email", ALL_CONTACTS, "q=p77777%40scale", ADMIN, "q=p77777%40scale"),
        # The admin does not look at plates: the same text, for the time of a search that finds none.
        ("search a plate", ALL_CONTACTS, f"q={_a_plate()}", ADMIN, f"q={_a_plate()}"),
        ("filter Inactive", ALL_CONTACTS, "active=inactive", ADMIN, "customer__is_active__exact=0"),
        (f"deep page {deep_page}", ALL_CONTACTS, f"after={deep}", ADMIN, f"p={deep_page // 2}"),
        ("sort by email", ALL_CONTACTS, "sort=email", ADMIN, f"o={_admin_column(owner, 'email')}"),
    ]
    ratios: dict[str, list[float]] = {name: [] for name, *_ in cases}
    for _ in range(rounds):
        for name, ours, our_query, admin, admin_query in cases:
            mine = median_get(client, f"{ours}?{our_query}", requests)
            theirs = median_get(client, f"{admin}?{admin_query}", requests)
            ratios[name].append(mine / theirs)
    # The goal is set for 100,000 customers: the admin's cost grows with the table (it counts
    # every match and sorts them), ours barely does, so a smaller table says little against it.
    goal = 0.50 if customers >= GOAL_CUSTOMERS else None
    at = "" if goal else f" (goal ≤ 0.50 at {GOAL_CUSTOMERS:,} customers)"
    figures += [
        Figure(f"All Contacts / Django admin: {name}{at}", "×", values, at_most=goal)
        for name, values in ratios.items()
    ]
    return figures + _export(client)


def _admin_column(owner: object, field: str) -> int:
    """The admin's `o=` for a column: its place among the changelist's columns as the admin counts
    them (a checkbox column comes first when the changelist has actions)."""
    from django.contrib import admin
    from django.test import RequestFactory

    from keyport.contacts.models import Contact

    request = RequestFactory().get(ADMIN)
    request.user = owner
    contact_admin = admin.site._registry[Contact]
    columns = list(contact_admin.get_list_display(request))
    if contact_admin.get_actions(request):
        columns.insert(0, "action_checkbox")
    return columns.index(field)


def _a_plate() -> str:
    """A plate as a person types it: lower case, without its space and dash."""
    from urllib.parse import quote

    from keyport.cars.models import Car

    plate = Car.objects.order_by("pk").values_list("plate", flat=True)[Car.objects.count() // 2]
    return quote(plate.replace(" ", "").replace("-", "").lower())


def _cursor_of_page(number: int) -> str:
    """The Next cursor that leads to page `number` of the name sort: the last row of the page before."""
    from keyport.contacts.models import Contact
    from keyport.frontdesk.queries import CONTACT_SORTS, ContactFilters, encode_cursor, filter_contacts

    row = filter_contacts(Contact.objects.all(), ContactFilters())[(number - 1) * 50 - 1]
    return encode_cursor(row, CONTACT_SORTS["name"])


def _export(client: object) -> list[Figure]:
    """Stream the whole Customer Report: rows a second, and its peak traced memory at the end
    against the peak after the first tenth of the rows (a streamed export stays flat)."""
    get: Callable[[str], object] = client.get  # type: ignore[attr-defined]
    client.get(f"{ALL_CONTACTS}?q=")  # type: ignore[attr-defined]  # no remembered filters
    started = time.perf_counter()
    rows = sum(chunk.count(b"\n") for chunk in get(REPORT).streaming_content) - 1  # type: ignore[attr-defined]
    seconds = time.perf_counter() - started

    tracemalloc.start()
    early, counted = 0.0, 0
    for chunk in get(REPORT).streaming_content:  # type: ignore[attr-defined]
        counted += chunk.count(b"\n")
        if not early and counted > rows // 10:
            early = tracemalloc.get_traced_memory()[1]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return [
        Figure(f"Customer Report: rows a second ({rows:,} rows)", "/s", [rows / seconds]),
        Figure("Customer Report: peak traced memory", "MiB", [peak / 2**20]),
        Figure(
            "Customer Report: peak memory at the end / after the first tenth",
            "×",
            [peak / early],
            at_most=1.2,
        ),
    ]


if __name__ == "__main__":
    main()
