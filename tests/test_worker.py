import datetime as dt
import signal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.emails.models import EmailStatus, OutgoingEmail
from keyport.emails.services import email_queue
from keyport.worker.models import WorkerHeartbeat
from keyport.worker.services import tasks_requeue_stale, worker_heartbeat

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def run_worker_until_idle() -> None:
    call_command("run_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_delivers_an_email_enqueued_on_commit(database_tasks):
    email = email_queue(
        to="mara@example.com", subject="Welcome", body_text="Hello Mara", template="portal_email_changed"
    )
    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.READY
    assert task.args_kwargs == {"args": [email.pk], "kwargs": {}}

    run_worker_until_idle()

    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert [message.to for message in mail.outbox] == [["mara@example.com"]]
    assert not WorkerHeartbeat.objects.exists(), "a stopped worker retires its heartbeat"


@pytest.mark.django_db(transaction=True)
def test_nothing_is_enqueued_when_the_transaction_rolls_back(database_tasks):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        email_queue(
            to="mara@example.com", subject="Welcome", body_text="Hello", template="portal_email_changed"
        )
        raise RuntimeError("the surrounding change failed")
    assert not DBTaskResult.objects.exists()
    assert not OutgoingEmail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_task_left_running_by_a_killed_worker_is_run_again(database_tasks):
    email = email_queue(
        to="mara@example.com", subject="Welcome", body_text="Hello", template="portal_email_changed"
    )
    # What a worker killed mid-task leaves behind: RUNNING, claimed by a worker that no longer beats.
    DBTaskResult.objects.update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(minutes=10),
        worker_ids=["killed-worker"],
    )

    run_worker_until_idle()

    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert task.worker_ids[0] == "killed-worker" and len(task.worker_ids) == 2
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_task_running_on_a_live_worker_is_left_alone(settings):
    settings.TASKS = DATABASE_TASKS
    from keyport.emails.tasks import deliver_email

    deliver_email.enqueue(1)
    long_ago = timezone.now() - dt.timedelta(minutes=10)
    DBTaskResult.objects.update(
        status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["busy-worker"]
    )
    worker_heartbeat(worker_id="busy-worker", started_at=long_ago)

    assert tasks_requeue_stale() == 0
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_recently_started_task_is_not_requeued(settings):
    settings.TASKS = DATABASE_TASKS
    from keyport.emails.tasks import deliver_email

    deliver_email.enqueue(1)
    DBTaskResult.objects.update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now(), worker_ids=["new"]
    )
    assert tasks_requeue_stale() == 0


@pytest.mark.django_db
def test_silent_heartbeats_are_cleared(settings):
    worker_heartbeat(worker_id="old", started_at=timezone.now())
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - dt.timedelta(hours=1))
    tasks_requeue_stale()
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_email_whose_delivery_task_ended_without_an_outcome_is_sent(database_tasks):
    email = email_queue(
        to="mara@example.com", subject="Welcome", body_text="Hello", template="portal_email_changed"
    )
    # What a dropped database connection mid-send, or a worker stopped hard, leaves behind: the
    # task failed, the email still queued after one attempt.
    DBTaskResult.objects.update(status=TaskResultStatus.FAILED, finished_at=timezone.now())
    OutgoingEmail.objects.update(attempts=1, created_at=timezone.now() - dt.timedelta(minutes=10))

    run_worker_until_idle()

    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_email_whose_delivery_is_pending_is_not_queued_again(settings, django_capture_on_commit_callbacks):
    settings.TASKS = DATABASE_TASKS
    from keyport.emails.tasks import email_deliveries_ensure_queued

    with django_capture_on_commit_callbacks(execute=True):
        email_queue(
            to="mara@example.com", subject="Welcome", body_text="Hello", template="portal_email_changed"
        )
    OutgoingEmail.objects.update(created_at=timezone.now() - dt.timedelta(minutes=10))
    assert email_deliveries_ensure_queued() == 0
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db
def test_a_fresh_email_is_left_to_its_own_enqueue(settings):
    settings.TASKS = DATABASE_TASKS
    from keyport.emails.tasks import email_deliveries_ensure_queued

    OutgoingEmail.objects.create(to="mara@example.com", subject="Welcome", body_text="Hello")
    assert email_deliveries_ensure_queued() == 0
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_an_email_out_of_attempts_is_given_up_instead_of_sent_again():
    from keyport.emails.services import MAX_DELIVERY_ATTEMPTS, email_deliver

    email = OutgoingEmail.objects.create(
        to="mara@example.com",
        subject="Sign in",
        body_text="[link: added when sent, never kept in the log]",
        secrets_to_send={"link": "https://portal.example.com/login/link/SECRET/"},
        attempts=MAX_DELIVERY_ATTEMPTS,
    )
    email = email_deliver(email_id=email.pk)
    assert email.status == EmailStatus.FAILED
    assert mail.outbox == []
    email.refresh_from_db()
    assert email.secrets_to_send == {}
