from django.contrib import admin

from keyport.cars.models import Car


@admin.register(Car)
class CarAdmin(admin.ModelAdmin):
    list_display = ["plate", "make", "model", "year", "customer", "bay"]
    search_fields = ["plate", "make", "model", "customer__name"]
    list_select_related = ["customer", "bay"]
