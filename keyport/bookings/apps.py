from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "keyport.bookings"

    def ready(self) -> None:
        # Registers the bookings' emails (Welcome, Move-out).
        from keyport.bookings import emails  # noqa: F401
