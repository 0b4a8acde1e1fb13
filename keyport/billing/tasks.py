import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.billing.services import invoices_lock_overdue


@task()
def lock_overdue_invoices(again: bool = True) -> int:
    """The overdue check; with `again` it queues its next run, so one start keeps it going."""
    try:
        return invoices_lock_overdue()
    finally:
        if again and settings.BILLING_OVERDUE_CHECK_MINUTES:
            every = dt.timedelta(minutes=settings.BILLING_OVERDUE_CHECK_MINUTES)
            lock_overdue_invoices.using(run_after=timezone.now() + every).enqueue(True)


def overdue_check_is_scheduled() -> bool:
    return DBTaskResult.objects.filter(
        task_path=lock_overdue_invoices.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).exists()


def overdue_check_ensure_scheduled() -> bool:
    """Start the check's chain unless it is queued already; the worker's heartbeat calls this."""
    if overdue_check_is_scheduled():
        return False
    lock_overdue_invoices.enqueue(True)
    return True
