from django.urls import URLPattern, URLResolver, path

from keyport.portal import payment_views, sections_views, settings_views, share_views, views

app_name = "portal"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("tickets/", sections_views.tickets, name="tickets"),
    path("cars/", sections_views.cars, name="cars"),
    path("billing/", sections_views.billing, name="billing"),
    path("documents/", sections_views.documents, name="documents"),
    path("events/", sections_views.events_section, name="events"),
    path("settings/", settings_views.account_settings, name="settings"),
    path("sign-out/", views.sign_out, name="sign_out"),
    # Manage Access.
    path("bookings/<int:booking_id>/access/", share_views.share_manage, name="share_manage"),
    path(
        "bookings/<int:booking_id>/access/<int:share_id>/delete/",
        share_views.share_remove,
        name="share_delete",
    ),
    path(
        "bookings/<int:booking_id>/open/<int:access_point_id>/", share_views.portal_open, name="portal_open"
    ),
]

# Cars, Billing, Documents, Events, tickets and Register interest.
urlpatterns += [
    path("cars/photos/<int:photo_id>/", sections_views.car_photo, name="car_photo"),
    path("billing/invoices/<int:invoice_id>/pdf/", sections_views.invoice_pdf_download, name="invoice_pdf"),
    path("billing/invoices/<int:invoice_id>/", payment_views.invoice_page, name="invoice"),
    path("billing/invoices/<int:invoice_id>/pay/", payment_views.invoice_pay, name="invoice_pay"),
    path("billing/invoices/<int:invoice_id>/paid/", payment_views.invoice_paid, name="invoice_paid"),
    path("billing/cards/<int:card_id>/remove/", payment_views.saved_card_delete, name="saved_card_remove"),
    path("documents/<int:document_id>/", sections_views.document_download, name="document_download"),
    path("tickets/<int:ticket_id>/rsvp/", sections_views.ticket_rsvp, name="ticket_rsvp"),
    path("interest/<int:location_id>/", sections_views.register_interest, name="register_interest"),
]

# Settings: profile, email preferences, sign-in email change.
urlpatterns += [
    path("settings/profile/", settings_views.profile_save, name="settings_profile"),
    path("settings/email/", settings_views.email_change, name="settings_email"),
    path("settings/preferences/", settings_views.preferences_save, name="settings_preferences"),
    path("settings/email/<str:token>/", settings_views.email_confirm, name="email_confirm"),
]
