"""The import's background work. Each task is safe to run again (a worker killed mid-chunk, a task
requeued): the services go on from their last committed checkpoint."""

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.imports import services
from keyport.imports.models import ImportStatus, InvitesStatus, TenantImport


@task()
def tenant_import_check(import_id: int) -> None:
    services.tenant_import_check_run(import_id=import_id)


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
    import Checking, Importing or Sending; the run queued here goes on from the last checkpoint."""
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
        pending = {
            args_kwargs["args"][0]
            for args_kwargs in DBTaskResult.objects.filter(
                task_path=work.module_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
            ).values_list("args_kwargs", flat=True)
            if args_kwargs.get("args")
        }
        for import_id in ids:
            if import_id not in pending:
                work.enqueue(import_id)
                queued += 1
    return queued
