from django import forms


class SignInRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True, "class": "form-control"}),
    )


class ContinueForm(forms.Form):
    token = forms.CharField(max_length=100, widget=forms.HiddenInput)
    nonce = forms.CharField(max_length=100, widget=forms.HiddenInput)
