from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "keyport.dashboard"

    def ready(self) -> None:
        # Times each staff sign-in from its first moment (a receiver of user_logged_in).
        from keyport.dashboard import sessions  # noqa: F401
