from django.contrib.auth import views as auth_views
from django.urls import path

from keyport.dashboard import (
    contacts_views,
    customer_app_views,
    customers_views,
    emails_views,
    password_views,
    staff_sign_in,
    views,
)

app_name = "dashboard"

urlpatterns = [
    path("login/", staff_sign_in.StaffLoginView.as_view(), name="login"),
    path("login/code/", staff_sign_in.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", password_views.password_reset, name="password_reset"),
    path(
        "password-reset/<uidb64>/<token>/",
        password_views.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path("", views.home, name="home"),
    path("locations/<int:location_id>/", views.location_detail, name="location_detail"),
    path("locations/<int:location_id>/settings/", views.location_settings, name="location_settings"),
    path(
        "locations/<int:location_id>/settings/test-connection/",
        views.location_test_connection,
        name="location_test_connection",
    ),
    path(
        "locations/<int:location_id>/access-mapping/",
        views.location_mapping_upload,
        name="location_mapping_upload",
    ),
]

# All Contacts, customers, email templates, Settings > Website & customer app.
urlpatterns += [
    path("contacts/", contacts_views.all_contacts, name="all_contacts"),
    path("contacts/settings/", contacts_views.contacts_table_settings, name="contacts_table_settings"),
    path("contacts/report.csv", contacts_views.customer_report, name="customer_report"),
    path("contacts/<int:contact_id>/invite/", contacts_views.contact_invite, name="contact_invite"),
    path("contacts/<int:contact_id>/edit/", customers_views.contact_edit, name="contact_edit"),
    path("customers/<int:customer_id>/", customers_views.customer_detail, name="customer_detail"),
    path(
        "customers/<int:customer_id>/contacts/add/", customers_views.customer_contact_add, name="contact_add"
    ),
    path("customers/<int:customer_id>/active/", customers_views.customer_active, name="customer_active"),
    path("emails/", emails_views.email_templates, name="email_templates"),
    path("emails/<str:key>/", emails_views.email_template_edit, name="email_template_edit"),
    path("emails/<str:key>/preview/", emails_views.email_template_preview, name="email_template_preview"),
    path("emails/<str:key>/reset/", emails_views.email_template_reset_view, name="email_template_reset"),
    path(
        "emails/<str:key>/send-test/",
        emails_views.email_template_send_test_view,
        name="email_template_send_test",
    ),
    path("customer-app/", customer_app_views.customer_app, name="customer_app"),
    path(
        "locations/<int:location_id>/customer-app/",
        customer_app_views.location_customer_app,
        name="location_customer_app",
    ),
    path(
        "locations/<int:location_id>/customer-app/branding/",
        customer_app_views.location_branding,
        name="location_branding",
    ),
]

# Billing, documents, events and cars.
from keyport.dashboard import (  # noqa: E402
    billing_views,
    cars_views,
    documents_views,
    events_views,
    payment_views,
    receivables_views,
)

urlpatterns += [
    path("billing/", billing_views.invoice_list, name="invoice_list"),
    path("billing/receivables/", receivables_views.receivables, name="receivables"),
    path("billing/receivables.csv", receivables_views.receivables_csv, name="receivables_csv"),
    path("locations/<int:location_id>/invoices/new/", billing_views.invoice_create, name="invoice_create"),
    path("locations/<int:location_id>/billing/", billing_views.billing_settings, name="billing_settings"),
    path("locations/<int:location_id>/payments/", payment_views.payment_settings, name="payment_settings"),
    path("billing/invoices/<int:invoice_id>/", billing_views.invoice_detail, name="invoice_detail"),
    path("billing/invoices/<int:invoice_id>/issue/", billing_views.invoice_issue, name="invoice_issue"),
    path("billing/invoices/<int:invoice_id>/void/", billing_views.invoice_void, name="invoice_void"),
    path("billing/invoices/<int:invoice_id>/payments/", billing_views.payment_record, name="payment_record"),
    path("billing/invoices/<int:invoice_id>/pdf/", billing_views.invoice_pdf_download, name="invoice_pdf"),
    path(
        "customers/<int:customer_id>/lockout-exempt/",
        billing_views.customer_lockout_exempt,
        name="customer_lockout_exempt",
    ),
    path(
        "customers/<int:customer_id>/documents/",
        documents_views.customer_documents,
        name="customer_documents",
    ),
    path(
        "customers/<int:customer_id>/documents/<int:document_id>/",
        documents_views.document_download,
        name="document_download",
    ),
    path(
        "customers/<int:customer_id>/documents/<int:document_id>/visibility/",
        documents_views.document_visibility,
        name="document_visibility",
    ),
    path(
        "customers/<int:customer_id>/documents/<int:document_id>/delete/",
        documents_views.document_delete,
        name="document_delete",
    ),
    path("events/", events_views.event_list, name="event_list"),
    path("events/new/", events_views.event_create, name="event_create"),
    path("events/<int:event_id>/", events_views.event_detail, name="event_detail"),
    path("events/<int:event_id>/invite/", events_views.event_invite, name="event_invite"),
    path(
        "events/<int:event_id>/check-in/",
        events_views.ticket_check_in_by_code,
        name="ticket_check_in_by_code",
    ),
    path(
        "events/<int:event_id>/tickets/<int:ticket_id>/check-in/",
        events_views.ticket_check_in,
        name="ticket_check_in",
    ),
    path("leads/", events_views.lead_list, name="lead_list"),
    path("leads/<int:customer_id>/convert/", events_views.lead_convert, name="lead_convert"),
    path("cars/", cars_views.car_list, name="car_list"),
    path("cars/<int:car_id>/", cars_views.car_detail, name="car_detail"),
    path("cars/<int:car_id>/assign/", cars_views.car_assign, name="car_assign"),
    path("cars/<int:car_id>/move/", cars_views.car_move, name="car_move"),
    path("cars/<int:car_id>/photos/", cars_views.car_photo_add, name="car_photo_add"),
    path("cars/<int:car_id>/photos/<int:photo_id>/", cars_views.car_photo, name="car_photo"),
    path("cars/<int:car_id>/notes/", cars_views.car_notes, name="car_notes"),
    path("cars/<int:car_id>/edit/", cars_views.car_edit, name="car_edit"),
    path("customers/<int:customer_id>/cars/new/", cars_views.car_create, name="car_create"),
]

# Bookings' access: grants, shares, Revoke / Restore access, access events.
from keyport.dashboard import booking_views, move_out_views, rentals_views  # noqa: E402

urlpatterns += [
    path("bookings/<int:booking_id>/", booking_views.booking_detail, name="booking_detail"),
    path("bookings/<int:booking_id>/revoke-access/", booking_views.booking_revoke, name="booking_revoke"),
    path("bookings/<int:booking_id>/restore-access/", booking_views.booking_restore, name="booking_restore"),
    path(
        "bookings/<int:booking_id>/move-out/", move_out_views.booking_move_out_view, name="booking_move_out"
    ),
    path(
        "bookings/<int:booking_id>/move-out/cancel/",
        move_out_views.booking_move_out_cancel_view,
        name="booking_move_out_cancel",
    ),
    path("bookings/<int:booking_id>/cancel/", move_out_views.booking_cancel_view, name="booking_cancel"),
    path(
        "bookings/<int:booking_id>/transfer/", move_out_views.booking_transfer_view, name="booking_transfer"
    ),
    path(
        "bookings/<int:booking_id>/transfer/units/",
        move_out_views.booking_transfer_units,
        name="booking_transfer_units",
    ),
    path(
        "bookings/<int:booking_id>/transfer/<int:unit_id>/cancel/",
        move_out_views.booking_transfer_cancel_view,
        name="booking_transfer_cancel",
    ),
    path(
        "bookings/<int:booking_id>/grants/<int:grant_id>/retry-sync/",
        booking_views.grant_sync_retry,
        name="grant_sync_retry",
    ),
    path(
        "locations/<int:location_id>/retry-sync/",
        booking_views.location_sync_retry,
        name="location_sync_retry",
    ),
    path("locations/<int:location_id>/bookings/", rentals_views.location_bookings, name="location_bookings"),
]

# Rentals: every booking by phase, per location and across the staff member's locations.
urlpatterns += [
    path("rentals/", rentals_views.rentals, name="rentals"),
    path("locations/<int:location_id>/rentals/", rentals_views.location_rentals, name="location_rentals"),
]

# A location's access events, filtered by unit and decision, paged by cursor.
from keyport.dashboard import access_events_views  # noqa: E402

urlpatterns += [
    path(
        "locations/<int:location_id>/access-events/",
        access_events_views.location_access_events,
        name="location_access_events",
    ),
]

# Keypads blocked by wrong PINs: Lift block (the alert is on the Overview and the location page).
from keyport.dashboard import keypad_views  # noqa: E402

urlpatterns += [
    path(
        "locations/<int:location_id>/access-points/<int:access_point_id>/lift-block/",
        keypad_views.access_point_lift_block,
        name="access_point_lift_block",
    ),
]

# Access points: add, rename, retire, the units each serves, device keys.
from keyport.dashboard import access_points_views  # noqa: E402

_POINT = "locations/<int:location_id>/access-points/<int:access_point_id>/"
urlpatterns += [
    path(
        "locations/<int:location_id>/access-points/",
        access_points_views.location_access_points,
        name="location_access_points",
    ),
    path(_POINT, access_points_views.access_point_detail, name="access_point_detail"),
    path(f"{_POINT}units/", access_points_views.access_point_units, name="access_point_units"),
    path(f"{_POINT}retire/", access_points_views.access_point_retire_view, name="access_point_retire"),
    path(f"{_POINT}device-key/", access_points_views.access_point_device_key, name="access_point_device_key"),
    path(
        f"{_POINT}device-key/withdraw/",
        access_points_views.access_point_device_key_withdraw,
        name="access_point_device_key_withdraw",
    ),
]

# Units: each unit's state on a day, unit types, the units import.
from keyport.dashboard import units_views  # noqa: E402

urlpatterns += [
    path("locations/<int:location_id>/units/", units_views.location_units, name="location_units"),
    path("locations/<int:location_id>/units/new/", units_views.unit_create, name="unit_create"),
    path("locations/<int:location_id>/units/import/", units_views.units_import, name="units_import"),
    path("units/<int:unit_id>/", units_views.unit_edit, name="unit_edit"),
    path("units/<int:unit_id>/service/", units_views.unit_service, name="unit_service"),
    path("units/<int:unit_id>/access-points/", units_views.unit_access_points, name="unit_access_points"),
    path("units/<int:unit_id>/retire/", units_views.unit_retire, name="unit_retire"),
    path(
        "locations/<int:location_id>/unit-types/", units_views.location_unit_types, name="location_unit_types"
    ),
    path("unit-types/<int:unit_type_id>/", units_views.unit_type_edit, name="unit_type_edit"),
    path("unit-types/<int:unit_type_id>/retire/", units_views.unit_type_retire, name="unit_type_retire"),
    path("unit-types/<int:unit_type_id>/delete/", units_views.unit_type_delete, name="unit_type_delete"),
]

# The front desk: New customer, Move in.
from keyport.dashboard import move_in_views  # noqa: E402

urlpatterns += [
    path("customers/new/", move_in_views.customer_new, name="customer_new"),
    path("locations/<int:location_id>/move-in/", move_in_views.move_in, name="move_in"),
]

# Staff (owners): the team, invites, role and locations, Deactivate; the invite link itself.
from keyport.dashboard import staff_views  # noqa: E402

urlpatterns += [
    path("staff/", staff_views.staff_list, name="staff_list"),
    path("staff/invite/", staff_views.staff_invite_view, name="staff_invite"),
    path("staff/<int:member_id>/", staff_views.staff_member, name="staff_member"),
    path(
        "staff/<int:member_id>/resend-invite/",
        staff_views.staff_invite_resend_view,
        name="staff_invite_resend",
    ),
    path("staff/<int:member_id>/deactivate/", staff_views.staff_deactivate_view, name="staff_deactivate"),
    path("invite/<str:token>/", staff_views.staff_invite_accept_view, name="staff_invite_accept"),
    path("staff/two-factor/", staff_views.team_two_factor, name="team_two_factor"),
    path(
        "staff/<int:member_id>/two-factor-reset/",
        staff_views.staff_two_factor_reset,
        name="staff_two_factor_reset",
    ),
]

# Two-factor sign-in: each staff member's own.
from keyport.dashboard import two_factor_views  # noqa: E402

urlpatterns += [
    path("two-factor/", two_factor_views.two_factor, name="two_factor"),
    path(
        "two-factor/recovery-codes/",
        two_factor_views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("two-factor/disable/", two_factor_views.two_factor_disable_view, name="two_factor_disable"),
]

# Import tenants (owners): Check first, the import's progress and report, Send invites.
from keyport.dashboard import imports_views  # noqa: E402

urlpatterns += [
    path("imports/", imports_views.import_list, name="import_list"),
    path("imports/<int:import_id>/", imports_views.import_detail, name="import_detail"),
    path("imports/<int:import_id>/progress/", imports_views.import_progress, name="import_progress"),
    path("imports/<int:import_id>/columns/", imports_views.import_columns, name="import_columns"),
    path("imports/<int:import_id>/start/", imports_views.import_start, name="import_start"),
    path("imports/<int:import_id>/invites/", imports_views.import_invites, name="import_invites"),
    path("imports/<int:import_id>/report.csv", imports_views.import_report, name="import_report"),
]
