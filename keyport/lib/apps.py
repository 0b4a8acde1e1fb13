from django.apps import AppConfig


class LibConfig(AppConfig):
    """The shared helpers; an app only because the rate limits keep their counters in a table."""

    name = "keyport.lib"
    label = "lib"
