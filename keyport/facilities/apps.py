from django.apps import AppConfig


class FacilitiesConfig(AppConfig):
    name = "keyport.facilities"
