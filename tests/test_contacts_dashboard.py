"""Staff side of issue 3: All Contacts, Send Invite, the customer page, email templates, customer app."""

import pytest
from django.core import mail
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.contacts.models import AccountStatus, Contact, CustomerAppSettings, PortalLink
from keyport.contacts.services import invite_send
from keyport.emails.models import EmailTemplate, OutgoingEmail
from keyport.staff.models import Role
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
    today,
)
from tests.portal_scene import build_scene, last_token_sent_to, press_continue

pytestmark = pytest.mark.django_db

ALL_CONTACTS = "/dashboard/contacts/"


@pytest.fixture
def scene():  # type: ignore[no-untyped-def]
    return build_scene()


@pytest.fixture
def staff_client(client, owner):  # type: ignore[no-untyped-def]
    client.force_login(owner)
    return client


def staff(client, role, location=None):  # type: ignore[no-untyped-def]
    user = StaffUserFactory(role=role)
    if location is not None:
        user.locations.add(location)
    client.force_login(user)
    return user


def invite(client, contact, layout="row"):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("dashboard:contact_invite", args=[contact.pk]), {"layout": layout}, HTTP_HX_REQUEST="true"
    )


# All Contacts --------------------------------------------------------------------------------------


def test_all_contacts_shows_portal_access_and_account_status(staff_client, scene):
    page = staff_client.get(ALL_CONTACTS).content.decode()
    assert "All Contacts" in page and "Filters &amp; Settings" in page
    assert "Portal Access" in page and "Account Status" in page
    assert "Full" in page and "Ticket-only" in page
    assert "Not signed in yet" in page


def test_search_finds_a_contact_by_email(staff_client, scene):
    page = staff_client.get(ALL_CONTACTS, {"q": "partner@example"}).content.decode()
    assert "Jonas Schneider" in page
    assert "Otto" not in page


def test_filter_by_portal_access_and_account_status(staff_client, scene):
    page = staff_client.get(ALL_CONTACTS, {"access": "ticket_only"}).content.decode()
    assert ">Sam Example</a>" in page and ">Mara Schneider</a>" not in page
    invite_send(actor=_system(), contact=scene.partner)
    page = staff_client.get(ALL_CONTACTS, {"status": "email_sent"}).content.decode()
    assert ">Jonas Schneider</a>" in page and ">Mara Schneider</a>" not in page


def test_sort_by_portal_access(staff_client, scene):
    page = staff_client.get(ALL_CONTACTS, {"sort": "portal_access"}).content.decode()
    assert page.index("Mara Schneider") < page.index("Sam Example")


def test_htmx_search_answers_with_the_results_only(staff_client, scene):
    response = staff_client.get(
        ALL_CONTACTS, {"q": "Mara"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="contacts-results"
    )
    text = response.content.decode()
    assert text.startswith('<div id="contacts-results">')
    assert "Mara Schneider" in text and "<nav" not in text.split("contacts-results")[0]


def test_filters_and_settings_switch_to_cards_and_hide_columns(staff_client, scene):
    staff_client.post(
        reverse("dashboard:contacts_table_settings"),
        {"view": "cards", "columns": ["email"], "query": "q=Mara"},
    )
    page = staff_client.get(ALL_CONTACTS).content.decode()
    assert 'class="card h-100"' in page
    staff_client.post(reverse("dashboard:contacts_table_settings"), {"view": "table", "columns": ["email"]})
    page = staff_client.get(ALL_CONTACTS).content.decode()
    assert '<th scope="col">Email</th>' in page
    assert '<th scope="col">Portal Access</th>' not in page


def test_all_contacts_makes_a_constant_number_of_queries(staff_client, django_assert_max_num_queries):
    location = LocationFactory()
    for n in range(60):
        customer = CustomerFactory(home_location=location)
        ContactFactory(customer=customer)
        if n % 3 == 0:
            booking_of(customer, [UnitFactory(location=location)], today())
    with django_assert_max_num_queries(8):
        response = staff_client.get(ALL_CONTACTS)
    assert response.content.decode().count("<tr data-contact-row") == 50
    with django_assert_max_num_queries(8):
        staff_client.get(ALL_CONTACTS, {"sort": "account_status", "access": "full", "view": "cards"})


def test_customer_report_exports_the_same_columns(staff_client, scene):
    scene.tenant.first_name = "=HYPERLINK(1)"
    scene.tenant.save()
    response = staff_client.get(reverse("dashboard:customer_report"))
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    assert lines[0].startswith("Name,Customer,Primary,Email,Phone,Portal Access,Account Status")
    assert any("Ticket-only" in line and "guest@example.com" in line for line in lines)
    assert "'=HYPERLINK(1)" in text


# Send Invite / Resend Invite --------------------------------------------------------------------


def test_send_invite_sends_the_magic_link_and_the_row_shows_email_sent(staff_client, scene):
    assert "Send Invite" in staff_client.get(ALL_CONTACTS, {"q": "tenant@"}).content.decode()
    response = invite(staff_client, scene.tenant)
    row = response.content.decode()
    assert row.startswith("<tr data-contact-row")
    assert "Email Sent" in row and "Resend Invite" in row
    assert "Invite sent to tenant@example.com" in row
    assert PortalLink.objects.get(contact=scene.tenant).purpose == "invite"
    assert last_token_sent_to("tenant@example.com")
    assert AuditEntry.objects.filter(action="contact.portal_invite_sent", target_id=scene.tenant.pk).exists()


def test_the_invite_email_is_delivered_after_commit(staff_client, scene, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(staff_client, scene.tenant)
    assert mail.outbox[0].to == ["tenant@example.com"]
    assert "/login/link/" in mail.outbox[0].body


def test_after_sign_in_the_invite_button_is_gone(staff_client, scene, client):
    invite_send(actor=_system(), contact=scene.tenant)
    token = last_token_sent_to("tenant@example.com")
    from django.test import Client

    press_continue(Client(), token)
    page = staff_client.get(ALL_CONTACTS, {"q": "tenant@"}).content.decode()
    assert "Signed In" in page
    assert "Send Invite" not in page and "Resend Invite" not in page
    assert invite(staff_client, scene.tenant).content.decode().count("already") == 1


def test_no_invite_button_without_email_or_portal_access(staff_client, scene):
    ContactFactory(
        customer=scene.tenant_customer,
        is_primary=False,
        first_name="Nomail",
        email=None,
        can_access_portal=False,
    )
    ContactFactory(
        customer=scene.tenant_customer, is_primary=False, first_name="Noportal", can_access_portal=False
    )
    for name in ("Nomail", "Noportal"):
        page = staff_client.get(ALL_CONTACTS, {"q": name}).content.decode()
        assert name in page
        assert "Send Invite" not in page


def test_the_invite_from_the_customer_page_answers_with_its_row(staff_client, scene):
    row = invite(staff_client, scene.partner, layout="customer").content.decode()
    assert "Additional contact" in row and "Resend Invite" in row


def test_employees_may_send_invites(client, scene):
    staff(client, Role.EMPLOYEE, scene.location)
    assert invite(client, scene.tenant).status_code == 200
    assert PortalLink.objects.filter(contact=scene.tenant).exists()


# Scope -----------------------------------------------------------------------------------------------


def test_a_scoped_manager_sees_only_customers_of_their_locations(client, scene):
    other = LocationFactory(name="Elsewhere")
    stranger = ContactFactory(customer=CustomerFactory(home_location=other), first_name="Stranger")
    visiting = ContactFactory(customer=CustomerFactory(home_location=other), first_name="Visiting")
    booking_of(visiting.customer, [UnitFactory(location=scene.location)], today())
    staff(client, Role.MANAGER, scene.location)
    page = client.get(ALL_CONTACTS).content.decode()
    assert "Mara Schneider" in page and "Visiting" in page
    assert "Stranger" not in page
    assert client.get(reverse("dashboard:customer_detail", args=[stranger.customer_id])).status_code == 404
    assert client.get(reverse("dashboard:customer_detail", args=[visiting.customer_id])).status_code == 200
    assert invite(client, stranger).status_code == 404
    report = b"".join(client.get(reverse("dashboard:customer_report")).streaming_content).decode()
    assert "Stranger" not in report


# The customer page -------------------------------------------------------------------------------------


def test_customer_page_has_crm_information_contacts_and_portal_check(staff_client, scene):
    page = staff_client.get(
        reverse("dashboard:customer_detail", args=[scene.tenant.customer_id])
    ).content.decode()
    for text in (
        "CRM Information",
        "Active / Inactive",
        "Contacts",
        "Add Contact",
        "Edit Contact",
        "Can access customer portal (login with their email)",
        "Portal check",
        "Jonas Schneider",
    ):
        assert text in page
    assert "Send Invite, or walk them through the login page." in page


def test_inactive_pauses_the_customer_and_keeps_records(staff_client, scene):
    url = reverse("dashboard:customer_active", args=[scene.tenant.customer_id])
    response = staff_client.post(url, {"is_active": "false"})
    assert response.status_code == 302
    scene.tenant.customer.refresh_from_db()
    assert not scene.tenant.customer.is_active
    assert scene.tenant.customer.contacts.count() == 2
    assert scene.tenant.customer.bookings.count() == 1
    page = staff_client.get(
        reverse("dashboard:customer_detail", args=[scene.tenant.customer_id])
    ).content.decode()
    assert "Set Active" in page
    assert "switch CRM Information to Active" in page
    staff_client.post(url, {"is_active": "true"})
    scene.tenant.customer.refresh_from_db()
    assert scene.tenant.customer.is_active


def test_add_contact_with_portal_access_needs_their_own_email(staff_client, scene):
    url = reverse("dashboard:contact_add", args=[scene.tenant.customer_id])
    response = staff_client.post(url, {"new-first_name": "Bea", "new-can_access_portal": "on"})
    assert response.status_code == 400
    assert "needs their own email address" in response.content.decode()
    assert "data-keyport-open" in response.content.decode()
    response = staff_client.post(
        url, {"new-first_name": "Bea", "new-email": "tenant@example.com", "new-can_access_portal": "on"}
    )
    assert "Another contact already uses this email address." in response.content.decode()
    response = staff_client.post(
        url, {"new-first_name": "Bea", "new-email": "bea@example.com", "new-can_access_portal": "on"}
    )
    assert response.status_code == 302
    bea = Contact.objects.get(email="bea@example.com")
    assert bea.customer == scene.tenant.customer and not bea.is_primary and bea.can_access_portal


def test_edit_contact_changes_the_email_and_tells_the_old_address(staff_client, scene):
    url = reverse("dashboard:contact_edit", args=[scene.partner.pk])
    prefix = f"c{scene.partner.pk}"
    response = staff_client.post(
        url,
        {
            f"{prefix}-first_name": "Jonas",
            f"{prefix}-email": "jonas@new.example.com",
            f"{prefix}-can_access_portal": "on",
        },
    )
    assert response.status_code == 302
    scene.partner.refresh_from_db()
    assert scene.partner.email == "jonas@new.example.com"
    assert OutgoingEmail.objects.filter(to="partner@example.com", template="portal_email_changed").exists()


def test_employees_cannot_change_contacts_or_the_customer(client, scene):
    staff(client, Role.EMPLOYEE, scene.location)
    assert (
        client.post(
            reverse("dashboard:customer_active", args=[scene.tenant.customer_id]), {"is_active": "false"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("dashboard:contact_add", args=[scene.tenant.customer_id]), {"new-first_name": "X"}
        ).status_code
        == 403
    )
    prefix = f"c{scene.partner.pk}"
    assert (
        client.post(
            reverse("dashboard:contact_edit", args=[scene.partner.pk]), {f"{prefix}-first_name": "X"}
        ).status_code
        == 403
    )
    page = client.get(reverse("dashboard:customer_detail", args=[scene.tenant.customer_id])).content.decode()
    assert "Add Contact" not in page and "Send Invite" in page


def test_the_portal_check_names_the_next_action(staff_client, scene):
    nomail = ContactFactory(
        customer=scene.tenant_customer,
        is_primary=False,
        first_name="Nomail",
        email=None,
        can_access_portal=False,
    )
    off = ContactFactory(
        customer=scene.tenant_customer, is_primary=False, first_name="Off", can_access_portal=False
    )
    invite_send(actor=_system(), contact=scene.partner)
    page = staff_client.get(
        reverse("dashboard:customer_detail", args=[scene.tenant_customer.pk])
    ).content.decode()

    def check_of(contact):  # type: ignore[no-untyped-def]
        start = page.index(f'data-portal-check="{contact.pk}"')
        return page[start : page.index("</div>", start)]

    assert "Add an email address" in check_of(nomail)
    assert "Enable portal access" in check_of(off)
    assert "Resend Invite" in check_of(scene.partner)
    assert "Send Invite" in check_of(scene.tenant)
    assert "1 booking, 1 car" in check_of(scene.tenant)
    guest_page = staff_client.get(
        reverse("dashboard:customer_detail", args=[scene.guest.customer_id])
    ).content.decode()
    assert "Ticket-only" in guest_page


def test_the_email_log_is_shown_on_the_contact(staff_client, scene):
    invite_send(actor=_system(), contact=scene.tenant)
    page = staff_client.get(
        reverse("dashboard:customer_detail", args=[scene.tenant_customer.pk])
    ).content.decode()
    assert "Emails sent" in page
    assert "portal_invite" in page and "Queued" in page


def test_customer_page_query_count_is_bounded(staff_client, scene, django_assert_max_num_queries):
    for _ in range(8):
        ContactFactory(customer=scene.tenant_customer, is_primary=False)
    with django_assert_max_num_queries(40):
        staff_client.get(reverse("dashboard:customer_detail", args=[scene.tenant_customer.pk]))


# Email templates --------------------------------------------------------------------------------------


def test_email_templates_list_shows_defaults(staff_client):
    page = staff_client.get(reverse("dashboard:email_templates")).content.decode()
    assert "Portal invite" in page and "Portal sign-in link" in page and "Keyport default" in page


def test_an_owner_edits_the_invite_and_invites_use_it(staff_client, scene):
    url = reverse("dashboard:email_template_edit", args=["portal_invite"])
    response = staff_client.post(url, {"subject": "Welcome {{ first_name }}", "body_text": "Hi! {{ link }}"})
    assert response.status_code == 302
    invite_send(actor=_system(), contact=scene.tenant)
    email = OutgoingEmail.objects.get(template="portal_invite")
    assert email.subject == "Welcome Mara"
    assert email.body_text.startswith("Hi! http")
    staff_client.post(reverse("dashboard:email_template_reset", args=["portal_invite"]))
    assert not EmailTemplate.objects.exists()


def test_a_template_without_the_link_or_with_errors_is_refused_beside_the_field(staff_client):
    url = reverse("dashboard:email_template_edit", args=["portal_sign_in_link"])
    response = staff_client.post(url, {"subject": "Hi", "body_text": "No link here"})
    assert response.status_code == 400
    assert "must contain {{ link }}" in response.content.decode()
    response = staff_client.post(url, {"subject": "Hi", "body_text": "{% if %} {{ link }}"})
    assert "Template error" in response.content.decode()
    response = staff_client.post(url, {"subject": "Hi", "body_text": "{% load static %}{{ link }}"})
    assert "Template error" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_the_preview_renders_with_example_data(staff_client):
    url = reverse("dashboard:email_template_preview", args=["portal_invite"])
    response = staff_client.post(url, {"subject": "For {{ first_name|upper }}", "body_text": "{{ link }}"})
    text = response.content.decode()
    assert "For MARA" in text and "EXAMPLE-ONE-TIME-TOKEN" in text
    page = staff_client.get(reverse("dashboard:email_template_edit", args=["portal_invite"])).content.decode()
    assert "Your Keyport customer portal" in page


def test_an_unknown_template_is_404(staff_client):
    assert staff_client.get(reverse("dashboard:email_template_edit", args=["nope"])).status_code == 404


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_owners_change_templates_and_customer_app(client, role):
    location = LocationFactory()
    staff(client, role)
    assert client.get(reverse("dashboard:email_templates")).status_code == 403
    assert (
        client.post(
            reverse("dashboard:email_template_edit", args=["portal_invite"]),
            {"subject": "x", "body_text": "{{ link }}"},
        ).status_code
        == 403
    )
    assert client.post(reverse("dashboard:location_customer_app", args=[location.pk]), {}).status_code == 403
    assert not EmailTemplate.objects.exists() and not CustomerAppSettings.objects.exists()


# Settings > Website & customer app ----------------------------------------------------------------------


def test_an_owner_turns_sections_off_per_location(staff_client, scene):
    url = reverse("dashboard:location_customer_app", args=[scene.location.pk])
    page = staff_client.get(url).content.decode()
    assert page.count("checked") == 5
    response = staff_client.post(
        url, {"show_billing": "on", "show_documents": "on", "show_events": "on", "show_settings": "on"}
    )
    assert response.status_code == 302
    settings_row = CustomerAppSettings.objects.get(location=scene.location)
    assert not settings_row.show_cars and settings_row.show_billing
    assert AuditEntry.objects.filter(action="location.customer_app_updated").exists()
    overview = staff_client.get(reverse("dashboard:customer_app")).content.decode()
    assert "Billing, Documents, Events, Settings" in overview


def _system():  # type: ignore[no-untyped-def]
    from keyport.audit.services import Actor

    return Actor.system("tests")


def test_account_status_is_email_sent_only_for_the_current_address(scene, actor):
    invite_send(actor=actor, contact=scene.tenant)
    assert Contact.objects.get(pk=scene.tenant.pk).account_status() == AccountStatus.EMAIL_SENT
    Contact.objects.filter(pk=scene.tenant.pk).update(email="changed@example.com")
    assert Contact.objects.get(pk=scene.tenant.pk).account_status() == AccountStatus.NOT_SIGNED_IN
