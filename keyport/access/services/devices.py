"""Device keys: what a door, keypad or lock signs its questions with."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from keyport.access.models import (
    DeviceKey,
)
from keyport.audit.services import Actor, audit_record
from keyport.facilities.models import AccessPoint
from keyport.lib.tokens import token_hash

if TYPE_CHECKING:
    pass


@transaction.atomic
@transaction.atomic
def device_key_issue(*, actor: Actor, access_point: AccessPoint) -> str:
    """Issue (or rotate) an access point's device key; the key is returned once, only its hash kept.
    A rotated key stops working at once."""
    key = "kpd_" + secrets.token_urlsafe(32)
    _, created = DeviceKey.objects.update_or_create(
        access_point=access_point,
        defaults={"key_hash": token_hash(key), "prefix": key[:10], "created_at": timezone.now()},
    )
    audit_record(
        actor=actor,
        action="access.device_key_issued",
        target=access_point,
        location=access_point.location,
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
