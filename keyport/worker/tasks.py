import datetime as dt

from django.conf import settings
from django.core.management import call_command
from django_tasks import task

from keyport.lib.periodic import chain_queue_next

PRUNE_EVERY = dt.timedelta(days=1)


@task()
def task_results_prune(again: bool = True) -> None:
    """Delete finished task results older than TASK_RESULTS_KEEP_DAYS with the library's own
    command; a daily chain of keyport.lib.periodic."""
    try:
        call_command(
            "prune_db_task_results",
            queue_name="*",
            min_age_days=settings.TASK_RESULTS_KEEP_DAYS,
            verbosity=0,
        )
    finally:
        if again and settings.TASK_RESULTS_KEEP_DAYS:
            chain_queue_next(task_results_prune, PRUNE_EVERY)
