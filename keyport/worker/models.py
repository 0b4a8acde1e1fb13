from django.db import models


class WorkerHeartbeat(models.Model):
    """A running task worker says it is alive; one that falls silent has died."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.hostname} ({self.pid})"


class ScheduleLock(models.Model):
    """A row to lock: whoever holds it may look whether a periodic chain runs and start it, so two
    workers starting together start each chain once (a row lock on PostgreSQL; SQLite's write
    lock, taken at the start of every transaction here, serialises them all the same)."""

    name = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.name
