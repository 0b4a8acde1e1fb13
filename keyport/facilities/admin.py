from django.contrib import admin

from keyport.facilities.models import AccessPoint, Location, OpeningHours, Unit, UnitAccessPoint


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "country", "time_zone", "access_provider"]
    search_fields = ["name", "city"]
    inlines = [OpeningHoursInline]


class UnitAccessPointInline(admin.TabularInline):
    model = UnitAccessPoint
    extra = 0
    autocomplete_fields = ["access_point"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["number", "location", "kind", "size_m2", "status"]
    list_filter = ["location", "kind", "status"]
    search_fields = ["number"]
    inlines = [UnitAccessPointInline]


@admin.register(AccessPoint)
class AccessPointAdmin(admin.ModelAdmin):
    list_display = ["name", "location", "kind", "external_id"]
    list_filter = ["location", "kind"]
    search_fields = ["name", "external_id"]
