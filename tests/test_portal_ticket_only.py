"""Ticket-only people (leads, event guests) reach their Events and their email preferences in
Settings, as the refusal page tells them, and nothing else of the portal."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from keyport.contacts.models import Contact, CustomerAppSettings
from keyport.events.models import EmailPreferences
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(site, tenant, guest):
    """The cast's site with its owner tenant (Full) and its ticket-only guest."""
    return SimpleNamespace(location=site.location, tenant=tenant, guest=guest)


def test_a_ticket_only_guest_reaches_their_events_and_the_nav_leads_there(client, scene):
    sign_in_as(client, scene.guest)
    events = client.get(reverse("portal:events"))
    assert events.status_code == 200
    page = events.content.decode()
    assert 'href="/portal/events/" aria-current="page"' in page
    assert 'href="/portal/settings/"' in page and 'href="/portal/tickets/"' in page
    for hidden in ('href="/portal/cars/"', 'href="/portal/billing/"', 'href="/portal/documents/"'):
        assert hidden not in page
    tickets = client.get(reverse("portal:tickets")).content.decode()
    assert 'href="/portal/events/"' in tickets and 'href="/portal/settings/"' in tickets


def test_a_ticket_only_guest_sees_only_email_preferences_in_settings(client, scene):
    sign_in_as(client, scene.guest)
    response = client.get(reverse("portal:settings"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Email preferences" in page and reverse("portal:settings_preferences") in page
    assert "Your profile" not in page and reverse("portal:settings_profile") not in page
    assert "Sign-in email" not in page and reverse("portal:settings_email") not in page


def test_a_ticket_only_guest_saves_their_email_preferences(client, scene):
    sign_in_as(client, scene.guest)
    response = client.post(reverse("portal:settings_preferences"), {})
    assert response.status_code == 302 and response["Location"] == reverse("portal:settings")
    assert EmailPreferences.objects.get(contact=scene.guest).event_invitations is False


def test_a_ticket_only_guest_cannot_change_profile_or_sign_in_email(client, scene):
    sign_in_as(client, scene.guest)
    before = Contact.objects.filter(pk=scene.guest.pk).values().get()
    profile = client.post(reverse("portal:settings_profile"), {"first_name": "Mallory", "last_name": "X"})
    email = client.post(reverse("portal:settings_email"), {"email": "mallory@example.com"})
    assert profile.status_code == email.status_code == 404
    assert Contact.objects.filter(pk=scene.guest.pk).values().get() == before


def test_anonymous_visitors_cannot_save_preferences(client, scene):
    response = client.post(reverse("portal:settings_preferences"), {})
    assert response["Location"] == "/login/"
    assert not EmailPreferences.objects.exists()


@pytest.mark.parametrize("who", ["guest", "tenant"])
@pytest.mark.parametrize("section", ["events", "settings"])
def test_events_and_settings_turned_off_are_refused_to_everyone(client, scene, who, section):
    CustomerAppSettings.objects.create(location=scene.location, **{f"show_{section}": False})
    sign_in_as(client, getattr(scene, who))
    response = client.get(reverse(f"portal:{section}"))
    assert response.status_code == 404
    assert f'href="/portal/{section}/"' not in client.get(reverse("portal:tickets")).content.decode()


def test_turned_off_settings_refuse_a_guest_saving_preferences(client, scene):
    CustomerAppSettings.objects.create(location=scene.location, show_settings=False)
    sign_in_as(client, scene.guest)
    assert client.post(reverse("portal:settings_preferences"), {}).status_code == 404
    assert not EmailPreferences.objects.filter(contact=scene.guest).exists()


def test_the_refusal_page_tells_a_guest_what_their_portal_has(client, scene):
    sign_in_as(client, scene.guest)
    refused = client.get(reverse("portal:cars"))
    assert refused.status_code == 404
    assert "your tickets and events, and your email preferences in Settings" in refused.content.decode()
