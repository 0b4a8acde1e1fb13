from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.http import HttpRequest

from keyport.audit.services import Actor
from keyport.facilities.models import ACCESS_POINT_IN_SERVICE, AccessPoint, Location, OpeningHours, Unit
from keyport.facilities.services import unit_map_access_points
from keyport.lib import form_fields
from keyport.lib.admin import BoundedInline, FixedOnceMadeAdmin


class OpeningHoursInline(BoundedInline):
    """Shown here; changed in the dashboard's location settings, where the change is audited."""

    model = OpeningHours
    extra = 0
    can_delete = False
    readonly_fields = ["weekday", "opens_at", "closes_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Location)
class LocationAdmin(FixedOnceMadeAdmin):
    list_display = ["name", "city", "country", "time_zone", "access_provider"]
    search_fields = ["name", "city"]
    # The provider and its login, and a new time zone, are set in the dashboard's location
    # settings (validated, audited, grants pushed again or moved to the new zone's instants).
    readonly_fields = ["access_provider"]
    fixed_once_made = ("time_zone",)
    inlines = [OpeningHoursInline]


class UnitAdminForm(forms.ModelForm):
    # Not the model's `access_points`: the admin would write that many-to-many itself, unaudited.
    mapped_access_points = form_fields.ModelMultipleChoiceField(
        label="Access points",
        queryset=AccessPoint.objects.filter(ACCESS_POINT_IN_SERVICE).select_related("location"),
        required=False,
        widget=FilteredSelectMultiple("access points", is_stacked=False),
        help_text="The gates, doors and locks that open for this unit's holders.",
    )

    class Meta:
        model = Unit
        fields = ["location", "number", "kind", "size_m2", "status"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["mapped_access_points"].initial = list(
                self.instance.access_mappings.values_list("access_point_id", flat=True)
            )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # A unit's location is fixed once made, and no longer in the form then.
        location_id = cleaned["location"].pk if cleaned.get("location") else self.instance.location_id
        foreign = [
            ap.name
            for ap in cleaned.get("mapped_access_points", [])
            if location_id and ap.location_id != location_id
        ]
        if foreign:
            self.add_error(
                "mapped_access_points", f"Not at this unit's location: {', '.join(sorted(foreign))}."
            )
        return cleaned


@admin.register(Unit)
class UnitAdmin(FixedOnceMadeAdmin):
    form = UnitAdminForm
    # Grants and bookings hold the unit where it is, and its number names its access group at
    # the provider.
    fixed_once_made = ("location", "number")
    list_display = ["number", "location", "kind", "size_m2", "status"]
    list_filter = ["location", "kind", "status"]
    search_fields = ["number"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The mapping goes through the service, so it is checked and audited like any other."""
        super().save_related(request, form, formsets, change)
        unit_map_access_points(
            actor=Actor.staff(request.user),  # type: ignore[arg-type]
            unit=form.instance,
            access_points=form.cleaned_data["mapped_access_points"],
        )


@admin.register(AccessPoint)
class AccessPointAdmin(FixedOnceMadeAdmin):
    list_display = ["name", "location", "kind", "external_id", "retired_at"]
    list_filter = ["location", "kind"]
    search_fields = ["name", "external_id"]
    fixed_once_made = ("location",)  # it opens for units of its own location only
