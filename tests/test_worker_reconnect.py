"""A worker that loses its database connection waits it out and goes on."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.db import InterfaceError, OperationalError, connection
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

from keyport.access.services import booking_revoke_access
from keyport.audit.services import Actor
from keyport.emails.backends import read_message_file
from keyport.emails.models import EmailStatus, OutgoingEmail
from keyport.emails.services import email_queue
from tests.portal_helpers import LINK

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
LOST = "server closed the connection unexpectedly"


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS
    settings.TASK_WORKER_RECONNECT_FIRST_SECONDS = 0.01
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def run_worker_until_idle() -> None:
    call_command("run_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)


def fail_once(monkeypatch, owner: type, name: str) -> list[int]:
    """`owner.name` raises what a dropped connection raises, the first time it is called."""
    real: Callable[..., object] = getattr(owner, name)
    calls: list[int] = []

    def lost_then_real(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError(LOST)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, lost_then_real)
    return calls


@pytest.mark.django_db(transaction=True)
def test_the_worker_goes_on_after_losing_its_connection_while_looking_for_work(
    database_tasks, monkeypatch, caplog
):
    email = email_queue(
        to="mara@example.com", subject="Welcome", body_text="Hello Mara", template="portal_email_changed"
    )
    calls = fail_once(monkeypatch, DBTaskResultQuerySet, "get_locked")

    run_worker_until_idle()  # without reconnecting, the OperationalError ends the worker here

    assert len(calls) >= 2
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert [message.to for message in mail.outbox] == [["mara@example.com"]]
    assert "lost its database connection" in caplog.text
    assert "reconnected" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_task_cut_off_by_a_lost_connection_is_run_again_by_the_same_worker(database_tasks, monkeypatch):
    email = email_queue(
        to="mara@example.com", subject="Welcome", body_text="Hello Mara", template="portal_email_changed"
    )
    # The task ran, then neither its success nor its failure could be written: it stays RUNNING
    # under a worker whose heartbeat goes on, so only that worker can know it was cut off.
    fail_once(monkeypatch, DBTaskResult, "set_successful")
    fail_once(monkeypatch, DBTaskResult, "set_failed")

    run_worker_until_idle()

    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert len(task.worker_ids) == 2 and task.worker_ids[0] == task.worker_ids[1]
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert len(mail.outbox) == 1, "sent once: the second run finds the email delivered"


def _lost_mid_task() -> OperationalError:
    """What Django raises when PostgreSQL ends the connection under a running query."""
    error = OperationalError("terminating connection due to administrator command")
    error.__cause__ = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    return error


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_connection_goes_mid_run_is_run_again_not_recorded_failed(database_tasks, monkeypatch):
    from keyport.emails import tasks

    email = email_queue(
        to="mara@example.com", subject="Welcome", body_text="Hello Mara", template="portal_email_changed"
    )
    real_deliver = tasks.email_deliver
    runs: list[int] = []

    def connection_lost_the_first_time(**kwargs):
        runs.append(1)
        if len(runs) == 1:
            raise _lost_mid_task()
        return real_deliver(**kwargs)

    monkeypatch.setattr(tasks, "email_deliver", connection_lost_the_first_time)

    run_worker_until_idle()

    assert len(runs) == 2
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_a_task_failing_on_a_database_error_that_is_no_lost_connection_is_recorded_failed_once(
    database_tasks, monkeypatch
):
    from keyport.emails import tasks

    email_queue(
        to="mara@example.com", subject="Welcome", body_text="Hello Mara", template="portal_email_changed"
    )
    runs: list[int] = []

    def statement_timeout(**kwargs):
        runs.append(1)
        error = OperationalError("canceling statement due to statement timeout")
        error.__cause__ = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
        raise error

    monkeypatch.setattr(tasks, "email_deliver", statement_timeout)

    run_worker_until_idle()

    assert runs == [1]
    assert DBTaskResult.objects.get().status == TaskResultStatus.FAILED


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (InterfaceError("connection already closed"), True),
        (_lost_mid_task(), True),
        (OperationalError("database is locked"), False),
        (ValueError("not a database error"), False),
    ],
)
def test_which_errors_count_as_a_lost_connection(error, lost):
    from keyport.worker.services import connection_was_lost

    assert connection_was_lost(error) is lost


@pytest.mark.django_db(transaction=True)
def test_the_reconnect_pause_doubles_up_to_its_cap(database_tasks, settings, monkeypatch):
    from keyport.worker import services
    from keyport.worker.management.commands import run_worker

    settings.TASK_WORKER_RECONNECT_FIRST_SECONDS = 1
    settings.TASK_WORKER_RECONNECT_MAX_SECONDS = 5
    pauses: list[float] = []
    monkeypatch.setattr(run_worker.time, "sleep", pauses.append)
    real_requeue = services.tasks_requeue_own
    down = iter(range(5))

    def database_down_five_times(*, worker_id):
        if next(down, None) is not None:
            raise OperationalError("connection refused")
        return real_requeue(worker_id=worker_id)

    monkeypatch.setattr(run_worker, "tasks_requeue_own", database_down_five_times)
    fail_once(monkeypatch, DBTaskResultQuerySet, "get_locked")

    run_worker_until_idle()

    assert pauses == [1, 2, 4, 5, 5, 5]


def _terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
            " where datname = %s and pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )
        (count,) = cursor.fetchone()
    return int(count)


def _wait_for(what: Callable[[], object], *, seconds: float, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"the worker exited with {worker.returncode}"
        if what():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def _worker_process(tmp_path: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        # An intent cut off mid-send is leased; the sweep sends it again once the lease runs out.
        "ACCESS_SWEEP_SECONDS": "1",
        "ACCESS_SYNC_LEASE_SECONDS": "2",
        "BILLING_OVERDUE_CHECK_MINUTES": "0",
        "BILLING_RUN_ENABLED": "false",
        "PAYMENTS_AUTOPAY_SWEEP_MINUTES": "0",
        "TASK_RESULTS_KEEP_DAYS": "0",
        "TASK_WORKER_HEARTBEAT_SECONDS": "1",
        "DEBUG": "false",
        "SENSORBERG_ALLOW_PRIVATE_HOSTS": "true",  # the fake Sensorberg listens on 127.0.0.1
    }
    env.pop("EMAIL_HOST", None)
    return subprocess.Popen(  # noqa: S603 (our own manage.py)
        [
            sys.executable,
            "manage.py",
            "run_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.05",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_after_the_database_drops_every_connection_a_revocation_and_a_sign_in_email_still_go_out(
    fake, settings, tmp_path, client, site, tenant
):
    from tests.test_sensorberg import connect

    settings.TASKS = DATABASE_TASKS
    worker = _worker_process(tmp_path)
    try:
        booking = connect(site, tenant, fake)
        _wait_for(lambda: fake.members("A001") and fake.members("A002"), seconds=30, worker=worker)

        # Dropped again and again, so that some drops meet the worker mid-query.
        terminated = 0
        for _ in range(5):
            terminated += _terminate_other_backends()
            time.sleep(0.2)
        assert terminated >= 1
        assert worker.poll() is None, "the worker survived the drops"

        booking_revoke_access(actor=Actor.system("tests"), booking=booking, reason="Overdue")
        client.post("/login/", {"email": tenant.email})
        _terminate_other_backends()

        _wait_for(lambda: not fake.members("A001") and not fake.members("A002"), seconds=30, worker=worker)
        mail_dir = tmp_path / "mail"

        def sign_in_link_sent() -> bool:
            messages = [read_message_file(path) for path in mail_dir.glob("*.eml")]
            return any(to == tenant.email and LINK.search(body) for to, body in messages)

        _wait_for(sign_in_link_sent, seconds=30, worker=worker)
        assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            output, _ = worker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output.decode(errors="replace"))  # noqa: T201 (shown when the test fails)
