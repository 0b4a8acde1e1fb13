from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "keyport.access"

    def ready(self) -> None:
        # Registers the "Shared Access", "Access revoked" and "Access restored" emails.
        from keyport.access import emails  # noqa: F401
