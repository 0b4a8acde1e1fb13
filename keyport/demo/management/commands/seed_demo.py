from typing import Any

from django.core.management.base import BaseCommand

from keyport.demo.data import seed_demo


class Command(BaseCommand):
    help = "Load Keyport's demo facility once (running it again changes nothing)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = seed_demo()
        if not created:
            self.stdout.write("Demo data is already loaded; nothing changed.")
            return
        summary = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}."))
