from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import ngettext

from keyport.billing.services import invoices_lock_overdue
from keyport.billing.tasks import lock_overdue_invoices
from keyport.lib.periodic import chain_ensure_scheduled


class Command(BaseCommand):
    help = "Lock the access of bookings whose invoices are overdue past their location's grace days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="Queue the hourly check in the task worker (the worker also does this when it starts).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["schedule"]:
            if chain_ensure_scheduled(lock_overdue_invoices):
                self.stdout.write(self.style.SUCCESS("The hourly overdue check is queued."))
            else:
                self.stdout.write("The hourly overdue check is already queued.")
            return
        locked = invoices_lock_overdue()
        self.stdout.write(
            ngettext(
                "Locked access for %(count)d overdue invoice.",
                "Locked access for %(count)d overdue invoices.",
                locked,
            )
            % {"count": locked}
        )
