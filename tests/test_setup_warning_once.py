"""The "Set up the Shared Access email" banner: once a session on the Overview and on the
location page, and on no other page."""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyport.audit.services import Actor
from keyport.dashboard.setup_warning import COOKIE
from keyport.emails.defaults import DEFAULT_TEMPLATES
from keyport.emails.services import email_template_save

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
BANNER = "shared-access-setup-warning"


@pytest.fixture
def scene(site, booking):
    """The cast's site and its owner tenant's booking."""
    return SimpleNamespace(location=site.location, booking=booking)


def _shows(client: Client, url: str) -> bool:
    return BANNER in client.get(url).content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_overview_and_the_location_page_warn_once_a_session(client, owner, scene):
    overview = reverse("dashboard:home")
    location = reverse("dashboard:location_detail", args=[scene.location.pk])
    client.force_login(owner)
    assert _shows(client, overview)
    assert not _shows(client, overview)
    assert _shows(client, location)
    assert not _shows(client, location)
    assert not _shows(client, overview)

    client.logout()
    client.force_login(owner)
    assert _shows(client, overview), "a new sign-in is warned again"

    other = Client()
    other.force_login(owner)
    assert _shows(other, location), "another browser is warned too"


@time_machine.travel(NOW, tick=False)
def test_no_other_page_warns(client, owner, scene):
    client.force_login(owner)
    for url in (
        reverse("dashboard:booking_detail", args=[scene.booking.pk]),
        reverse("dashboard:location_rentals", args=[scene.location.pk]),
        reverse("dashboard:rentals"),
    ):
        assert not _shows(client, url), url
    # Those pages did not use up the Overview's warning.
    assert _shows(client, reverse("dashboard:home"))


@time_machine.travel(NOW, tick=False)
def test_a_reviewed_email_ends_the_warning_without_marking_the_session(client, owner, scene):
    default = DEFAULT_TEMPLATES["shared_access"]
    email_template_save(
        actor=Actor.staff(owner), key="shared_access", subject=default.subject, body_text=default.body_text
    )
    client.force_login(owner)
    response = client.get(reverse("dashboard:home"))
    assert BANNER not in response.content.decode()
    assert COOKIE not in response.cookies
