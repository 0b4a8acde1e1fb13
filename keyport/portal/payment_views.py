"""The portal's invoice page, Pay (Stripe Checkout), the return from it, and the saved card.

Every invoice and card is looked up through the signed-in person's account. Pay's form posts here
and is answered with a redirect to Checkout, so the pages holding it allow that form action
(Content-Security-Policy form-action covers where a form's redirect goes)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from keyport.billing.queries import get_invoice_for_customer, overdue_among
from keyport.contacts.queries import sections_for_customer
from keyport.contacts.services import contact_actor
from keyport.payments.queries import checkout_origin, get_saved_card_for_customer, pay_options_for
from keyport.payments.services import (
    PaymentServiceDown,
    checkout_return,
    checkout_start,
    saved_card_remove,
)
from keyport.portal.sessions import PortalRequest, full_portal_required, not_in_your_portal, section_shown

SERVICE_DOWN = "The payment service is not answering. Nothing was charged; please try again in a few minutes."


def allow_checkout(response: HttpResponse) -> HttpResponse:
    """A page with a Pay form: its redirect to Checkout is a form action the browser must allow."""
    response._csp_update = {"form-action": [checkout_origin()]}  # type: ignore[attr-defined]
    return response


@full_portal_required
def invoice_page(request: PortalRequest, invoice_id: int) -> HttpResponse:
    if not section_shown(request, "billing"):
        return not_in_your_portal(request)
    invoice = get_invoice_for_customer(request.customer, invoice_id)
    context = {
        "invoice": invoice,
        "overdue": bool(overdue_among([invoice])),
        "pay": pay_options_for(request.customer, [invoice], with_home=False),
        "sections": sections_for_customer(request.customer),
        "section": "billing",
    }
    return allow_checkout(render(request, "portal/sections/invoice.html", context))


@require_POST
@full_portal_required
def invoice_pay(request: PortalRequest, invoice_id: int) -> HttpResponse:
    if not section_shown(request, "billing"):
        return not_in_your_portal(request)
    invoice = get_invoice_for_customer(request.customer, invoice_id)
    page = reverse("portal:invoice", args=[invoice.pk])
    try:
        url = checkout_start(
            contact=request.contact,
            invoice=invoice,
            save_card=request.POST.get("save_card") == "on",
            return_url=request.build_absolute_uri(reverse("portal:invoice_paid", args=[invoice.pk])),
            cancel_url=request.build_absolute_uri(page),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(page)
    except PaymentServiceDown:
        messages.error(request, SERVICE_DOWN)
        return redirect(page)
    return redirect(url)


@full_portal_required
def invoice_paid(request: PortalRequest, invoice_id: int) -> HttpResponse:
    """Back from Checkout: the session is checked with Stripe before anything is recorded."""
    if not section_shown(request, "billing"):
        return not_in_your_portal(request)
    invoice = get_invoice_for_customer(request.customer, invoice_id)
    try:
        paid = checkout_return(invoice=invoice, session_id=request.GET.get("session_id", ""))
    except PaymentServiceDown:
        paid = False
    if paid:
        messages.success(request, "Thank you: your payment is received.")
    else:
        messages.info(request, "Your payment is not confirmed yet. This page shows it as soon as it is.")
    return redirect("portal:invoice", invoice_id=invoice.pk)


@require_POST
@full_portal_required
def saved_card_delete(request: PortalRequest, card_id: int) -> HttpResponse:
    if not section_shown(request, "billing"):
        return not_in_your_portal(request)
    card = get_saved_card_for_customer(request.customer, card_id)
    try:
        saved_card_remove(actor=contact_actor(request.contact), card=card)
    except PaymentServiceDown:
        messages.error(
            request, "The payment service is not answering; your card is still saved. Try again later."
        )
    else:
        messages.success(request, "Your card is removed. Later invoices are no longer paid automatically.")
    return redirect("portal:billing")
