"""The import's background work. Each task is safe to run again (a worker killed mid-chunk, a task
requeued): the services go on from their last committed checkpoint."""

import datetime as dt
import logging
from collections import Counter

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.imports import checking, services
from keyport.imports.models import ImportStatus, InvitesStatus, TenantImport

logger = logging.getLogger(__name__)
IMPORT_TASK_TRIES = 5
# The (task, import) pairs this process has given up on, so that the log says it once.
_given_up: set[tuple[str, int]] = set()


@task()
def tenant_import_check(import_id: int) -> None:
    checking.tenant_import_check_run(import_id=import_id)


@task()
def tenant_import_run(import_id: int) -> None:
    services.tenant_import_run(import_id=import_id)


@task()
def tenant_import_send_invites(import_id: int) -> None:
    """A minute's worth of invites (IMPORT_INVITES_PER_MINUTE, what the mail server accepts), then
    the next minute's run is queued, until everyone is invited."""
    left = services.tenant_import_invites_send(import_id=import_id, limit=settings.IMPORT_INVITES_PER_MINUTE)
    if left:
        tenant_import_send_invites.using(run_after=services.invite_pause(timezone.now())).enqueue(import_id)


def imports_ensure_queued() -> int:
    """Queue again the work of imports whose task is gone; the worker's heartbeat calls this. A
    task that ended on an error (the database gone mid-chunk, a worker stopped hard) leaves its
    import Checking, Importing or Sending; the run queued here goes on from the last checkpoint:
    at once after a first failure, then after a pause that doubles with each, and not after
    IMPORT_TASK_TRIES of them (a fault in the data or the code, not in the machine: the log says
    so, once)."""
    wanted = {
        tenant_import_check: TenantImport.objects.filter(status=ImportStatus.CHECKING),
        tenant_import_run: TenantImport.objects.filter(status=ImportStatus.IMPORTING),
        tenant_import_send_invites: TenantImport.objects.filter(invites_status=InvitesStatus.SENDING),
    }
    queued = 0
    for work, imports in wanted.items():
        ids = list(imports.values_list("pk", flat=True))
        if not ids:
            continue
        pending: set[int] = set()
        failures: Counter[int] = Counter()
        for status, args_kwargs in DBTaskResult.objects.filter(
            task_path=work.module_path,
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING, TaskResultStatus.FAILED],
        ).values_list("status", "args_kwargs"):
            if not args_kwargs.get("args"):
                continue
            if status == TaskResultStatus.FAILED:
                failures[args_kwargs["args"][0]] += 1
            else:
                pending.add(args_kwargs["args"][0])
        for import_id in ids:
            if import_id in pending:
                continue
            failed = failures[import_id]
            if failed >= IMPORT_TASK_TRIES:
                if (work.name, import_id) not in _given_up:
                    _given_up.add((work.name, import_id))
                    logger.error(
                        "Import %s: %s failed %s times; not queued again", import_id, work.name, failed
                    )
                continue
            pause = dt.timedelta(seconds=15 * 2 ** (failed - 1)) if failed > 1 else dt.timedelta(0)
            work.using(run_after=timezone.now() + pause).enqueue(import_id)
            queued += 1
    return queued
