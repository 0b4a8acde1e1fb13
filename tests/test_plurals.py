"""Counts read right in the singular: "1 unit", never "1 units" or "1 invitation(s)"."""

import datetime as dt
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from keyport.audit.services import Actor
from keyport.events import services as events
from tests.factories import AccessPointFactory, LocationFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_mapping_access_points_for_one_or_two_units(client, owner):
    location = LocationFactory()
    UnitFactory(location=location, number="A001")
    UnitFactory(location=location, number="A002")
    AccessPointFactory(location=location, external_id="GATE-1")
    client.force_login(owner)
    url = reverse("dashboard:location_mapping_upload", args=[location.pk])
    one = client.post(url, {"file": SimpleUploadedFile("map.csv", b"A001,GATE-1\n")}, follow=True)
    assert "Access points mapped for 1 unit." in one.content.decode()
    two = client.post(url, {"file": SimpleUploadedFile("m.csv", b"A001,GATE-1\nA002,GATE-1\n")}, follow=True)
    assert "Access points mapped for 2 units." in two.content.decode()


def test_one_invitation_and_one_place(client, owner):
    event = events.event_create(
        actor=Actor.staff(owner),
        location=LocationFactory(),
        title="Open day",
        starts_at=timezone.now() + dt.timedelta(days=7),
        place="Yard",
        capacity=1,
    )
    client.force_login(owner)
    url = reverse("dashboard:event_invite", args=[event.pk])
    page = client.post(url, {"emails": "ada@example.com"}, follow=True).content.decode()
    assert "1 invitation sent." in page
    assert "0 of 1 place taken" in page


def test_the_overview_names_one_unit_in_the_singular(client, owner):
    location = LocationFactory(name="Nord")
    UnitFactory(location=location)
    client.force_login(owner)
    page = client.get(reverse("dashboard:home")).content.decode()
    assert 'aria-label="1 unit at Nord"' in page


def test_the_overdue_check_says_invoices_in_the_plural():
    out = StringIO()
    call_command("billing_overdue_check", stdout=out)
    assert out.getvalue().strip() == "Locked access for 0 overdue invoices."
