from django.db import models
from django.utils import timezone

from keyport.lib.times import zone_of


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff"
    CONTACT = "contact", "Contact"
    GUEST = "guest", "Guest"
    DEVICE = "device", "Device"
    SYSTEM = "system", "System"


# Actions whose generic wording ("Access booking synced") would not say what happened.
ACTION_LABELS = {
    "access.booking_synced": "Door access updated",
    "access.booking_revoked": "Access revoked",
    "access.booking_restored": "Access restored",
    "access.shared": "Access shared",
    "access.share_deleted": "Shared access deleted",
    "access.window_ended": "Access window ended",
    "access.sync_retried": "Provider sync retried",
    "access.device_key_issued": "Device key issued",
    "access.device_key_revoked": "Device key revoked",
    "access.pin_block_started": "Keypad blocked after wrong PINs",
    "access.pin_block_lifted": "Keypad block lifted",
    "staff.sign_in_blocked": "Staff sign-in blocked after wrong passwords",
    "car.left_bay": "Car out of its bay (its booking moved out)",
    "car.task": "Task for staff",
    "car.updated": "Car edited",
    "staff.invited": "Invited to the team",
    "staff.invite_resent": "Invite sent again",
    "staff.invite_accepted": "Invite accepted, password set",
    "staff.scope_changed": "Role or locations changed",
    "staff.deactivated": "Deactivated",
    "staff.password_reset_requested": "Password reset asked for",
    "staff.password_reset": "Password reset",
    "staff.two_factor_enabled": "Two-factor sign-in turned on",
    "staff.two_factor_disabled": "Two-factor sign-in turned off",
    "staff.two_factor_reset": "Two-factor sign-in reset by an owner",
    "staff.two_factor_required": "Two-factor sign-in required for all staff",
    "staff.two_factor_not_required": "Two-factor sign-in no longer required",
    "staff.two_factor_recovery_code_used": "Signed in with a recovery code",
    "staff.two_factor_recovery_codes_renewed": "New recovery codes made",
    "access_point.units_mapped": "Units served changed",
    "invoice.online_payment_not_applied": "Online payment not applied (invoice paid or void)",
}


class AuditEntry(models.Model):
    """One change that matters: who did what to which object, and when.

    Written by services in the same transaction as the change itself, so an
    entry exists exactly when the change does.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    # Blank and null only for entries about no stored object (see audit_record).
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_label = models.CharField(max_length=200)
    location = models.ForeignKey(
        "facilities.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    customer = models.ForeignKey(
        "contacts.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"

    @property
    def time_zone(self) -> str:
        """The zone the entry's time shows in: its location's (the install's for an entry of none)."""
        return zone_of(self.location)

    @property
    def action_label(self) -> str:
        """The action in words for staff: "invoice.payment_recorded" reads "Invoice payment recorded"."""
        if self.action in ACTION_LABELS:
            return ACTION_LABELS[self.action]
        return self.action.replace(".", " ").replace("_", " ").capitalize()
