from typing import Any

from django import forms
from django.db.models import QuerySet

from keyport.facilities.models import Location
from keyport.imports.columns import FIELDS, IGNORED
from keyport.imports.models import TenantImport
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm, style_fields


class TenantImportForm(BootstrapForm):
    location = form_fields.ModelChoiceField(
        queryset=Location.objects.none(), label="Location", empty_label=None
    )
    file = forms.FileField(
        label="Tenants (CSV)",
        help_text=(
            "One line a tenant's unit: customer name, email, phone, unit number, move-in date, "
            "move-out date (if any), monthly rent, balance due. The first line names the columns. "
            "UTF-8 or Windows-1252, separated by commas or semicolons; dates as 2024-03-31 or 31.03.2024."
        ),
    )
    contacts_file = forms.FileField(
        label="Additional contacts (CSV, optional)",
        required=False,
        help_text="One line a person: the customer's email, the contact's name, email and phone.",
    )

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]


class ImportColumnsForm(BootstrapForm):
    """Which column holds each field, for a file whose headers are not all known."""

    def __init__(self, *args: Any, tenant_import: TenantImport, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(IGNORED, "(none)")] + [
            (str(index), header) for index, header in enumerate(tenant_import.headers)
        ]
        for name, (label, required, _names) in FIELDS.items():
            guessed = tenant_import.columns.get(name)
            self.fields[name] = forms.ChoiceField(
                label=str(label) + ("" if required else " (optional)"),
                choices=choices,
                required=required,
                initial="" if guessed is None else str(guessed),
            )
        style_fields(self)  # the fields are added after _Styled styled the form's own

    def columns(self) -> dict[str, int]:
        return {name: int(value) for name, value in self.cleaned_data.items() if value != IGNORED}
