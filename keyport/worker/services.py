import datetime as dt
import logging
import os
import socket

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.access.tasks import access_sweep
from keyport.billing.tasks import billing_run, lock_overdue_invoices
from keyport.lib.periodic import chain_ensure_scheduled
from keyport.payments.tasks import autopay_sweep
from keyport.worker.models import ScheduleLock, WorkerHeartbeat
from keyport.worker.tasks import task_results_prune

logger = logging.getLogger(__name__)

# What a dropped, refused or timed-out database connection raises (psycopg's pool timeout too).
DATABASE_LOST = (OperationalError, InterfaceError)
PERIODIC_CHAINS_LOCK = "periodic-chains"
# PostgreSQL's connection exceptions (class 08) and a server shutting down or starting up.
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def connection_was_lost(error: BaseException) -> bool:
    """Whether an error is the database connection going away, not a fault of the work that raised
    it: worth running that work again once connected. A locked SQLite database, a statement
    timeout or a constraint is not."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if not type(cause).__module__.startswith("psycopg"):
        return False  # SQLite's: a locked database, a full disk; no connection to lose
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_CONNECTION_SQLSTATES)


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


@transaction.atomic
def tasks_requeue_own(*, worker_id: str) -> int:
    """Put back in the queue the tasks this worker left RUNNING; call it only while the worker
    runs none (after it lost its database connection mid-task, say). Its heartbeat keeps beating,
    so tasks_requeue_stale() would never take them."""
    requeued = 0
    running = DBTaskResult.objects.select_for_update(skip_locked=True).filter(status=TaskResultStatus.RUNNING)
    for task_result in running:
        if task_result.worker_ids and task_result.worker_ids[-1] == worker_id:
            task_result.status = TaskResultStatus.READY
            task_result.started_at = None
            task_result.save(update_fields=["status", "started_at"])
            logger.warning(
                "Requeued task %s (%s) cut off by a lost connection", task_result.id, task_result.task_path
            )
            requeued += 1
    return requeued


@transaction.atomic
def periodic_chains_ensure_scheduled() -> list[str]:
    """Start each periodic chain that is not queued or running; any live worker calls this.

    The lock row makes it one worker at a time: the second finds the first one's chains queued.
    """
    ScheduleLock.objects.get_or_create(name=PERIODIC_CHAINS_LOCK)
    ScheduleLock.objects.select_for_update().get(name=PERIODIC_CHAINS_LOCK)
    started = []
    if settings.ACCESS_SWEEP_SECONDS and chain_ensure_scheduled(access_sweep):
        started.append("access_sweep")
    if settings.BILLING_OVERDUE_CHECK_MINUTES and chain_ensure_scheduled(lock_overdue_invoices):
        started.append("overdue_check")
    if settings.BILLING_RUN_ENABLED and chain_ensure_scheduled(billing_run):
        started.append("billing_run")
    if settings.PAYMENTS_AUTOPAY_SWEEP_MINUTES and chain_ensure_scheduled(autopay_sweep):
        started.append("autopay_sweep")
    if settings.TASK_RESULTS_KEEP_DAYS and chain_ensure_scheduled(task_results_prune):
        started.append("task_results_prune")
    return started
