"""The portal's Settings: profile, email preferences, an email change confirmed from the new address."""

import logging
import re

import pytest
from django.urls import reverse

from keyport.audit.services import Actor
from keyport.contacts.models import Contact, CustomerAppSettings
from keyport.emails.models import OutgoingEmail
from keyport.events import services as events
from keyport.events.models import EmailPreferences, Ticket
from keyport.lib.log_redaction import RedactSignInTokens
from tests.factories import ContactFactory
from tests.portal_helpers import sign_in_as

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest")]


def test_the_profile_changes_name_and_phone(client, partner):
    sign_in_as(client, partner)
    response = client.post(
        reverse("portal:settings_profile"),
        {"first_name": "Jo", "last_name": "Schneider", "phone": "+49 30 1111"},
    )
    assert response.status_code == 302
    partner_now = Contact.objects.get(pk=partner.pk)
    assert (partner_now.first_name, partner_now.phone, partner_now.email) == (
        "Jo",
        "+49 30 1111",
        "partner@example.com",
    )
    assert client.get(reverse("portal:settings")).status_code == 200  # still signed in


def test_a_profile_save_keeps_portal_access_that_staff_switched_off_meanwhile(client, partner, monkeypatch):
    from keyport.contacts.services import ContactDetails
    from keyport.frontdesk.services import contact_update
    from keyport.portal.sections_forms import ProfileForm

    sign_in_as(client, partner)
    is_valid = ProfileForm.is_valid

    def staff_switches_portal_access_off_meanwhile(form):
        details = ContactDetails(first_name="Jonas", email="partner@example.com", can_access_portal=False)
        contact_update(actor=Actor.system("test"), contact=partner, details=details)
        return is_valid(form)

    monkeypatch.setattr(ProfileForm, "is_valid", staff_switches_portal_access_off_meanwhile)
    client.post(reverse("portal:settings_profile"), {"first_name": "Jo", "last_name": "", "phone": ""})
    partner_now = Contact.objects.get(pk=partner.pk)
    assert not partner_now.can_access_portal
    assert partner_now.email == "partner@example.com"


def test_a_profile_needs_a_first_name(client, tenant):
    sign_in_as(client, tenant)
    assert client.post(reverse("portal:settings_profile"), {"first_name": ""}).status_code == 400


def confirmation_link(to: str) -> str:
    email = OutgoingEmail.objects.get(to=to, template="portal_email_change_confirm")
    match = re.search(r"/portal/settings/email/[^/\s]+/", email.secrets_to_send["link"])
    assert match, email.secrets_to_send
    return match[0]


def test_an_email_change_waits_for_the_new_address_and_tells_the_old(client, tenant):
    sign_in_as(client, tenant)
    client.post(reverse("portal:settings_email"), {"email": "Mara@New.example.com"})
    assert Contact.objects.get(pk=tenant.pk).email == "tenant@example.com"
    link = confirmation_link("mara@new.example.com")
    assert "Confirm the change" in client.get(link).content.decode()
    assert Contact.objects.get(pk=tenant.pk).email == "tenant@example.com"  # GET changes nothing
    done = client.post(link)
    assert "Your email is changed" in done.content.decode()
    assert Contact.objects.get(pk=tenant.pk).email == "mara@new.example.com"
    assert OutgoingEmail.objects.filter(to="tenant@example.com", template="portal_email_changed").exists()
    assert client.get(reverse("portal:settings")).status_code == 302  # signed out everywhere
    assert client.post(link).status_code == 400  # works once


def test_an_email_of_another_contact_is_refused(client, tenant):
    sign_in_as(client, tenant)
    response = client.post(reverse("portal:settings_email"), {"email": "other@example.com"})
    assert response.status_code == 400 and "already uses" in response.content.decode()
    assert not OutgoingEmail.objects.filter(template="portal_email_change_confirm").exists()


def test_a_confirmation_for_an_address_taken_meanwhile_is_refused_on_the_page(client, tenant, other_tenant):
    sign_in_as(client, tenant)
    client.post(reverse("portal:settings_email"), {"email": "mara@new.example.com"})
    link = confirmation_link("mara@new.example.com")
    ContactFactory(customer=other_tenant.customer, is_primary=False, email="mara@new.example.com")
    response = client.post(link)
    assert response.status_code == 400
    assert "already uses" in response.content.decode()
    assert Contact.objects.get(pk=tenant.pk).email == "tenant@example.com"


@pytest.mark.parametrize("shut", ["portal_access_off", "customer_inactive"])
def test_an_email_change_link_is_void_once_portal_access_ends(client, partner, tenant, shut):
    from keyport.contacts.services import ContactDetails
    from keyport.frontdesk.services import contact_update, customer_set_active

    sign_in_as(client, partner)
    client.post(reverse("portal:settings_email"), {"email": "jonas@new.example.com"})
    link = confirmation_link("jonas@new.example.com")
    staff = Actor.system("test")
    if shut == "portal_access_off":
        details = ContactDetails(first_name="Jonas", email="partner@example.com", can_access_portal=False)
        contact_update(actor=staff, contact=partner, details=details)
    else:
        customer_set_active(actor=staff, customer=tenant.customer, is_active=False)
    assert client.get(link).status_code == 400
    assert client.post(link).status_code == 400
    assert Contact.objects.get(pk=partner.pk).email == "partner@example.com"


def test_email_change_requests_are_rate_limited_per_person(client, tenant):
    from django.core.cache import cache

    cache.clear()
    sign_in_as(client, tenant)
    answers = [
        client.post(reverse("portal:settings_email"), {"email": f"new{n}@example.com"}).status_code
        for n in range(7)
    ]
    assert answers == [302] * 5 + [429] * 2
    sent = OutgoingEmail.objects.filter(template="portal_email_change_confirm")
    assert sent.count() == 5
    limited = client.post(reverse("portal:settings_email"), {"email": "late@example.com"})
    assert "Too many" in limited.content.decode()
    cache.clear()


def test_a_forged_confirmation_link_does_nothing(client, site):
    assert client.get("/portal/settings/email/not-a-token/").status_code == 400


def test_email_preferences_stop_invitation_emails_but_not_tickets(
    client, tenant, site, django_capture_on_commit_callbacks
):
    import datetime as dt

    sign_in_as(client, tenant)
    client.post(reverse("portal:settings_preferences"), {})
    event = events.event_create(
        actor=Actor.system("tests"),
        location=site.location,
        title="Open day",
        place="Yard",
        capacity=5,
        starts_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
    )
    other = ContactFactory()
    events.event_invite(actor=Actor.system("tests"), event=event, emails=["tenant@example.com", other.email])
    assert Ticket.objects.count() == 2
    invited = set(OutgoingEmail.objects.filter(template="event_invitation").values_list("to", flat=True))
    assert invited == {other.email}
    client.post(reverse("portal:settings_preferences"), {"event_invitations": "on"})
    assert "checked" in client.get(reverse("portal:settings")).content.decode()


@pytest.mark.parametrize("name", ["settings_profile", "settings_email"])
def test_ticket_only_guests_change_no_settings(client, guest, name):
    sign_in_as(client, guest)
    assert (
        client.post(reverse(f"portal:{name}"), {"first_name": "X", "email": "x@example.com"}).status_code
        == 404
    )
    guest_now = Contact.objects.get(pk=guest.pk)
    assert (guest_now.first_name, guest_now.email) == (guest.first_name, guest.email)
    assert not EmailPreferences.objects.exists()
    assert not OutgoingEmail.objects.filter(template="portal_email_change_confirm").exists()


@pytest.mark.parametrize("name", ["settings_profile", "settings_email", "settings_preferences"])
def test_nothing_is_changed_through_settings_the_operator_turned_off(client, site, tenant, name):
    CustomerAppSettings.objects.create(location=site.location, show_settings=False)
    sign_in_as(client, tenant)
    response = client.post(reverse(f"portal:{name}"), {"first_name": "X", "email": "x@example.com"})
    assert response.status_code == 404
    tenant_now = Contact.objects.get(pk=tenant.pk)
    assert (tenant_now.first_name, tenant_now.email) == (tenant.first_name, tenant.email)
    assert not EmailPreferences.objects.exists()
    assert not OutgoingEmail.objects.filter(template="portal_email_change_confirm").exists()


def test_the_confirmation_page_is_never_cached(client, tenant):
    sign_in_as(client, tenant)
    client.post(reverse("portal:settings_email"), {"email": "mara@new.example.com"})
    link = confirmation_link("mara@new.example.com")
    for response in (client.get(link), client.get("/portal/settings/email/forged-token/")):
        assert "no-store" in response["Cache-Control"]


def test_the_confirmation_token_is_redacted_from_request_logs():
    token = "eyJjIjoxLCJvbGQiOiJ0QGV4YW1wbGUuY29tIn0:1tXyZa:SECRETSIGNATURE"
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"GET /portal/settings/email/{token}/ HTTP/1.1", 200, 1),
        None,
    )
    RedactSignInTokens().filter(record)
    assert token not in record.getMessage() and "SECRETSIGNATURE" not in record.getMessage()
    assert record.getMessage() == '"GET /portal/settings/email/[redacted]/ HTTP/1.1" 200 1'


def test_the_email_change_request_path_itself_is_logged_as_it_is():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("POST /portal/settings/email/ HTTP/1.1", 302, 0),
        None,
    )
    RedactSignInTokens().filter(record)
    assert record.getMessage() == '"POST /portal/settings/email/ HTTP/1.1" 302 0'


@pytest.mark.parametrize("phone", ["abc", "123", "+49 30 12a4", "1" * 16])
def test_a_phone_that_is_no_phone_number_is_refused_beside_its_field(client, partner, phone):
    sign_in_as(client, partner)
    response = client.post(
        reverse("portal:settings_profile"), {"first_name": "Jo", "last_name": "", "phone": phone}
    )
    assert response.status_code == 400
    assert (
        "Enter a phone number: digits, spaces and + ( ) - / only, 5 to 15 digits."
        in response.content.decode()
    )
    assert Contact.objects.get(pk=partner.pk).first_name != "Jo"
