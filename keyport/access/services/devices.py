"""Device keys: what a door, keypad or lock signs its questions with; and retiring an access point,
which takes its device key and its mapping with it."""

from __future__ import annotations

import datetime as dt
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from keyport.access.models import DeviceKey
from keyport.audit.services import Actor, audit_record
from keyport.facilities.models import AccessPoint, UnitAccessPoint
from keyport.lib.tokens import token_hash

# A device's last check is recorded at most this often: the page needs the minute, not the second.
DEVICE_CHECK_RECORD_EVERY = dt.timedelta(minutes=1)

# When this process last recorded a check of each device key (by the key's hash). Only saves the
# statement on the door check's path: the UPDATE's own condition is what keeps it to once a minute
# across processes, so another process needs nothing of this.
_recorded_at: dict[str, dt.datetime] = {}


def _point_locked(access_point: AccessPoint) -> AccessPoint:
    """The access point's row locked until the transaction ends: a key issued while the point is
    retired waits, then sees it retired."""
    return AccessPoint.objects.select_for_update().select_related("location").get(pk=access_point.pk)


@transaction.atomic
def device_key_issue(*, actor: Actor, access_point: AccessPoint) -> str:
    """Issue (or rotate) an access point's device key; the key is returned once, only its hash kept.
    A rotated key stops working at once. A retired access point gets none."""
    point = _point_locked(access_point)
    if point.retired_at is not None:
        raise ValidationError(
            {"access_point": f"{point.name} is retired: it opens nothing and takes no key."}
        )
    key = "kpd_" + secrets.token_urlsafe(32)
    _, created = DeviceKey.objects.update_or_create(
        access_point=point,
        defaults={
            "key_hash": token_hash(key),
            "prefix": key[:10],
            "created_at": timezone.now(),
            "last_check_at": None,
            "last_check_result": "",
        },
    )
    audit_record(
        actor=actor,
        action="access.device_key_issued",
        target=point,
        location=point.location,
        details={"prefix": key[:10], "replaced_a_key": not created},
    )
    return key


@transaction.atomic
def device_key_revoke(*, actor: Actor, access_point: AccessPoint) -> bool:
    """Withdraw an access point's device key (a lost or stolen device): the door's checks are refused
    from now on, until a new key is issued. False when it had none."""
    deleted, _ = DeviceKey.objects.filter(access_point=access_point).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="access.device_key_revoked",
            target=access_point,
            location=access_point.location,
        )
    return bool(deleted)


@transaction.atomic
def access_point_retire(*, actor: Actor, access_point: AccessPoint) -> AccessPoint:
    """Retire an access point for good: it is never offered again and opens nothing. Its device key
    is withdrawn (its door checks are refused from now on) and it serves no unit any more; its
    events stay."""
    point = _point_locked(access_point)
    if point.retired_at is not None:
        return point
    units = sorted(point.units.values_list("number", flat=True))
    UnitAccessPoint.objects.filter(access_point=point).delete()
    key_withdrawn, _ = DeviceKey.objects.filter(access_point=point).delete()
    point.retired_at = timezone.now()
    point.save(update_fields=["retired_at"])
    audit_record(
        actor=actor,
        action="access_point.retired",
        target=point,
        location=point.location,
        details={"units": units, "device_key_withdrawn": bool(key_withdrawn)},
    )
    return point


def device_check_record(*, key: str, result: str, when: dt.datetime) -> None:
    """Note a device's check and its answer on its key, at most once a minute a device: one small
    UPDATE, which this process sends only when its own last one for the key is a minute old."""
    key_hash = token_hash(key)
    last = _recorded_at.get(key_hash)
    if last is not None and last > when - DEVICE_CHECK_RECORD_EVERY:
        return
    _recorded_at[key_hash] = when
    due = Q(last_check_at__isnull=True) | Q(last_check_at__lte=when - DEVICE_CHECK_RECORD_EVERY)
    DeviceKey.objects.filter(due, key_hash=key_hash).update(last_check_at=when, last_check_result=result)
