"""Periodic work as self-queueing task chains: each run queues the next one, and any live worker
starts a chain that is neither queued nor running (after a deploy, or a run lost with its worker).

A chained task takes one argument, `again`: True in the chain, False for a one-off run.
"""

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks.base import Task, TaskResultStatus


def chain_queue_next(task: Task[Any, Any], every: dt.timedelta) -> None:
    task.using(run_after=timezone.now() + every).enqueue(True)


def chain_is_scheduled(task: Task[Any, Any]) -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=task.module_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    ).exists()


def chain_ensure_scheduled(task: Task[Any, Any]) -> bool:
    """Start the task's chain unless it is queued or running; True when it was started."""
    if chain_is_scheduled(task):
        return False
    task.enqueue(True)
    return True
