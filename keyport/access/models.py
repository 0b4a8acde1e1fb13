"""Who may open which access point when: holders, grants, shares, the sync outbox, events.

`AccessGrant` is the single truth; only `keyport.access.services` writes it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


class AccessHolder(models.Model):
    """A person who may open doors at one location: a portal contact, or a guest known by email.

    Holds the person's PIN there (unique within the location) and the hash of their digital key
    (the guest key link); the key itself is only ever in the email.
    """

    location = models.ForeignKey("facilities.Location", on_delete=models.CASCADE, related_name="holders")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="access_holders"
    )
    email = models.EmailField(help_text="For guests: the address the share was sent to.")
    name = models.CharField(max_length=200, blank=True)
    pin = models.CharField(max_length=10)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["location", "email"]
        constraints = [
            models.UniqueConstraint(fields=["location", "pin"], name="holder_pin_unique_per_location"),
            models.UniqueConstraint(
                fields=["location", "contact"],
                condition=Q(contact__isnull=False),
                name="holder_contact_unique_per_location",
            ),
            models.UniqueConstraint(
                fields=["location", "email"],
                condition=Q(contact__isnull=True),
                name="holder_guest_email_unique_per_location",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def is_guest(self) -> bool:
        return self.contact_id is None


class ShareState(models.TextChoices):
    ACTIVE = "active", "Active"
    DELETED = "deleted", "Deleted by the tenant"
    REVOKED = "revoked", "Revoked"


class SharedAccess(models.Model):
    """A tenant's Share Access: one guest, some units of one booking, a window of local dates."""

    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="shares")
    holder = models.ForeignKey(AccessHolder, on_delete=models.PROTECT, related_name="shares")
    shared_by = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="shares_made"
    )
    units: models.ManyToManyField = models.ManyToManyField("facilities.Unit", related_name="shares")
    starts_on = models.DateField()
    ends_on = models.DateField()
    state = models.CharField(max_length=16, choices=ShareState.choices, default=ShareState.ACTIVE)
    # Set when the operator's Revoke access took this share away: Restore access gives it back.
    revoked_with_booking = models.BooleanField(default=False)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_on", "id"]
        indexes = [models.Index(fields=["booking", "state"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="share_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"Share #{self.pk} with {self.holder.email}"

    def starts_at(self) -> dt.datetime:
        return self.booking.location.start_of_day(self.starts_on)

    def ends_at(self) -> dt.datetime:
        return self.booking.location.start_of_day(self.ends_on + dt.timedelta(days=1))

    def is_current_at(self, when: dt.datetime) -> bool:
        return self.state == ShareState.ACTIVE and self.starts_at() <= when < self.ends_at()


class GrantOrigin(models.TextChoices):
    BOOKING = "booking", "Booking"
    SHARE = "share", "Shared access"


class GrantState(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"
    ENDED = "ended", "Ended"


class SyncState(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"


class AccessGrant(models.Model):
    """One holder may open one unit's access points from `starts_at` until `ends_at` (None: open-ended)."""

    holder = models.ForeignKey(AccessHolder, on_delete=models.PROTECT, related_name="grants")
    unit = models.ForeignKey("facilities.Unit", on_delete=models.PROTECT, related_name="grants")
    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="grants")
    share = models.ForeignKey(
        SharedAccess, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    origin = models.CharField(max_length=16, choices=GrantOrigin.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=GrantState.choices, default=GrantState.ACTIVE)
    revoked_reason = models.CharField(max_length=300, blank=True)
    # Set when the operator's Revoke access took this grant: Restore access gives it back.
    revoked_with_booking = models.BooleanField(default=False)
    sync_state = models.CharField(max_length=16, choices=SyncState.choices, default=SyncState.SYNCED)
    sync_error = models.TextField(blank=True)
    # A push that got no answer may still be applied by the provider until then: a removal sent
    # before this instant is sent again after it, or the late push would give the access back.
    push_may_land_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["holder", "unit"]),
            models.Index(fields=["booking", "state"]),
            models.Index(fields=["state", "ends_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="grant_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Grant #{self.pk}: {self.holder} → {self.unit}"

    @property
    def membership_ref(self) -> str:
        """The grant's stable name at the provider: pushing it twice never makes two."""
        return f"{MEMBERSHIP_REF_PREFIX}{self.pk}"


class SyncOperation(models.TextChoices):
    UPSERT = "upsert", "Push"
    DELETE = "delete", "Remove"


# What a grant is called at a provider: this prefix and its id.
MEMBERSHIP_REF_PREFIX = "keyport-grant-"


class SyncIntentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"  # a worker is calling the provider; `next_attempt_at` ends its lease
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"


class SyncIntent(models.Model):
    """The outbox: the provider must learn a grant's state; committed with the grant's change.

    The call is worked out when the intent is sent, from the grant as it is then (`operation`
    records the call made): its membership while it opens and the location still uses that
    provider, else none. A grant's intents are sent one at a time: however their outcomes
    interleave, the provider ends with the grant's latest state.
    """

    grant = models.ForeignKey(AccessGrant, on_delete=models.CASCADE, related_name="sync_intents")
    # The provider the grant's state goes to: the location's when the intent was made. A location
    # that leaves it for another still has its grants removed there.
    provider = models.CharField(max_length=16, default="sensorberg")
    operation = models.CharField(max_length=16, choices=SyncOperation.choices)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True)
    status = models.CharField(
        max_length=16, choices=SyncIntentStatus.choices, default=SyncIntentStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} grant {self.grant_id} ({self.status})"


class EventIdField(models.BigAutoField):
    """A primary key that SQLite numbers without AUTOINCREMENT.

    AUTOINCREMENT keeps the highest id in a table of its own, one more page written by every
    insert; the access check writes an event on every door's question. Without it SQLite takes
    the highest id plus one, which could give a deleted newest event's id again: events are
    deleted only with their location.
    """

    def db_type_suffix(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "sqlite":
            return None
        return super().db_type_suffix(connection)  # type: ignore[misc]  # missing from django-stubs


class AccessEvent(models.Model):
    """One decision at a door, keypad or Open button: allowed or denied, why, for whom, when."""

    id = EventIdField(primary_key=True)

    class Channel(models.TextChoices):
        DEVICE = "device", "Door or keypad"
        PORTAL = "portal", "Portal Open button"
        GUEST = "guest", "Guest key page"

    # Every check writes one row, so the table has two indexes only (Meta.indexes): a location's
    # events by time, and a unit's events by booking and time, which also serves a tenant's events
    # (an event names a unit exactly when it names a booking: both come from the grant it rests on).
    # Nothing reads events by access point or holder; deleting one of those, or a booking (admin
    # only), clears the reference with one scan of the table.
    # The references have no constraint in the database (db_constraint=False): one would make every
    # insert look up five rows and, on PostgreSQL, lock them, the same location and access point
    # rows for every check at a door, which concurrent checks then queue on. Deletes go through
    # the ORM, which still applies on_delete (CASCADE for the location, SET_NULL for the rest).
    location = models.ForeignKey(
        "facilities.Location",
        on_delete=models.CASCADE,
        related_name="access_events",
        db_index=False,
        db_constraint=False,
    )
    access_point = models.ForeignKey(
        "facilities.AccessPoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    unit = models.ForeignKey(
        "facilities.Unit",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_events",
        db_index=False,
        db_constraint=False,
    )
    holder = models.ForeignKey(
        AccessHolder,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    booking = models.ForeignKey(
        "bookings.Booking",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_events",
        db_index=False,
        db_constraint=False,
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    allowed = models.BooleanField()
    reason = models.CharField(max_length=32)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["location", "occurred_at"]),
            models.Index(fields=["unit", "booking", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{'Allowed' if self.allowed else 'Denied'} ({self.reason})"


class DeviceKey(models.Model):
    """The key one access point's device uses on the access check API; only its SHA-256 is kept."""

    access_point = models.OneToOneField(
        "facilities.AccessPoint", on_delete=models.CASCADE, related_name="device_key"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to recognise it.")
    created_at = models.DateTimeField(default=timezone.now)
    # The device's last check and its answer ("ok", "unknown_pin", "wrong_access_point", ...),
    # recorded at most about once a minute (see access.services.device_check_record): enough to
    # tell a dead or misconfigured keypad, cheap on the door check's path.
    last_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_check_result = models.CharField(max_length=32, blank=True, default="", editable=False)

    def __str__(self) -> str:
        return f"Device key {self.prefix}… of {self.access_point}"


class SensorbergAccount(models.Model):
    """A location's login at Sensorberg's cloud. The secret is never shown back in full nor logged."""

    location = models.OneToOneField(
        "facilities.Location", on_delete=models.CASCADE, related_name="sensorberg_account"
    )
    base_url = models.URLField()
    client_id = models.CharField(max_length=200)
    client_secret = models.CharField(max_length=500)
    # The bearer token last issued for this login, shared by every process, so that it can be
    # revoked when the login changes; as secret as the client secret, never shown.
    access_token = models.CharField(max_length=2000, blank=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Sensorberg account of {self.location}"

    def __repr__(self) -> str:
        return f"SensorbergAccount(location={self.location_id}, client_id={self.client_id!r})"

    @property
    def masked_secret(self) -> str:
        return f"••••{self.client_secret[-4:]}" if len(self.client_secret) > 8 else "••••"


# The reason billing's overdue lockout revokes a booking's access with; what tells the lockout from
# the operator's Revoke access is the revocation's origin, never this text.
OVERDUE_REASON = "overdue"


class RevocationOrigin(models.TextChoices):
    OPERATOR = "operator", "Revoke access by staff"
    OVERDUE = "overdue", "Overdue lockout"


class BookingAccess(models.Model):
    """The operator's Revoke access on a booking: while revoked, nobody of the booking gets in."""

    booking = models.OneToOneField("bookings.Booking", on_delete=models.CASCADE, related_name="access")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True)
    revoked_origin = models.CharField(max_length=16, choices=RevocationOrigin.choices, blank=True)

    def __str__(self) -> str:
        return f"Access of {self.booking}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_overdue_lock(self) -> bool:
        return self.is_revoked and self.revoked_origin == RevocationOrigin.OVERDUE


class ReconcileCursor(models.Model):
    """Where the sliced reconcile of a location stopped: the last unit it read back.

    A row, not a cache entry, so a full or cleared cache does not send the reconcile back to
    the first units over and over while the last ones are never read back.
    """

    location = models.OneToOneField(
        "facilities.Location", on_delete=models.CASCADE, related_name="reconcile_cursor"
    )
    after_unit_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reconcile of {self.location} after unit {self.after_unit_id}"


class ProviderCallTally(models.Model):
    """How many calls one Sensorberg login made in one minute, how many failed, and when one last
    succeeded: the location's settings page shows the last hour."""

    account = models.ForeignKey(SensorbergAccount, on_delete=models.CASCADE, related_name="call_tallies")
    minute = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    last_ok_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "minute"], name="one_tally_a_minute")]

    def __str__(self) -> str:
        return f"{self.calls} calls at {self.minute:%Y-%m-%d %H:%M}"


class MissingAccessGroup(models.Model):
    """An External Identifier the Sensorberg login found no access group for when it last looked;
    gone again once a group with it is found."""

    account = models.ForeignKey(SensorbergAccount, on_delete=models.CASCADE, related_name="missing_groups")
    external_id = models.CharField(max_length=200)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="one_missing_group_a_unit")
        ]

    def __str__(self) -> str:
        return f"No access group for {self.external_id}"
