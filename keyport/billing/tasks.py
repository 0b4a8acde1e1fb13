import datetime as dt

from django.conf import settings
from django_tasks import task

from keyport.billing.services import invoices_lock_overdue
from keyport.lib.periodic import chain_queue_next


@task()
def lock_overdue_invoices(again: bool = True) -> int:
    """The overdue check, a chain of keyport.lib.periodic."""
    try:
        return invoices_lock_overdue()
    finally:
        if again and settings.BILLING_OVERDUE_CHECK_MINUTES:
            chain_queue_next(
                lock_overdue_invoices, dt.timedelta(minutes=settings.BILLING_OVERDUE_CHECK_MINUTES)
            )
