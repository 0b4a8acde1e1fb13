"""Receivables at scale: the page (200 customers a location shown, every one summed) and its CSV
export, against the invoice list of the same open invoices (its 200 newest rows).

    .venv/bin/python bench/receivables.py --customers 20000
    DATABASE_URL=postgres://... .venv/bin/python bench/receivables.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from decimal import Decimal

os.environ.setdefault("BENCH_SQLITE_PATH", "/tmp/keyport-bench-receivables.sqlite3")  # noqa: S108

from figures import Figure, table  # noqa: E402
from pages import median_get, signed_in_owner  # noqa: E402
from setup_django import configure  # noqa: E402

RECEIVABLES = "/dashboard/billing/receivables/"
RECEIVABLES_CSV = "/dashboard/billing/receivables.csv"
INVOICES = "/dashboard/billing/?status=open"
INVOICES_A_CUSTOMER = 3
BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000, help="each with 3 open invoices")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5, help="of each page, each round")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run")
    print(table(measure(**vars(parser.parse_args()))))


def measure(*, customers: int, rounds: int, requests: int, reuse: bool = False) -> list[Figure]:
    configure(fresh=not reuse)
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]
    figures = _seed(customers)
    _owner, client = signed_in_owner()
    pages, ratios, csv_rates = [], [], []
    for _ in range(rounds):
        page = median_get(client, RECEIVABLES, requests)
        pages.append(page * 1000)
        ratios.append(page / median_get(client, INVOICES, requests))
        started = time.perf_counter()
        lines = sum(1 for _ in client.get(RECEIVABLES_CSV).streaming_content)
        csv_rates.append(lines / (time.perf_counter() - started))
    figures += [
        Figure(f"Receivables page ({customers:,} customers owing), server time", "ms", pages),
        Figure("Receivables / invoice list (open, 200 newest)", "×", ratios),
        Figure(f"Receivables CSV: rows a second ({customers:,} customers)", "/s", csv_rates),
    ]
    return figures


def _seed(customers: int) -> list[Figure]:
    from django.db import connection

    from keyport.billing.models import Invoice, InvoiceStatus

    if Invoice.objects.count() >= customers * INVOICES_A_CUSTOMER:
        return []
    started = time.perf_counter()
    from keyport.contacts.models import Customer
    from keyport.facilities.models import Location

    places = [
        Location.objects.create(
            name=f"Receivables {city}",
            street="1 Main",
            postal_code="1",
            city=city,
            country=country,
            time_zone=zone,
        )
        for city, country, zone in (("Berlin", "DE", "Europe/Berlin"), ("Austin", "US", "America/Chicago"))
    ]
    today = dt.date.today()  # noqa: DTZ011  # the data's dates only spread the ages
    made = Customer.objects.bulk_create(
        (Customer(name=f"Customer {n:06d}", home_location=places[n % 2]) for n in range(customers)),
        batch_size=BATCH,
    )
    Invoice.objects.bulk_create(
        (
            Invoice(
                location_id=customer.home_location_id,
                customer=customer,
                status=InvoiceStatus.OPEN,
                currency="EUR" if customer.home_location_id == places[0].pk else "USD",
                due_on=today - dt.timedelta(days=(customer.pk * 7 + n * 31) % 120 - 10),
                total=Decimal("89.00") + n,
            )
            for customer in made
            for n in range(INVOICES_A_CUSTOMER)
        ),
        batch_size=BATCH,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [
        Figure(
            f"Receivables: {customers:,} customers' invoices written", "s", [time.perf_counter() - started]
        )
    ]


if __name__ == "__main__":
    main()
