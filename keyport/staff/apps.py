from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "keyport.staff"

    def ready(self) -> None:
        # Registers the staff's emails (invite, password reset).
        from keyport.staff import emails  # noqa: F401
