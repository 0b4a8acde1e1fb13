"""Every write of access: grants from bookings and shares, revocation, the sync outbox, decisions.

The rules in one place:
- a booking grants its customer's portal contacts its units for its dates, unless revoked;
- a share grants its guest some of the booking's units for a window inside the booking;
- a share never outlives nor outreaches its booking: whenever the booking changes, its shares
  are clamped or revoked in the same transaction;
- every change of a grant at a provider-connected location commits with its sync intent.

By topic: holders, outbox, grants, transfers, shares, revocation, devices, doors (the door
check's reads and its event), decisions. What other apps use is named here, so they import it
from `keyport.access.services`.
"""

from keyport.access.services.decisions import (
    OK,
    PIN_COUNT_FIELDS,
    Decision,
    DeviceRefused,
    Judgement,
    Reason,
    access_decide,
    access_judge,
    access_point_pin_block_lift,
    device_access_decide,
)
from keyport.access.services.devices import (
    DEVICE_CHECK_RECORD_EVERY,
    access_point_retire,
    device_check_record,
    device_key_issue,
    device_key_revoke,
)
from keyport.access.services.grants import (
    GRANTS_ENDED_PER_SWEEP,
    Window,
    grants_end_due,
    grants_sync_for_booking,
    grants_sync_for_customer,
    grants_sync_for_location,
    unit_windows,
)
from keyport.access.services.holders import (
    NO_FREE_PIN,
    holder_for_contact,
    holder_for_guest,
)
from keyport.access.services.outbox import (
    LATE_PUSH_NOTE,
    SYNC_BACKOFF_CAP,
    SYNC_MAX_ATTEMPTS,
    grants_push_for_location,
    grants_remove_from_provider,
    sync_intent_process,
    sync_intent_retry,
    sync_reconcile,
    sync_redrive,
)
from keyport.access.services.revocation import (
    booking_restore_access,
    booking_revoke_access,
)
from keyport.access.services.shares import (
    ShareRequest,
    share_create,
    share_delete,
    share_refusal,
    share_validate,
)
from keyport.access.services.transfers import (
    Transferred,
    booking_access_end_now,
    grants_transfer,
    grants_transfer_at,
    grants_transfer_cancel,
)

__all__ = [
    "DEVICE_CHECK_RECORD_EVERY",
    "Decision",
    "DeviceRefused",
    "GRANTS_ENDED_PER_SWEEP",
    "Judgement",
    "LATE_PUSH_NOTE",
    "NO_FREE_PIN",
    "OK",
    "PIN_COUNT_FIELDS",
    "Reason",
    "SYNC_BACKOFF_CAP",
    "SYNC_MAX_ATTEMPTS",
    "ShareRequest",
    "Transferred",
    "Window",
    "access_decide",
    "access_judge",
    "access_point_retire",
    "access_point_pin_block_lift",
    "booking_access_end_now",
    "booking_restore_access",
    "booking_revoke_access",
    "device_access_decide",
    "device_check_record",
    "device_key_issue",
    "device_key_revoke",
    "grants_end_due",
    "grants_push_for_location",
    "grants_remove_from_provider",
    "grants_sync_for_booking",
    "grants_sync_for_customer",
    "grants_sync_for_location",
    "grants_transfer",
    "grants_transfer_at",
    "grants_transfer_cancel",
    "holder_for_contact",
    "holder_for_guest",
    "share_create",
    "share_delete",
    "share_refusal",
    "share_validate",
    "sync_intent_process",
    "sync_intent_retry",
    "sync_reconcile",
    "sync_redrive",
    "unit_windows",
]
