"""How long a sign-in lasts: staff are signed out after KEYPORT_STAFF_IDLE_HOURS without a
request, a portal sign-in ends KEYPORT_PORTAL_SESSION_DAYS after it was made."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from keyport.contacts.services import sign_in_link_send
from keyport.dashboard.sessions import REFRESH_SECONDS
from keyport.portal.sessions import SESSION_CONTACT_ID
from tests.factories import PASSWORD, LocationFactory, StaffUserFactory
from tests.portal_helpers import last_token_sent_to, press_continue

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
HOME = "/dashboard/"


def staff_signs_in(client: Client) -> None:
    user = StaffUserFactory(email="olga@keyport.test")
    LocationFactory(name="Lager Kreuzberg")
    response = client.post(reverse("dashboard:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302


def is_sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("dashboard:login"))


def test_the_dashboard_lives_at_its_address():
    assert reverse("dashboard:home") == HOME


def test_staff_idle_for_twelve_hours_and_a_second_are_signed_out(client):
    with time_machine.travel(START, tick=False) as traveller:
        staff_signs_in(client)
        assert client.get(HOME).status_code == 200
        traveller.shift(dt.timedelta(hours=12, seconds=1))
        response = client.get(HOME)
        assert is_sent_to_sign_in(response)
        assert "_auth_user_id" not in client.session
        page = client.get(response["Location"]).content.decode()
        assert "You were signed out after 12 hours without activity. Sign in again." in page
        assert is_sent_to_sign_in(client.get(HOME))


def test_staff_idle_for_eleven_hours_fifty_nine_minutes_stay_signed_in(client):
    with time_machine.travel(START, tick=False) as traveller:
        staff_signs_in(client)
        traveller.shift(dt.timedelta(hours=11, minutes=59))
        assert client.get(HOME).status_code == 200


def test_staff_who_keep_working_stay_signed_in_past_twelve_hours(client):
    with time_machine.travel(START, tick=False) as traveller:
        staff_signs_in(client)
        for _ in range(4):
            traveller.shift(dt.timedelta(hours=11))
            assert client.get(HOME).status_code == 200


def test_activity_is_written_to_the_session_at_most_every_few_minutes(client):
    with time_machine.travel(START, tick=False) as traveller:
        staff_signs_in(client)
        written = client.session["staff_seen_at"]
        traveller.shift(dt.timedelta(seconds=REFRESH_SECONDS - 1))
        client.get(HOME)
        assert client.session["staff_seen_at"] == written
        traveller.shift(dt.timedelta(seconds=1))
        client.get(HOME)
        assert client.session["staff_seen_at"] == written + REFRESH_SECONDS


def test_the_idle_limit_is_a_setting(client, settings):
    settings.KEYPORT_STAFF_IDLE_HOURS = 1
    with time_machine.travel(START, tick=False) as traveller:
        staff_signs_in(client)
        traveller.shift(dt.timedelta(minutes=59))
        assert client.get(HOME).status_code == 200
        traveller.shift(dt.timedelta(hours=1, seconds=1))
        response = client.get(HOME)
        assert is_sent_to_sign_in(response)
        page = client.get(response["Location"]).content.decode()
        assert "You were signed out after 1 hour without activity." in page


def test_the_django_admin_is_signed_out_too(client):
    user = StaffUserFactory(email="support@keyport.test", is_staff=True, is_superuser=True)
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        assert client.get("/admin/").status_code == 200
        traveller.shift(dt.timedelta(hours=12, seconds=1))
        response = client.get("/admin/")
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_staff_sign_in_made_before_sign_ins_were_timed_is_timed_from_its_next_request(client):
    user = StaffUserFactory()
    client.force_login(user)
    session = client.session
    del session["staff_seen_at"]
    session.save()
    with time_machine.travel(START, tick=False) as traveller:
        assert client.get(HOME).status_code == 200
        traveller.shift(dt.timedelta(hours=12, seconds=1))
        assert is_sent_to_sign_in(client.get(HOME))


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_staff_session_timing_out_leaves_the_portal_sign_in_in_the_same_browser(client, tenant):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(StaffUserFactory())
        portal_signs_in(client)
        traveller.shift(dt.timedelta(hours=12, seconds=1))
        assert is_sent_to_sign_in(client.get(HOME))
        assert client.get("/portal/").status_code == 200
        assert client.session[SESSION_CONTACT_ID] == tenant.pk


# The portal ----------------------------------------------------------------------------------


def portal_signs_in(client: Client) -> None:
    sign_in_link_send(email="tenant@example.com")
    assert press_continue(client, last_token_sent_to("tenant@example.com")).status_code == 302


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_portal_sign_in_lasts_thirty_days_however_often_it_is_used(client):
    with time_machine.travel(START, tick=False) as traveller:
        portal_signs_in(client)
        for _ in range(29):
            traveller.shift(dt.timedelta(days=1))
            assert client.get("/portal/").status_code == 200
        traveller.shift(dt.timedelta(days=1, seconds=-1))
        assert client.get("/portal/").status_code == 200
        traveller.shift(dt.timedelta(seconds=2))
        response = client.get("/portal/")
        assert response.status_code == 302 and response["Location"] == reverse("sign_in:login")
        assert SESSION_CONTACT_ID not in client.session


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_portal_sign_in_used_on_day_twenty_nine_still_opens_the_portal(client):
    with time_machine.travel(START, tick=False) as traveller:
        portal_signs_in(client)
        traveller.shift(dt.timedelta(days=29, hours=23))
        assert client.get("/portal/").status_code == 200


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_portal_lifetime_is_a_setting(client, settings):
    settings.KEYPORT_PORTAL_SESSION_DAYS = 2
    with time_machine.travel(START, tick=False) as traveller:
        portal_signs_in(client)
        traveller.shift(dt.timedelta(days=1))
        assert client.get("/portal/").status_code == 200
        traveller.shift(dt.timedelta(days=1, seconds=1))
        assert client.get("/portal/").status_code == 302


def test_the_session_cookie_outlives_the_longest_sign_in():
    assert settings.SESSION_COOKIE_AGE == settings.KEYPORT_PORTAL_SESSION_DAYS * 24 * 60 * 60
    assert settings.SESSION_COOKIE_AGE > settings.KEYPORT_STAFF_IDLE_HOURS * 60 * 60
