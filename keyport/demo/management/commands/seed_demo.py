from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keyport.demo.data import seed_demo


class Command(BaseCommand):
    help = "Load Keyport's demo facility once (running it again changes nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load it although DEBUG is off: the demo's staff sign in with a published password.",
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        # The demo's staff accounts share a password printed in the README and by `make run`:
        # on a server (DEBUG off) anyone could sign in as its owner.
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load the demo data with DEBUG off: its staff accounts have a published "
                "password. Run it on a development machine (DEBUG=true), or pass --force."
            )
        created = seed_demo()
        if not created:
            self.stdout.write("Demo data is already loaded; nothing changed.")
            return
        summary = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {summary}."))
