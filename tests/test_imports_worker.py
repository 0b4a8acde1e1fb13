"""Import tenants in the real database worker: the import goes on after its task failed mid-chunk,
and invites go at the pace the mail server accepts."""

import datetime as dt
import signal

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.bookings.models import Booking
from keyport.imports import services
from keyport.imports.models import ImportStatus, InvitesStatus, RowOutcome, TenantImport
from tests.cast import site_create
from tests.factories import StaffUserFactory, UnitFactory

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
HEADER = "Customer name,Email,Unit,Move-in date\n"


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def run_worker_until_idle() -> None:
    call_command("run_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)


def uploaded(lines: int) -> TenantImport:
    site = site_create()
    for number in range(4, lines + 1):
        UnitFactory(location=site.location, number=f"A{number:03d}")
    text = HEADER + "".join(f"Tenant {n},t{n}@example.com,A{n:03d},2025-02-01\n" for n in range(1, lines + 1))
    upload = SimpleUploadedFile("tenants.csv", text.encode())
    owner = StaffUserFactory(role="owner")
    return services.tenant_import_upload(
        staff=owner, location=site.location, upload=upload, upload_name="tenants.csv", upload_size=upload.size
    )


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_task_failed_mid_chunk_is_queued_again_and_finishes_once(
    database_tasks, settings, monkeypatch
):
    settings.IMPORT_CHUNK_ROWS = settings.IMPORT_CHECK_CHUNK_LINES = 2
    tenant_import = uploaded(5)
    run_worker_until_idle()
    tenant_import.refresh_from_db()
    assert tenant_import.status == ImportStatus.CHECKED
    real, calls = services.booking_create, []

    def dies_on_the_third(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker is killed")
        return real(**kwargs)

    monkeypatch.setattr(services, "booking_create", dies_on_the_third)
    services.tenant_import_start(staff=tenant_import.created_by, tenant_import=tenant_import)
    run_worker_until_idle()
    failed = DBTaskResult.objects.get(task_path="keyport.imports.tasks.tenant_import_run")
    assert failed.status == TaskResultStatus.FAILED
    tenant_import.refresh_from_db()
    assert (tenant_import.status, tenant_import.rows_done, Booking.objects.count()) == (
        ImportStatus.IMPORTING,
        2,
        2,
    )

    monkeypatch.setattr(services, "booking_create", real)
    run_worker_until_idle()  # its heartbeat queues the import again

    tenant_import.refresh_from_db()
    assert (tenant_import.status, tenant_import.rows_done) == (ImportStatus.DONE, 5)
    assert Booking.objects.count() == 5
    assert set(tenant_import.rows.values_list("outcome", flat=True)) == {RowOutcome.IMPORTED}


@pytest.mark.django_db(transaction=True)
def test_invites_go_at_the_pace_the_mail_server_accepts(database_tasks, settings):
    settings.IMPORT_INVITES_PER_MINUTE = 2
    tenant_import = uploaded(3)
    run_worker_until_idle()
    tenant_import.refresh_from_db()
    services.tenant_import_start(staff=tenant_import.created_by, tenant_import=tenant_import)
    run_worker_until_idle()
    tenant_import.refresh_from_db()
    services.tenant_import_invites_start(staff=tenant_import.created_by, tenant_import=tenant_import)

    run_worker_until_idle()

    tenant_import.refresh_from_db()
    assert (tenant_import.invites_status, tenant_import.invites_done, len(mail.outbox)) == (
        InvitesStatus.SENDING,
        2,
        2,
    )
    waiting = DBTaskResult.objects.get(
        task_path="keyport.imports.tasks.tenant_import_send_invites", status=TaskResultStatus.READY
    )
    assert waiting.run_after > timezone.now() + dt.timedelta(seconds=50)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1, seconds=5)):
        run_worker_until_idle()

    tenant_import.refresh_from_db()
    assert (tenant_import.invites_status, tenant_import.invites_done, len(mail.outbox)) == (
        InvitesStatus.SENT,
        3,
        3,
    )
    assert sorted(message.to[0] for message in mail.outbox) == [f"t{n}@example.com" for n in (1, 2, 3)]


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_task_keeps_failing_is_queued_again_later_each_time_then_no_more(database_tasks):
    from keyport.imports.tasks import IMPORT_TASK_TRIES, imports_ensure_queued, tenant_import_run

    tenant_import = uploaded(3)
    TenantImport.objects.filter(pk=tenant_import.pk).update(status=ImportStatus.IMPORTING)
    DBTaskResult.objects.all().delete()
    waits = []
    for _ in range(IMPORT_TASK_TRIES):
        assert imports_ensure_queued() == 1
        queued = DBTaskResult.objects.get(status=TaskResultStatus.READY)
        waits.append(round((queued.run_after - timezone.now()).total_seconds()) if queued.run_after else 0)
        DBTaskResult.objects.filter(pk=queued.pk).update(status=TaskResultStatus.FAILED)
    assert waits == [0, 0, 30, 60, 120]
    assert imports_ensure_queued() == 0
    assert not DBTaskResult.objects.filter(task_path=tenant_import_run.module_path, status="READY").exists()
