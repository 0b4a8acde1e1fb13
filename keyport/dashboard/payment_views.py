"""A location's online payment (its own Stripe keys) and how its tenants pay otherwise: a form of
the location's settings page, saved here."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from keyport.audit.services import Actor
from keyport.dashboard.sections_forms import form_status
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.facilities.models import Location
from keyport.lib.bootstrap_forms import BootstrapForm
from keyport.payments.queries import payment_settings_of, stripe_keys_for
from keyport.payments.services import payment_settings_update
from keyport.staff.queries import get_location_for_owner


class PaymentSettingsForm(BootstrapForm):
    bank_details = forms.CharField(
        label="How to pay",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Bank details or other ways to pay, shown in the portal's Billing without online payment.",
    )
    stripe_secret_key = forms.CharField(
        label="Stripe secret key",
        required=False,
        max_length=255,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Only for a Stripe account of this location's own. Leave empty to keep the saved one.",
    )
    stripe_webhook_secret = forms.CharField(
        label="Webhook signing secret",
        required=False,
        max_length=255,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Of the webhook endpoint set up in that Stripe account. Leave empty to keep the saved one.",
    )
    use_global_keys = forms.BooleanField(label="Remove this location's own Stripe keys", required=False)


def payment_context(location: Location, form: PaymentSettingsForm | None = None) -> dict[str, object]:
    """What the location settings page shows of online payment."""
    settings = payment_settings_of(location)
    return {
        "payment_form": form or PaymentSettingsForm(initial={"bank_details": settings.bank_details}),
        "payment_own_keys": bool(settings.stripe_secret_key),
        "payment_online": stripe_keys_for(location) is not None,
    }


@staff_required
def payment_settings(request: StaffRequest, location_id: int) -> HttpResponse:
    """Saves the form of the location settings page; shown on its own only with the form's errors."""
    location = get_location_for_owner(request.user, location_id)
    if request.method != "POST":
        return redirect("dashboard:location_settings", location_id=location.pk)
    form = PaymentSettingsForm(request.POST)
    if form.is_valid():
        try:
            payment_settings_update(actor=Actor.staff(request.user), location=location, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Payment settings saved.")
            return redirect("dashboard:location_settings", location_id=location.pk)
    context = {"location": location, **payment_context(location, form)}
    return render(request, "dashboard/payment_settings.html", context, status=form_status(request))
