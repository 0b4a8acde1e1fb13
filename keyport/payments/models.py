from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone


class PaymentSettings(models.Model):
    """A location's online payment: its own Stripe keys (else the install's, from the environment)
    and, for tenants who cannot pay online, how to pay instead. The keys are never shown back in
    full nor logged."""

    location = models.OneToOneField(
        "facilities.Location", on_delete=models.CASCADE, related_name="payment_settings"
    )
    bank_details = models.TextField(
        "how to pay",
        blank=True,
        max_length=1000,
        help_text="Bank details or other ways to pay, shown in the portal's Billing without online payment.",
    )
    stripe_secret_key = models.CharField(max_length=255, blank=True)
    stripe_webhook_secret = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name_plural = "payment settings"

    def __str__(self) -> str:
        return f"Payment settings of {self.location}"

    def __repr__(self) -> str:
        return f"PaymentSettings(location={self.location_id})"


class OnlinePayment(models.Model):
    """One payment made at the provider (a Stripe PaymentIntent) for an invoice. Its provider id is
    unique, so however often and in whatever order the provider tells of it, it is recorded once."""

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="online_payments")
    provider_ref = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    # The billing payment it became; none when the invoice could not take it (already paid, void).
    payment = models.OneToOneField(
        "billing.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="online_payment"
    )
    not_applied_reason = models.CharField(max_length=300, blank=True)
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Online payment {self.provider_ref}"


class SavedCard(models.Model):
    """A card the tenant chose to keep at the provider for automatic payment of later invoices,
    one per customer and location (each location may use its own Stripe account)."""

    customer = models.ForeignKey("contacts.Customer", on_delete=models.CASCADE, related_name="saved_cards")
    location = models.ForeignKey("facilities.Location", on_delete=models.CASCADE, related_name="+")
    provider_customer = models.CharField(max_length=255)
    provider_method = models.CharField(max_length=255)
    brand = models.CharField(max_length=32, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "location"], name="one_saved_card_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.brand.title()} •••• {self.last4}"


class AutopayOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Paid"
    FAILED = "failed", "Failed"


class AutopayAttempt(models.Model):
    """A saved card charged for an issued invoice, and what came of it."""

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE, related_name="autopay_attempts")
    provider_ref = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=12, choices=AutopayOutcome.choices, default=AutopayOutcome.PENDING)
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Automatic payment of {self.invoice}: {self.outcome}"
