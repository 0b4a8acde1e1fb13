from django.contrib import admin

from keyport.cars.models import Car
from keyport.lib.admin import BoundedAdmin


@admin.register(Car)
class CarAdmin(BoundedAdmin):
    list_display = ["plate", "make", "model", "year", "customer", "bay"]
    search_fields = ["plate", "make", "model", "customer__name"]
    list_select_related = ["customer", "bay"]
