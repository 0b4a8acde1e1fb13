import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, F, OuterRef
from django.shortcuts import get_object_or_404

from keyport.billing.models import Invoice, InvoiceStatus
from keyport.contacts.models import Customer
from keyport.facilities.models import Location
from keyport.payments.models import AutopayAttempt, AutopayOutcome, PaymentSettings, SavedCard
from keyport.payments.providers.stripe_api import StripeKeys

STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def payment_settings_of(location: Location) -> PaymentSettings:
    """The location's payment settings, or unsaved defaults."""
    return PaymentSettings.objects.filter(location=location).first() or PaymentSettings(location=location)


def stripe_keys_for(location: Location) -> StripeKeys | None:
    """The location's own Stripe keys, else the install's from the environment; None when neither
    is set, and online payment is off there."""
    own = PaymentSettings.objects.filter(location=location).exclude(stripe_secret_key="").first()
    if own is not None:
        return StripeKeys(own.stripe_secret_key, own.stripe_webhook_secret, settings.STRIPE_API_BASE)
    if settings.STRIPE_SECRET_KEY:
        return StripeKeys(
            settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_API_BASE
        )
    return None


def checkout_origin() -> str:
    """Where Pay sends the tenant: Stripe's Checkout, or the local fake that serves the API too."""
    if settings.STRIPE_API_BASE:
        parts = urllib.parse.urlsplit(settings.STRIPE_API_BASE)
        return f"{parts.scheme}://{parts.netloc}"
    return STRIPE_CHECKOUT_ORIGIN


def saved_cards_for_customer(customer: Customer) -> list[SavedCard]:
    return list(
        SavedCard.objects.filter(customer=customer).select_related("location").order_by("location__name")
    )


def get_saved_card_for_customer(customer: Customer, card_id: int) -> SavedCard:
    return get_object_or_404(SavedCard.objects.select_related("location"), customer=customer, pk=card_id)


@dataclass(frozen=True)
class PayOptions:
    """What the portal offers for a customer's invoices: Pay where a location takes online payment,
    else how to pay there; the last automatic payment that failed, per invoice."""

    online_location_ids: frozenset[int]
    payable_ids: frozenset[int]  # the invoices Pay is shown for
    how_to_pay: list[tuple[Location, str]]
    autopay_failures: dict[int, str]


def pay_options_for(customer: Customer, invoices: Iterable[Invoice], *, with_home: bool = True) -> PayOptions:
    """For Billing, the invoices' locations and the customer's home location (how to pay there,
    before any invoice); for one invoice's page (`with_home=False`), its own location only: its
    bank details are where its money goes."""
    invoices = list(invoices)
    locations = {invoice.location_id: invoice.location for invoice in invoices}
    home = customer.home_location
    if with_home and home is not None and home.pk not in locations:
        locations[home.pk] = home
    online = frozenset(pk for pk, location in locations.items() if stripe_keys_for(location) is not None)
    details = dict(
        PaymentSettings.objects.filter(location__in=list(locations)).values_list(
            "location_id", "bank_details"
        )
    )
    how = [
        (location, details.get(pk, ""))
        for pk, location in sorted(locations.items(), key=lambda item: item[1].name)
        if pk not in online
    ]
    failures = {}
    for attempt in AutopayAttempt.objects.filter(
        invoice__in=[invoice.pk for invoice in invoices if invoice.balance > 0], outcome=AutopayOutcome.FAILED
    ).order_by("created_at", "id"):
        failures[attempt.invoice_id] = attempt.message
    payable = frozenset(
        invoice.pk
        for invoice in invoices
        if invoice.location_id in online and invoice.status == InvoiceStatus.OPEN and invoice.balance > 0
    )
    return PayOptions(
        online_location_ids=online, payable_ids=payable, how_to_pay=how, autopay_failures=failures
    )


def invoices_to_autopay() -> list[int]:
    """The open invoices made after their customer saved a card at the invoice's location (a card
    pays later invoices, not those it was saved beside) and which no automatic payment has tried
    yet: the autopay sweep's, oldest first."""
    carded = SavedCard.objects.filter(
        customer_id=OuterRef("customer_id"),
        location_id=OuterRef("location_id"),
        created_at__lte=OuterRef("created_at"),
    )
    candidates = (
        Invoice.objects.filter(status=InvoiceStatus.OPEN, total__gt=F("amount_paid"))
        .filter(Exists(carded))
        .exclude(autopay_attempts__isnull=False)
        .select_related("location")
        .order_by("pk")[:AUTOPAY_SWEEP_BATCH]
    )
    # A location whose online payment is off (its keys removed) charges nothing until it is on.
    return [invoice.pk for invoice in candidates if stripe_keys_for(invoice.location) is not None]


AUTOPAY_SWEEP_BATCH = 500
