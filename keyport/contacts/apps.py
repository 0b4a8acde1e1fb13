from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "keyport.contacts"

    def ready(self) -> None:
        # Registers the portal's emails (invite, sign-in link, email change).
        from keyport.contacts import emails  # noqa: F401
