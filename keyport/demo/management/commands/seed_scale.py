import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from keyport.demo.scale import seed_scale


class Command(BaseCommand):
    help = "Add synthetic data at a big operator's scale (for benchmarks), e.g. --customers 100000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=100_000)

    def handle(self, *args: Any, customers: int, **options: Any) -> None:
        if customers < 1:
            self.stderr.write("--customers must be at least 1.")
            raise SystemExit(2)
        started = time.perf_counter()
        counts = seed_scale(customers=customers)
        summary = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Added {summary} in {time.perf_counter() - started:.0f} s."))
