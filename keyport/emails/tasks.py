import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.emails.models import EmailStatus, OutgoingEmail
from keyport.emails.services import email_deliver


@task()
def deliver_email(email_id: int) -> None:
    email = email_deliver(email_id=email_id)
    if email.status == EmailStatus.QUEUED and email.attempts > 0:
        # Not delivered yet: try again later, waiting longer each time.
        delay = dt.timedelta(minutes=2 ** (email.attempts - 1))
        deliver_email.using(run_after=timezone.now() + delay).enqueue(email_id)


@transaction.atomic
def email_deliveries_ensure_queued() -> int:
    """Queue delivery again for queued emails whose delivery task is gone; the worker's heartbeat
    calls this. A task ends without recording the outcome when the database connection drops
    mid-send or the worker is stopped hard (a second Ctrl-C), and a process that dies right after
    its commit never runs its on-commit enqueue: the email stays in the log, queued, and is sent.

    An email younger than the stale window may still be waiting for its own enqueue. The rows are
    locked and the tasks enqueued in this transaction (the task queue is this database), so two
    workers never queue the same email twice.
    """
    settled_before = timezone.now() - dt.timedelta(seconds=settings.TASK_WORKER_STALE_AFTER_SECONDS)
    waiting = list(
        OutgoingEmail.objects.select_for_update(skip_locked=True)
        .filter(status=EmailStatus.QUEUED, created_at__lt=settled_before)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    if not waiting:
        return 0
    pending = {
        args_kwargs["args"][0]
        for args_kwargs in DBTaskResult.objects.filter(
            task_path=deliver_email.module_path,
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        ).values_list("args_kwargs", flat=True)
        if args_kwargs.get("args")
    }
    lost = [pk for pk in waiting if pk not in pending]
    for email_id in lost:
        deliver_email.enqueue(email_id)
    return len(lost)
