"""Calls to Sensorberg counted per saved login and minute, for the settings page."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from keyport.access.models import ProviderCallTally

logger = logging.getLogger(__name__)

# Minutes of call counts kept; the page shows the last hour and the last success within these.
TALLY_KEPT = dt.timedelta(days=7)


def _call_tally(account_id: int, *, ok: bool) -> None:
    """Count one call in its minute's row: one UPDATE, an INSERT once a minute.

    Counting never fails the call it counts: a database error is logged and the count lost.
    """
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    changes: dict[str, Any] = {"calls": F("calls") + 1}
    if ok:
        changes["last_ok_at"] = now
    else:
        changes["failures"] = F("failures") + 1
    rows = ProviderCallTally.objects.filter(account_id=account_id, minute=minute)
    try:
        if rows.update(**changes):
            return
        try:
            with transaction.atomic():
                ProviderCallTally.objects.create(
                    account_id=account_id,
                    minute=minute,
                    calls=1,
                    failures=0 if ok else 1,
                    last_ok_at=now if ok else None,
                )
        except IntegrityError:  # another process made this minute's row first
            rows.update(**changes)
        ProviderCallTally.objects.filter(account_id=account_id, minute__lt=now - TALLY_KEPT).delete()
    except DatabaseError:
        logger.warning("Sensorberg call of account %s not counted", account_id, exc_info=True)
