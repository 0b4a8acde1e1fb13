"""Enqueue background work only once the surrounding transaction has committed."""

import datetime as dt
from functools import partial
from typing import Any

from django.db import transaction
from django_tasks.base import Task


def enqueue_on_commit(
    task: Task[Any, Any], *args: Any, run_after: dt.datetime | None = None, **kwargs: Any
) -> None:
    """A worker must never see an id whose row has not committed, nor work for a rolled-back change."""
    configured = task.using(run_after=run_after) if run_after is not None else task
    transaction.on_commit(partial(configured.enqueue, *args, **kwargs))
