from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keyport.access.services import device_key_issue
from keyport.audit.services import Actor
from keyport.facilities.models import AccessPoint


class Command(BaseCommand):
    help = "Issue or rotate an access point's device key (printed once; only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("location_id", type=int)
        parser.add_argument("external_id", help="The access point's external identifier.")

    def handle(self, *args: Any, **options: Any) -> None:
        access_point = AccessPoint.objects.filter(
            location_id=options["location_id"], external_id=options["external_id"]
        ).first()
        if access_point is None:
            raise CommandError("No such access point at that location.")
        key = device_key_issue(actor=Actor.system("access_device_key command"), access_point=access_point)
        self.stdout.write(key)
