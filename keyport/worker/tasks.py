import datetime as dt

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

PRUNE_EVERY = dt.timedelta(days=1)


@task()
def task_results_prune(again: bool = True) -> None:
    """Delete finished task results older than TASK_RESULTS_KEEP_DAYS with the library's own
    command; with `again` it queues its next run a day later, so one start keeps it going."""
    try:
        call_command(
            "prune_db_task_results",
            queue_name="*",
            min_age_days=settings.TASK_RESULTS_KEEP_DAYS,
            verbosity=0,
        )
    finally:
        if again and settings.TASK_RESULTS_KEEP_DAYS:
            task_results_prune.using(run_after=timezone.now() + PRUNE_EVERY).enqueue(True)


def task_results_prune_ensure_scheduled() -> bool:
    if DBTaskResult.objects.filter(
        task_path=task_results_prune.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).exists():
        return False
    task_results_prune.enqueue(True)
    return True
