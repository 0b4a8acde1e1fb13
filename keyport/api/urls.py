from django.urls import URLPattern, URLResolver, path

from keyport.api import views

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("access/check", views.access_check, name="access_check"),
    path("openapi.json", views.openapi, name="openapi"),
    path("payments/stripe/webhook", views.stripe_webhook, name="stripe_webhook"),
]
