from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "keyport.events"
