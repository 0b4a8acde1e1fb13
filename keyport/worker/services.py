import datetime as dt
import logging
import os
import socket

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.worker.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def worker_heartbeat(*, worker_id: str, started_at: dt.datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen_at": timezone.now(),
        },
    )


def worker_retire(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


@transaction.atomic
def tasks_requeue_stale() -> int:
    """Put RUNNING tasks whose worker has fallen silent back in the queue.

    A worker killed mid-task leaves its task RUNNING for ever; the database
    worker never looks at it again. Every Keyport task is written to be safe to
    run twice, so running it again is the right recovery.
    """
    stale_before = timezone.now() - dt.timedelta(seconds=settings.TASK_WORKER_STALE_AFTER_SECONDS)
    alive = set(
        WorkerHeartbeat.objects.filter(last_seen_at__gte=stale_before).values_list("worker_id", flat=True)
    )
    requeued = 0
    running = DBTaskResult.objects.select_for_update(skip_locked=True).filter(
        status=TaskResultStatus.RUNNING, started_at__lt=stale_before
    )
    for task_result in running:
        last_worker = task_result.worker_ids[-1] if task_result.worker_ids else None
        if last_worker in alive:
            continue
        task_result.status = TaskResultStatus.READY
        task_result.started_at = None
        task_result.save(update_fields=["status", "started_at"])
        logger.warning(
            "Requeued task %s (%s) left running by silent worker %s",
            task_result.id,
            task_result.task_path,
            last_worker,
        )
        requeued += 1
    WorkerHeartbeat.objects.filter(last_seen_at__lt=stale_before).delete()
    return requeued
