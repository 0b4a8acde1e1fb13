"""Staff pages for invoices, payments and each location's billing settings."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.models import BillingProfile, InvoiceStatus
from keyport.billing.pdf import invoice_pdf
from keyport.billing.queries import (
    emails_of_invoice,
    get_invoice_for_operator,
    get_invoice_for_staff,
    overdue_among,
)
from keyport.billing.receivables import AGE_FILTERS, filter_invoices
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.sections_forms import (
    BillingSettingsForm,
    InvoiceForm,
    InvoiceLineFormSet,
    PaymentForm,
    VoidForm,
    form_status,
    lines_from,
)
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.frontdesk.queries import customers_for_staff, get_customer_for_manager
from keyport.lib.form_fields import id_from
from keyport.staff.queries import get_location_for_operator, get_location_for_owner, staff_locations

INVOICES_SHOWN = 200


def _errors(request: StaffRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@staff_required
def invoice_list(request: StaffRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    location_id, customer_id = id_from(request.GET.get("location")), id_from(request.GET.get("customer"))
    age = AGE_FILTERS.get(request.GET.get("age", ""))
    invoices = filter_invoices(
        request.user,
        status=status if status in InvoiceStatus.values else "",
        location_id=location_id,
        customer_id=customer_id,
        age=age,
        now=timezone.now(),
    )
    shown = list(invoices[:INVOICES_SHOWN])
    context = {
        "invoices": shown,
        "invoice_count": invoices.count() if len(shown) == INVOICES_SHOWN else len(shown),
        "overdue_ids": overdue_among(shown),
        "status": status,
        "statuses": InvoiceStatus.choices,
        "location_id": location_id,
        "age": age,
        "ages": AGE_FILTERS.values(),
        "customer": customers_for_staff(request.user).filter(pk=customer_id).first() if customer_id else None,
    }
    context["locations"] = staff_locations(request.user)
    return render(request, "dashboard/billing/invoice_list.html", context)


@staff_required
def invoice_create(request: StaffRequest, location_id: int) -> HttpResponse:
    """New invoice: Find re-renders the form with the customers found (htmx refreshes only that
    part); Create draft submits it."""
    location = get_location_for_operator(request.user, location_id)
    customers = customers_for_staff(request.user).filter(home_location=location)
    submitted = request.method == "POST" and request.POST.get("action") != "find"
    values = request.POST if request.method == "POST" else request.GET
    form = InvoiceForm(
        values if submitted else None,
        initial=None if submitted else values.dict(),
        location=location,
        customers=customers,
        refresh_url=request.path,
    )
    lines = InvoiceLineFormSet(request.POST or None, prefix="lines")
    if submitted and form.is_valid() and lines.is_valid():
        try:
            invoice = billing.invoice_create(
                actor=Actor.staff(request.user),
                location=location,
                lines=lines_from(lines),
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Draft invoice created. Check it, then issue it to give it a number.")
            return redirect("dashboard:invoice_detail", invoice_id=invoice.pk)
    context = {"location": location, "form": form, "lines": lines}
    if request.htmx and request.htmx.target == "invoice-customer":  # type: ignore[attr-defined]
        return render(request, "dashboard/billing/_invoice_customer.html", context)
    status = form_status(request) if submitted else 200
    return render(request, "dashboard/billing/invoice_form.html", context, status=status)


@staff_required
def invoice_detail(request: StaffRequest, invoice_id: int) -> HttpResponse:
    invoice = get_invoice_for_staff(request.user, invoice_id)
    profile = BillingProfile.objects.filter(customer=invoice.customer).first()
    context = {
        "invoice": invoice,
        "can_operate": request.user.can_operate_location(invoice.location),
        "payment_form": PaymentForm(
            initial={"amount": invoice.balance, "received_on": invoice.location.local_now().date()}
        ),
        "void_form": VoidForm(),
        "exempt": profile is not None and profile.lockout_exempt,
        "rule": billing.billing_settings_of(invoice.location),
        "emails": list(emails_of_invoice(invoice)),
    }
    return render(request, "dashboard/billing/invoice_detail.html", context)


@require_POST
@staff_required
def invoice_issue(request: StaffRequest, invoice_id: int) -> HttpResponse:
    invoice = get_invoice_for_operator(request.user, invoice_id)
    try:
        invoice = billing.invoice_issue(actor=Actor.staff(request.user), invoice=invoice)
        messages.success(request, f"Issued as {invoice.number}.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("dashboard:invoice_detail", invoice_id=invoice.pk)


@require_POST
@staff_required
def invoice_void(request: StaffRequest, invoice_id: int) -> HttpResponse:
    invoice = get_invoice_for_operator(request.user, invoice_id)
    form = VoidForm(request.POST)
    try:
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        billing.invoice_void(actor=Actor.staff(request.user), invoice=invoice, reason=reason)
        messages.success(request, "The invoice is void.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("dashboard:invoice_detail", invoice_id=invoice.pk)


@require_POST
@staff_required
def payment_record(request: StaffRequest, invoice_id: int) -> HttpResponse:
    invoice = get_invoice_for_operator(request.user, invoice_id)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, str(message))
        return redirect("dashboard:invoice_detail", invoice_id=invoice.pk)
    try:
        billing.payment_record(actor=Actor.staff(request.user), invoice=invoice, **form.cleaned_data)
        messages.success(request, "Payment recorded.")
    except ValidationError as error:
        _errors(request, error)
    return redirect("dashboard:invoice_detail", invoice_id=invoice.pk)


@staff_required
def invoice_pdf_download(request: StaffRequest, invoice_id: int) -> HttpResponse:
    invoice = get_invoice_for_staff(request.user, invoice_id)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number or f"draft-{invoice.pk}"}.pdf"'
    return response


@require_POST
@staff_required
def customer_lockout_exempt(request: StaffRequest, customer_id: int) -> HttpResponse:
    customer = get_customer_for_manager(request.user, customer_id)
    exempt = request.POST.get("exempt") == "1"
    billing.customer_set_lockout_exempt(actor=Actor.staff(request.user), customer=customer, exempt=exempt)
    messages.success(
        request, f"{customer} is {'now' if exempt else 'no longer'} exempt from the overdue lockout."
    )
    back = request.POST.get("invoice_id", "")
    if back.isdigit():
        return redirect("dashboard:invoice_detail", invoice_id=int(back))
    return redirect("dashboard:invoice_list")


@staff_required
def billing_settings(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_owner(request.user, location_id)
    form = BillingSettingsForm(request.POST or None, instance=billing.billing_settings_of(location))
    if request.method == "POST" and form.is_valid():
        try:
            billing.billing_settings_update(
                actor=Actor.staff(request.user), location=location, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Billing settings saved.")
            return redirect("dashboard:billing_settings", location_id=location.pk)
    context = {"location": location, "form": form}
    return render(request, "dashboard/billing/settings.html", context, status=form_status(request))
