"""The import's background work. Each task is safe to run again (a worker killed mid-chunk, a task
requeued): the services go on from their last committed checkpoint."""

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from keyport.imports import services


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
