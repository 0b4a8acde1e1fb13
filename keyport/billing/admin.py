from django.contrib import admin

from keyport.billing.models import BillingProfile, BillingSettings, Invoice, InvoiceLine, Payment
from keyport.lib.admin import ShownOnlyAdmin, ShownOnlyInline


class InvoiceLineInline(ShownOnlyInline):
    model = InvoiceLine


class PaymentInline(ShownOnlyInline):
    model = Payment


@admin.register(Invoice)
class InvoiceAdmin(ShownOnlyAdmin):
    """Invoices are issued, paid and voided in the dashboard's Billing: a payment there ends the
    overdue lockout it settles, and every change is audited."""

    list_display = ["number", "customer", "location", "status", "total", "due_on"]
    list_filter = ["status", "location"]
    search_fields = ["number", "customer__name"]
    list_select_related = ["customer", "location"]
    inlines = [InvoiceLineInline, PaymentInline]


@admin.register(BillingSettings)
class BillingSettingsAdmin(ShownOnlyAdmin):
    """Set in the dashboard's billing settings, which apply the lockout rule they change."""


@admin.register(BillingProfile)
class BillingProfileAdmin(ShownOnlyAdmin):
    """A customer's lockout exemption is switched on their page, where locks in place end at once."""
