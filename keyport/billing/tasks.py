import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from keyport.billing.emails import invoices_email_issued
from keyport.billing.rent import billing_run_location, locations_due_for_billing
from keyport.billing.services import invoices_lock_overdue, invoices_remind
from keyport.facilities.models import Location
from keyport.lib.periodic import chain_queue_next

# However far off the next local midnight is, the chain looks again this soon (a new location).
BILLING_RUN_LOOK_AGAIN = dt.timedelta(hours=1)


@task()
def lock_overdue_invoices(again: bool = True) -> int:
    """The overdue check, a chain of keyport.lib.periodic: the reminders and lock warnings due,
    then the lockout of what is overdue past its grace days (warned first)."""
    try:
        invoices_remind()
        return invoices_lock_overdue()
    finally:
        if again and settings.BILLING_OVERDUE_CHECK_MINUTES:
            chain_queue_next(
                lock_overdue_invoices, dt.timedelta(minutes=settings.BILLING_OVERDUE_CHECK_MINUTES)
            )


def until_next_local_midnight(now: dt.datetime) -> dt.timedelta:
    """How long until the next location's day begins (at most BILLING_RUN_LOOK_AGAIN)."""
    wait = BILLING_RUN_LOOK_AGAIN
    for location in Location.objects.all():
        tomorrow = now.astimezone(location.zone).date() + dt.timedelta(days=1)
        wait = min(wait, location.start_of_day(tomorrow) - now)
    return max(wait, dt.timedelta(seconds=1))


@task()
def billing_run(again: bool = True) -> int:
    """The billing run, a chain of keyport.lib.periodic that wakes at each location's midnight
    and queues that location's run."""
    try:
        due = locations_due_for_billing()
        for location in due:
            billing_run_for_location.enqueue(location.pk)
        return len(due)
    finally:
        if again and settings.BILLING_RUN_ENABLED:
            chain_queue_next(billing_run, until_next_local_midnight(timezone.now()))


@task()
def billing_run_for_location(location_id: int) -> int:
    return billing_run_location(location=Location.objects.get(pk=location_id))


@task()
def invoices_email(invoice_ids: list[int]) -> int:
    return invoices_email_issued(invoice_ids=invoice_ids)
