from django import forms

from keyport.lib import form_fields


class SignInRequestForm(forms.Form):
    email = form_fields.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True, "class": "form-control"}),
    )


class ContinueForm(forms.Form):
    token = forms.CharField(max_length=100, widget=forms.HiddenInput)
    nonce = forms.CharField(max_length=100, widget=forms.HiddenInput)
