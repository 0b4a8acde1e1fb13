from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keyport.access.services import device_key_issue, device_key_revoke
from keyport.audit.services import Actor
from keyport.facilities.models import AccessPoint


class Command(BaseCommand):
    help = (
        "Issue or rotate an access point's device key (printed once; only its hash is kept), "
        "or with --revoke withdraw it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("location_id", type=int)
        parser.add_argument("external_id", help="The access point's external identifier.")
        parser.add_argument(
            "--revoke", action="store_true", help="Withdraw the key (a lost or stolen device)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        access_point = AccessPoint.objects.filter(
            location_id=options["location_id"], external_id=options["external_id"]
        ).first()
        if access_point is None:
            raise CommandError("No such access point at that location.")
        actor = Actor.system("access_device_key command")
        if not options["revoke"]:
            try:
                self.stdout.write(device_key_issue(actor=actor, access_point=access_point))
            except ValidationError as refused:
                raise CommandError(" ".join(refused.messages)) from None
        elif device_key_revoke(actor=actor, access_point=access_point):
            self.stdout.write("Device key revoked: the access point's checks are refused until a new key.")
        else:
            raise CommandError("This access point has no device key.")
