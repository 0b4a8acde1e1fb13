from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

# The doors' API comes first: it is asked many times a minute, and the resolver tries the
# patterns in order.
urlpatterns = [
    path("api/v1/", include("keyport.api.urls")),
    path("", RedirectView.as_view(pattern_name="sign_in:login", permanent=False)),
    path("login/", include("keyport.portal.sign_in_urls")),
    path("dashboard/", include("keyport.dashboard.urls")),
    path("portal/", include("keyport.portal.urls")),
    path("key/", include("keyport.portal.guest_urls")),
    path("admin/", admin.site.urls),
]

handler500 = "keyport.lib.server_errors.server_error"
