"""The task worker Keyport runs: django-tasks-db's worker plus a heartbeat, kept alive through a
lost database connection.

The heartbeat lets any worker tell a live colleague from a dead one, so a
task left RUNNING by a killed worker is queued again instead of lost.
"""

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from keyport.emails.tasks import email_deliveries_ensure_queued
from keyport.imports.tasks import imports_ensure_queued
from keyport.worker.services import (
    DATABASE_LOST,
    connection_was_lost,
    periodic_chains_ensure_scheduled,
    tasks_requeue_own,
    tasks_requeue_stale,
    worker_heartbeat,
    worker_retire,
)

logger = logging.getLogger(__name__)


class ReconnectingWorker(Worker):
    """django-tasks-db's worker, which ends on any database error, made to wait out a lost
    connection: it drops the broken connection, tries again with a growing pause (capped), puts
    back the task it was running when the connection went, and goes on."""

    def run(self) -> None:
        while self.running:
            try:
                super().run()
                return
            except DATABASE_LOST as error:
                self.startup_delay = False
                self._reconnect(error)

    def run_task(self, db_task_result: DBTaskResult) -> None:
        """Runs the task; one that fails because the database connection went from under it is not
        recorded as failed but left RUNNING, and the error ends the run loop: _reconnect() then
        puts it back in the queue and this worker runs it again."""
        record_failure = db_task_result.set_failed

        def set_failed(error: BaseException) -> None:
            if connection_was_lost(error):
                raise error
            record_failure(error)

        db_task_result.set_failed = set_failed
        super().run_task(db_task_result)

    def _reconnect(self, error: Exception) -> None:
        pause = settings.TASK_WORKER_RECONNECT_FIRST_SECONDS
        while self.running:
            _drop_connection()
            logger.warning(
                "Worker %s lost its database connection (%s); trying again in %.1f s",
                self.worker_id,
                type(error).__name__,
                pause,
            )
            time.sleep(pause)
            try:
                # Run while no task of ours is: whatever of ours is RUNNING was cut off by the loss.
                requeued = tasks_requeue_own(worker_id=self.worker_id)
            except DATABASE_LOST as again:
                error = again
                pause = min(pause * 2, settings.TASK_WORKER_RECONNECT_MAX_SECONDS)
                continue
            logger.warning(
                "Worker %s reconnected to the database and goes on (%s task(s) queued again)",
                self.worker_id,
                requeued,
            )
            return


def _drop_connection() -> None:
    try:
        connection.close()
    except DatabaseError:
        connection.connection = None  # closing a dead connection can fail; forget it all the same


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
            self._run(**options)
        finally:
            stop.set()
            beat.join(timeout=5)
            try:
                worker_retire(worker_id=worker_id)
            except DATABASE_LOST:  # its heartbeat then falls silent and is cleared by another worker
                logger.warning("Worker %s stopped without reaching the database", worker_id)

    def _run(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options: Any,
    ) -> None:
        """django-tasks-db's handle(), with the reconnecting worker in place of its own."""
        self.configure_logging(verbosity)
        if exclude_queues and "*" not in queue_name.split(","):
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ReconnectingWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()

    def _beat_once(self, worker_id: str) -> None:
        if not hasattr(self, "_started_at"):
            self._started_at = timezone.now()
        worker_heartbeat(worker_id=worker_id, started_at=self._started_at)
        tasks_requeue_stale()
        email_deliveries_ensure_queued()
        imports_ensure_queued()
        periodic_chains_ensure_scheduled()

    def _beat(self, worker_id: str, stop: threading.Event) -> None:
        try:
            while not stop.wait(settings.TASK_WORKER_HEARTBEAT_SECONDS):
                close_old_connections()
                try:
                    self._beat_once(worker_id)
                except Exception:  # A lost database connection must not kill the heartbeat.
                    logger.warning("Worker %s heartbeat failed; retrying", worker_id, exc_info=True)
                    _drop_connection()
        finally:
            connection.close()
