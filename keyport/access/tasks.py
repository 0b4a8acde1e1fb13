"""Background work of the access engine: thin, load by id and call a service."""

import datetime as dt
import logging

from django.conf import settings
from django_tasks import task

from keyport.access import services
from keyport.bookings.models import Booking
from keyport.facilities.models import AccessProvider, Location
from keyport.lib.periodic import chain_queue_next

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
    """The periodic sweep, a chain of keyport.lib.periodic: the only periodic mechanism of the access
    engine. It catches up after downtime (a booking that ended while no worker ran) and re-drives
    what a lost task left pending."""
    try:
        return access_sweep_run()
    finally:
        if again:
            chain_queue_next(access_sweep, dt.timedelta(seconds=settings.ACCESS_SWEEP_SECONDS))
