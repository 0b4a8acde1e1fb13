from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "keyport.events"

    def ready(self) -> None:
        # Registers the event invitation email.
        from keyport.events import emails  # noqa: F401
