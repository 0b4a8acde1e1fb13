from django import forms

from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm


class SignInRequestForm(BootstrapForm):
    email = form_fields.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ContinueForm(forms.Form):
    token = forms.CharField(max_length=100, widget=forms.HiddenInput)
    nonce = forms.CharField(max_length=100, widget=forms.HiddenInput)
