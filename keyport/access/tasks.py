"""Background work of the access engine: thin, load by id and call a service."""

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus

from keyport.access import services
from keyport.bookings.models import Booking

logger = logging.getLogger(__name__)


@task()
def sync_intent_push(intent_id: int) -> str:
    return str(services.sync_intent_process(intent_id=intent_id).status)


@task()
def booking_access_end(booking_id: int) -> int:
    """Runs at a booking's end instant: ends its grants and its shares' grants."""
    booking = Booking.objects.filter(pk=booking_id).first()
    if booking is None:
        return 0
    return services.grants_end_due(booking=booking)


def access_sweep_run() -> dict[str, int]:
    """One pass of the periodic sweep: ends what is due, re-drives the outbox, reconciles providers."""
    from keyport.facilities.models import AccessProvider, Location

    ended = services.grants_end_due()
    redriven = services.sync_redrive()
    reconciled = 0
    for location in Location.objects.exclude(access_provider=AccessProvider.BUILTIN):
        try:
            reconciled += services.sync_reconcile(
                location=location, units=settings.ACCESS_RECONCILE_UNITS_PER_SWEEP
            )
        except Exception:  # one location's trouble must not keep the others from their reconcile
            logger.exception("Reconcile of location %s failed", location.pk)
    return {"ended": ended, "redriven": redriven, "reconciled": reconciled}


@task()
def access_sweep(again: bool = True) -> dict[str, int]:
    """The periodic sweep; with `again` it queues its next run, so one start keeps it going.

    This is the only periodic mechanism of the access engine: it catches up after downtime
    (a booking that ended while no worker ran) and re-drives what a lost task left pending.
    """
    try:
        return access_sweep_run()
    finally:
        if again:
            every = dt.timedelta(seconds=settings.ACCESS_SWEEP_SECONDS)
            access_sweep.using(run_after=timezone.now() + every).enqueue(True)


def access_sweep_is_scheduled() -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=access_sweep.module_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    ).exists()


def access_sweep_ensure_scheduled() -> bool:
    """Start the sweep's chain unless it runs already; the worker's heartbeat calls this."""
    if access_sweep_is_scheduled():
        return False
    access_sweep.enqueue(True)
    return True
