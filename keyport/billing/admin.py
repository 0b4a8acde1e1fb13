from django.contrib import admin

from keyport.billing.models import BillingProfile, BillingSettings, Invoice, InvoiceLine, Payment


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "location", "status", "total", "due_on"]
    list_filter = ["status", "location"]
    search_fields = ["number", "customer__name"]
    list_select_related = ["customer", "location"]
    inlines = [InvoiceLineInline, PaymentInline]


admin.site.register(BillingSettings)
admin.site.register(BillingProfile)
