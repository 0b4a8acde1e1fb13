"""The forms of a location's Access points page: add, rename, and the units an access point serves."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from keyport.facilities.models import AccessPointKind, Unit
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm

# Empty names and identifiers are the services' to refuse (with their own words, beside the field),
# so the fields are not required.


class AccessPointForm(BootstrapForm):
    name = forms.CharField(
        label=_("Name"),
        help_text=_("What staff and tenants call it: Main gate."),
        max_length=120,
        required=False,
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=AccessPointKind.choices)
    external_id = forms.CharField(
        label=_("External identifier"),
        help_text=_("What the provider or the keypad knows it by (BER-GATE-1); it cannot change later."),
        max_length=120,
        required=False,
    )


class AccessPointRenameForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)


class AccessPointUnitsForm(BootstrapForm):
    units = form_fields.ModelMultipleChoiceField(
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Units it serves"),
        help_text=_("Who holds one of these units can open it."),
        error_messages={"invalid_choice": _("Choose units of this location only.")},
    )

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = units  # type: ignore[attr-defined]
