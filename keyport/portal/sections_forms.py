from django import forms

from keyport.lib import form_fields


class InterestForm(forms.Form):
    first_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    email = form_fields.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(
        max_length=32, required=False, widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"})
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-lg"


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    phone = forms.CharField(
        max_length=32, required=False, widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"})
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-lg"


class EmailChangeForm(forms.Form):
    email = form_fields.EmailField(
        label="New email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["email"].widget.attrs["class"] = "form-control form-control-lg"


class PreferencesForm(forms.Form):
    event_invitations = forms.BooleanField(
        label="Email me invitations to events",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
