"""The task worker Keyport runs: django-tasks-db's worker plus a heartbeat.

The heartbeat lets any worker tell a live colleague from a dead one, so a
task left RUNNING by a killed worker is queued again instead of lost.
"""

import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from keyport.access.tasks import access_sweep_ensure_scheduled
from keyport.billing.tasks import overdue_check_ensure_scheduled
from keyport.emails.tasks import email_deliveries_ensure_queued
from keyport.worker.services import tasks_requeue_stale, worker_heartbeat, worker_retire


class Command(DatabaseWorkerCommand):
    help = "Run Keyport's background task worker (Ctrl-C stops it)."

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("worker_id") is None or options["worker_id"] == "":
            options["worker_id"] = get_random_string(32)
        worker_id = options["worker_id"]
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(worker_id, stop), daemon=True)
        self._beat_once(worker_id)
        beat.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            beat.join(timeout=5)
            worker_retire(worker_id=worker_id)

    def _beat_once(self, worker_id: str) -> None:
        if not hasattr(self, "_started_at"):
            self._started_at = timezone.now()
        worker_heartbeat(worker_id=worker_id, started_at=self._started_at)
        tasks_requeue_stale()
        email_deliveries_ensure_queued()
        # The access engine's periodic sweep is a self-queueing task; any live worker restarts it.
        if settings.ACCESS_SWEEP_SECONDS:
            access_sweep_ensure_scheduled()
        if settings.BILLING_OVERDUE_CHECK_MINUTES:
            overdue_check_ensure_scheduled()

    def _beat(self, worker_id: str, stop: threading.Event) -> None:
        try:
            while not stop.wait(settings.TASK_WORKER_HEARTBEAT_SECONDS):
                close_old_connections()
                try:
                    self._beat_once(worker_id)
                except Exception:  # A lost database connection must not kill the heartbeat.
                    self.stderr.write("Worker heartbeat failed; retrying.")
        finally:
            connection.close()
