from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "keyport.billing"

    def ready(self) -> None:
        # Registers the "Invoice", "Payment reminder", "Access will be locked" and "Payment received"
        # emails, and the invoice PDF they attach.
        from keyport.billing import emails  # noqa: F401
