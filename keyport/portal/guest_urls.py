from django.urls import path

from keyport.portal import guest_views

app_name = "guest"

urlpatterns = [
    path("<str:key>/", guest_views.key_page, name="key"),
    path("<str:key>/open/<int:access_point_id>/", guest_views.key_open, name="open"),
]
