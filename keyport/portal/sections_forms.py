from django import forms

from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm


class InterestForm(BootstrapForm):
    field_size = "lg"

    first_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    email = form_fields.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = form_fields.PhoneField(widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}))


class ProfileForm(BootstrapForm):
    field_size = "lg"

    first_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    phone = form_fields.PhoneField(widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}))


class EmailChangeForm(BootstrapForm):
    field_size = "lg"

    email = form_fields.EmailField(
        label="New email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class PreferencesForm(BootstrapForm):
    event_invitations = forms.BooleanField(
        label="Email me invitations to events",
        required=False,
    )
