"""Forms of the Units and Unit types pages."""

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from keyport.bookings.unit_states import UnitFilters, UnitState
from keyport.facilities.models import AccessPoint, Location, Unit, UnitKind, UnitType
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm

# The most pages a list is paged to: far beyond any site, inside what an integer holds.
PAGE_MAX = 1_000_000


def _size_field(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, max_digits=7, decimal_places=2, min_value=Decimal("0.01"), **kwargs
    )


class UnitFiltersForm(BootstrapForm):
    day = form_fields.DateField(label="State on", widget=forms.DateInput(attrs={"type": "date"}))
    state = forms.ChoiceField(choices=[("", "Any state"), *UnitState.choices], required=False)
    unit_type = form_fields.ModelChoiceField(
        queryset=UnitType.objects.none(), required=False, label="Type", empty_label="Any type"
    )
    size_from = _size_field("Size from (m²)", required=False)
    size_to = _size_field("Size to (m²)", required=False)
    q = forms.CharField(label="Unit number", max_length=32, required=False)
    page = forms.IntegerField(min_value=1, max_value=PAGE_MAX, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, location: Location, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit_type"].queryset = location.unit_types.order_by("name")  # type: ignore[attr-defined]

    def filters(self) -> UnitFilters:
        data = self.cleaned_data
        return UnitFilters(
            state=data["state"],
            unit_type_id=data["unit_type"].pk if data["unit_type"] else None,
            size_from=data["size_from"],
            size_to=data["size_to"],
            number=data["q"].strip(),
        )


class UnitTypeForm(BootstrapForm):
    name = forms.CharField(max_length=80)
    width_m = forms.DecimalField(label="Width (m)", max_digits=6, decimal_places=2, min_value=Decimal("0.01"))
    depth_m = forms.DecimalField(label="Depth (m)", max_digits=6, decimal_places=2, min_value=Decimal("0.01"))
    monthly_price = forms.DecimalField(
        label="Monthly price", max_digits=10, decimal_places=2, help_text="In the location's currency."
    )


def unit_type_initial(unit_type: UnitType) -> dict[str, object]:
    return {name: getattr(unit_type, name) for name in UnitTypeForm.base_fields}


class UnitForm(BootstrapForm):
    number = forms.CharField(max_length=32)
    kind = forms.ChoiceField(choices=UnitKind.choices)
    size_m2 = _size_field("Size (m²)")
    unit_type = form_fields.ModelChoiceField(
        queryset=UnitType.objects.none(),
        required=False,
        label="Type",
        empty_label="No type",
        help_text="The type's monthly price is what a move-in offers for the unit.",
    )

    def __init__(self, *args: Any, location: Location, unit: Unit | None = None, **kwargs: Any) -> None:
        if unit is not None:
            kwargs.setdefault("initial", {name: getattr(unit, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)
        # Retired types are left out, but a unit keeps showing the one it has.
        offered = Q(retired_at__isnull=True) | Q(pk=unit.unit_type_id if unit else None)
        self.fields["unit_type"].queryset = location.unit_types.filter(offered).order_by("name")  # type: ignore[attr-defined]


class OutOfServiceForm(BootstrapForm):
    reason = forms.CharField(
        max_length=200, label="Reason", help_text="Staff see it on the Units page; tenants never do."
    )


class UnitAccessPointsForm(BootstrapForm):
    access_points = form_fields.ModelMultipleChoiceField(
        queryset=AccessPoint.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Mapped access points",
        help_text="Who holds the unit can open these.",
    )

    def __init__(self, *args: Any, access_points: QuerySet[AccessPoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["access_points"].queryset = access_points  # type: ignore[attr-defined]


class UnitsImportForm(forms.Form):
    kind = forms.ChoiceField(choices=UnitKind.choices, label="The units are")
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "One row a unit: number, type, size, price, then each access point's external identifier. "
            "The size is width x depth in metres (1.5x2) or the area in m² (3). A type this location "
            "has keeps its price: leave the price empty or give the same. A type it does not have is "
            "created from the row when the row gives its price and its size as width x depth; "
            "otherwise the row is refused."
        ),
    )
