"""The public login page at /login/ and the magic links it sends."""

from django.urls import path

from keyport.portal import sign_in_views

app_name = "sign_in"

urlpatterns = [
    path("", sign_in_views.login, name="login"),
    path("link/<str:token>/", sign_in_views.link, name="link"),
    path("continue/", sign_in_views.continue_sign_in, name="continue"),
]
