"""The Staff page's forms: Invite staff member, a member's role and locations, the invitee's password."""

from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordMixin

from keyport.facilities.models import Location
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm
from keyport.staff.models import Role


class StaffScopeForm(BootstrapForm):
    role = forms.ChoiceField(choices=Role.choices, widget=forms.RadioSelect)
    all_locations = forms.BooleanField(
        label="All locations",
        required=False,
        help_text="Every location, present and future. Owners always work at all locations.",
    )
    locations = form_fields.ModelMultipleChoiceField(
        queryset=Location.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Where a manager or employee works, unless All locations.",
    )

    @property
    def role_field(self) -> forms.BoundField:
        # Named so that no template reads like a role comparison (they get capabilities instead).
        return self["role"]


class StaffInviteForm(StaffScopeForm):
    full_name = forms.CharField(label="Name", max_length=150)
    email = form_fields.EmailField(label="Email")

    field_order = ["full_name", "email", "role", "all_locations", "locations"]


class SetPasswordForm(SetPasswordMixin, BootstrapForm):
    """A new password, twice, checked with Django's password validators (by the service that sets it,
    which knows the person)."""

    new_password1, new_password2 = SetPasswordMixin.create_password_fields(
        label1="New password", label2="New password again"
    )

    def clean(self) -> dict[str, Any] | None:
        self.validate_passwords("new_password1", "new_password2")
        return super().clean()


class PasswordResetRequestForm(BootstrapForm):
    email = form_fields.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class TwoFactorCodeForm(BootstrapForm):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )
