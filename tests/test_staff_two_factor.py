"""Two-factor sign-in (django-otp): each staff member can turn it on with a QR code and gets
recovery codes; a password alone then signs nobody in; an owner can require it of all staff, and
whoever has none is led to set it up before anything else."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyport.audit.models import AuditEntry
from keyport.staff.models import TeamSettings
from keyport.staff.two_factor import two_factor_enable, two_factor_setup_start
from tests.conftest import signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HOME = "/dashboard/"
LOGIN = "/dashboard/login/"
CODE = "/dashboard/login/code/"
TWO_FACTOR = "/dashboard/two-factor/"
START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def code_of(device):
    device.refresh_from_db()
    return str(TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()).zfill(6)


def with_two_factor(member):
    """Two-factor sign-in turned on for this member, at START; their recovery codes."""
    with time_machine.travel(START, tick=False):
        device = two_factor_setup_start(member=member)
        codes = two_factor_enable(member=member, code=code_of(device))
    assert codes is not None
    return codes


def password_sign_in(client, member):
    return client.post(LOGIN, {"username": member.email, "password": PASSWORD})


def is_signed_in(client):
    return client.get(HOME).status_code == 200


def later(minutes=1):
    return time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False)


# Turning it on ------------------------------------------------------------------------------


def test_the_setup_page_shows_an_inline_svg_qr_code_and_the_key(manager_client, manager):
    response = manager_client.get(TWO_FACTOR)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in body and "QR code for your authenticator app" in body and "<img" not in body
    assert "data-secret" in body
    assert manager_client.get(TWO_FACTOR).content.decode().count("<svg") == 1  # the same secret again
    assert TOTPDevice.objects.filter(user=manager).count() == 1


def test_a_wrong_first_code_turns_nothing_on(manager_client, manager):
    manager_client.get(TWO_FACTOR)
    response = manager_client.post(TWO_FACTOR, {"code": "000000"})
    assert response.status_code == 400 and "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
    assert not StaticToken.objects.exists()


def test_the_right_first_code_turns_it_on_with_ten_recovery_codes(manager):
    with time_machine.travel(START, tick=False):
        client = signed_in(manager)
        other_device = signed_in(manager)
        client.get(TWO_FACTOR)
        device = TOTPDevice.objects.get(user=manager)
        response = client.post(TWO_FACTOR, {"code": code_of(device)})
        body = response.content.decode()
        assert response.status_code == 200 and body.count("data-recovery-code") == 10
        assert is_signed_in(client) and not is_signed_in(other_device)
    assert TOTPDevice.objects.get(user=manager).confirmed
    assert AuditEntry.objects.filter(action="staff.two_factor_enabled", target_id=manager.pk).exists()


# Signing in with it -------------------------------------------------------------------------


def test_a_password_alone_does_not_sign_in_someone_with_two_factor(manager):
    with_two_factor(manager)
    client = Client()
    with later() as clock:
        response = password_sign_in(client, manager)
        assert response.status_code == 302 and response["Location"] == CODE
        assert not is_signed_in(client)
        wrong = client.post(CODE, {"code": "123456"})
        assert wrong.status_code == 400 and not is_signed_in(client)
        clock.shift(5)  # django-otp's own throttle waits a second after a wrong code
        right = client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=manager))})
        assert right.status_code == 302
        assert is_signed_in(client)


def test_two_factor_required_by_the_owner_blocks_sign_in_without_a_code(owner, owner_client, manager):
    with_two_factor(owner)
    with_two_factor(manager)
    with later():
        signed_in_owner = Client()
        password_sign_in(signed_in_owner, owner)
        signed_in_owner.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=owner))})
        assert signed_in_owner.post("/dashboard/staff/two-factor/", {"required": "on"}).status_code == 302
    assert TeamSettings.current().two_factor_required
    client = Client()
    with later(2):
        password_sign_in(client, manager)
        assert not is_signed_in(client)
        assert client.get("/dashboard/staff/").status_code == 302
        client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=manager))})
        assert is_signed_in(client)


def test_a_recovery_code_signs_in_once(manager):
    codes = with_two_factor(manager)
    with later():
        first = Client()
        password_sign_in(first, manager)
        assert first.post(CODE, {"code": codes[0]}).status_code == 302 and is_signed_in(first)
        second = Client()
        password_sign_in(second, manager)
        assert second.post(CODE, {"code": codes[0]}).status_code == 400 and not is_signed_in(second)
    assert StaticToken.objects.filter(device__user=manager).count() == 9
    assert AuditEntry.objects.filter(action="staff.two_factor_recovery_code_used").count() == 1


def test_too_many_wrong_codes_refuse_even_the_right_one(settings, manager):
    settings.STAFF_SIGN_IN_FAILURES_PER_ACCOUNT = 3
    with_two_factor(manager)
    client = Client()
    with later() as clock:
        password_sign_in(client, manager)
        for _ in range(3):
            client.post(CODE, {"code": "999999"})
            clock.shift(30)  # past django-otp's own throttle: only the count refuses
        client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=manager))})
        assert not is_signed_in(client)


def test_the_code_page_without_a_password_sends_to_sign_in(client):
    response = client.post(CODE, {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == LOGIN


def test_the_code_page_forgets_a_password_typed_long_ago(manager):
    with_two_factor(manager)
    client = Client()
    with later():
        password_sign_in(client, manager)
    with later(7):
        response = client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=manager))})
        assert response["Location"] == LOGIN and not is_signed_in(client)


def test_the_admin_refuses_a_password_alone_for_two_factor_accounts(owner):
    owner.is_staff = True
    owner.save()
    with_two_factor(owner)
    client = Client()
    response = client.post("/admin/login/", {"username": owner.email, "password": PASSWORD})
    assert "sign in on the staff dashboard first" in response.content.decode()
    assert client.get("/admin/").status_code == 302


# Required by an owner -----------------------------------------------------------------------


def test_requiring_it_needs_the_owners_own_two_factor_first(owner_client):
    response = owner_client.post("/dashboard/staff/two-factor/", {"required": "on"}, follow=True)
    assert "Turn on two-factor sign-in for yourself first." in response.content.decode()
    assert not TeamSettings.current().two_factor_required


def test_requiring_it_signs_out_those_without_it_who_then_set_it_up_first(owner, manager):
    with_two_factor(owner)
    manager_client = signed_in(manager)
    with later():
        owner_client = Client()
        password_sign_in(owner_client, owner)
        owner_client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=owner))})
        owner_client.post("/dashboard/staff/two-factor/", {"required": "on"})
        assert is_signed_in(owner_client)
    assert not is_signed_in(manager_client)
    assert AuditEntry.objects.filter(action="staff.two_factor_required").exists()
    client = Client()
    with later(2):
        assert password_sign_in(client, manager).status_code == 302
        for page in (HOME, "/dashboard/contacts/", "/dashboard/rentals/"):
            response = client.get(page)
            assert response.status_code == 302 and response["Location"] == TWO_FACTOR
        setup = client.get(TWO_FACTOR)
        assert "Your team requires two-factor sign-in" in setup.content.decode()
        client.post(TWO_FACTOR, {"code": code_of(TOTPDevice.objects.get(user=manager))})
        assert is_signed_in(client)


def test_while_required_nobody_turns_their_own_off_but_an_owner_resets_it(owner, manager):
    with_two_factor(manager)
    TeamSettings.objects.create(pk=1, two_factor_required=True)
    with later():
        client = Client()
        password_sign_in(client, manager)
        client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=manager))})
        response = client.post("/dashboard/two-factor/disable/", follow=True)
        assert "Your team requires two-factor sign-in" in response.content.decode()
        assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
        signed_in(owner).post(f"/dashboard/staff/{manager.pk}/two-factor-reset/")
        assert not TOTPDevice.objects.filter(user=manager).exists() and not is_signed_in(client)
    assert AuditEntry.objects.filter(action="staff.two_factor_reset", target_id=manager.pk).exists()


def test_someone_not_required_turns_their_own_off(manager):
    with_two_factor(manager)
    with later():
        client = Client()
        password_sign_in(client, manager)
        client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=manager))})
        client.post("/dashboard/two-factor/disable/")
        assert is_signed_in(client)
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert password_sign_in(Client(), manager)["Location"] == HOME


def test_the_staff_page_shows_each_members_two_factor_state(owner_client, manager, employee):
    with_two_factor(manager)
    body = owner_client.get("/dashboard/staff/").content.decode()
    manager_row = body.split('data-member="manager@keyport.test"')[1].split("</tr>")[0]
    employee_row = body.split('data-member="employee@keyport.test"')[1].split("</tr>")[0]
    assert "<td>On</td>" in manager_row and "<td>Off</td>" in employee_row


def test_an_invitee_who_must_use_two_factor_sets_it_up_first(site, actor, django_capture_on_commit_callbacks):
    from tests.test_staff_team import invite, set_password

    TeamSettings.objects.create(pk=1, two_factor_required=True)
    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    client = Client()
    set_password(client, token)
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"] == TWO_FACTOR
    assert client.get(TWO_FACTOR).status_code == 200


def test_the_admin_is_closed_until_a_required_two_factor_is_set_up(owner, manager):
    manager.is_staff = True
    manager.is_superuser = True
    manager.save()
    with_two_factor(owner)
    TeamSettings.objects.create(pk=1, two_factor_required=True)
    client = Client()
    password_sign_in(client, manager)
    assert client.get("/admin/").status_code == 302
    client.get(TWO_FACTOR)
    client.post(TWO_FACTOR, {"code": code_of(TOTPDevice.objects.get(user=manager))})
    assert client.get("/admin/").status_code == 200


def test_an_owner_resetting_their_own_required_two_factor_on_the_staff_page_is_told_why_not(owner):
    with_two_factor(owner)
    TeamSettings.objects.create(pk=1, two_factor_required=True)
    with later():
        client = Client()
        password_sign_in(client, owner)
        client.post(CODE, {"code": code_of(TOTPDevice.objects.get(user=owner))})
        response = client.post(f"/dashboard/staff/{owner.pk}/two-factor-reset/", follow=True)
        assert response.status_code == 200
        assert "Your team requires two-factor sign-in" in response.content.decode()
        assert TOTPDevice.objects.filter(user=owner, confirmed=True).exists()
