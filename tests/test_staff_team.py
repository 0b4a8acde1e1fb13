"""The Staff page: owners see the team and invite, change and deactivate its members; an invite
link works once, for 72 hours, only while its member is active, and sets a password."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.lib.tokens import token_hash
from keyport.staff.models import Role, StaffInvite, StaffUser
from keyport.staff.services import staff_deactivate, staff_invite
from tests.conftest import signed_in, staff_member
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HOME = "/dashboard/"
STAFF = "/dashboard/staff/"
INVITE = "/dashboard/staff/invite/"
LINK = re.compile(r"https?://\S+/dashboard/invite/(?P<token>[A-Za-z0-9_-]+)/")
GOOD_PASSWORD = "a-long-and-unusual-passphrase-7"


def invite_form(**fields):
    return {"full_name": "Max Manager", "email": "max@keyport.test", "role": Role.MANAGER, **fields}


def invite(actor, site, *, email="max@keyport.test", capture):
    with capture(execute=True):
        member = staff_invite(
            actor=actor,
            full_name="Max Manager",
            email=email,
            role=Role.MANAGER,
            all_locations=False,
            locations=[site.location],
        )
    return member, last_token(email)


def last_token(email):
    message = [message for message in mail.outbox if message.to == [email]][-1]
    match = LINK.search(message.body)
    assert match, message.body
    return match["token"]


def set_password(client, token, password=GOOD_PASSWORD):
    url = reverse("dashboard:staff_invite_accept", args=[token])
    return client.post(url, {"new_password1": password, "new_password2": password})


def is_signed_in(client):
    return client.get(HOME).status_code == 200


# The Staff page ------------------------------------------------------------------------------


def test_the_staff_page_lists_each_member_with_role_locations_and_last_sign_in(owner_client, owner, manager):
    StaffUser.objects.filter(pk=manager.pk).update(last_login=dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC))
    body = owner_client.get(STAFF).content.decode()
    assert "Olga Owner" in body and "owner@keyport.test" in body
    row = body.split('data-member="manager@keyport.test"')[1].split("</tr>")[0]
    assert "Manager" in row and manager.locations.get().name in row and "2026-03-02 08:00" in row
    assert 'href="/dashboard/staff/"' in owner_client.get(HOME).content.decode()


def test_only_owners_reach_the_staff_page(manager_client, employee_client):
    for client in (manager_client, employee_client):
        assert client.get(STAFF).status_code == 403
        assert client.get(INVITE).status_code == 403
        assert 'href="/dashboard/staff/"' not in client.get(HOME).content.decode()


def test_the_staff_page_shows_the_teams_changes(
    owner_client, site, actor, django_capture_on_commit_callbacks
):
    member, _ = invite(actor, site, capture=django_capture_on_commit_callbacks)
    staff_deactivate(actor=actor, member=member)
    body = owner_client.get(STAFF).content.decode()
    assert 'data-audit="staff.invited"' in body and 'data-audit="staff.deactivated"' in body


# Invite staff member ------------------------------------------------------------------------


def test_an_owner_invites_a_manager_who_gets_a_one_time_link(
    owner_client, site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(INVITE, invite_form(locations=[site.location.pk]))
    assert response.status_code == 302
    member = StaffUser.objects.get(email="max@keyport.test")
    assert member.role == Role.MANAGER and list(member.locations.all()) == [site.location]
    assert not member.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["max@keyport.test"] and "72 hours" in message.body
    invite_row = StaffInvite.objects.get(member=member)
    token = last_token("max@keyport.test")
    assert invite_row.token_hash == token_hash(token) and token not in invite_row.token_hash
    assert invite_row.expires_at - invite_row.created_at == dt.timedelta(hours=72)
    assert AuditEntry.objects.filter(action="staff.invited", target_id=member.pk).exists()


def test_an_email_already_on_the_team_is_refused_beside_the_field(owner_client, manager):
    response = owner_client.post(INVITE, invite_form(email="MANAGER@keyport.test", all_locations="on"))
    assert response.status_code == 400
    assert (
        'id="id_email-error">This email already belongs to a member of the team.' in response.content.decode()
    )
    assert StaffUser.objects.count() == 2 and not StaffInvite.objects.exists()


def test_a_manager_needs_locations_or_all_locations_chosen(owner_client):
    response = owner_client.post(INVITE, invite_form())
    assert response.status_code == 400
    assert "Choose the locations they work at, or All locations." in response.content.decode()
    assert not StaffUser.objects.filter(email="max@keyport.test").exists()
    assert owner_client.post(INVITE, invite_form(all_locations="on")).status_code == 302
    assert StaffUser.objects.get(email="max@keyport.test").all_locations


# The invite link -----------------------------------------------------------------------------


def test_opening_the_link_only_shows_the_password_form(site, actor, django_capture_on_commit_callbacks):
    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    client = Client()
    response = client.get(reverse("dashboard:staff_invite_accept", args=[token]))
    assert response.status_code == 200 and "Set password and sign in" in response.content.decode()
    assert StaffInvite.objects.get().used_at is None and not is_signed_in(client)


def test_the_invitee_sets_a_password_and_is_signed_in(site, actor, django_capture_on_commit_callbacks):
    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    client = Client()
    assert set_password(client, token).status_code == 302
    assert is_signed_in(client)
    member.refresh_from_db()
    assert member.check_password(GOOD_PASSWORD)
    assert AuditEntry.objects.filter(action="staff.invite_accepted", target_id=member.pk).exists()


def test_a_weak_password_is_refused_and_uses_nothing_up(site, actor, django_capture_on_commit_callbacks):
    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    client = Client()
    response = set_password(client, token, "password")
    assert response.status_code == 400 and "too common" in response.content.decode()
    member.refresh_from_db()
    assert not member.has_usable_password() and StaffInvite.objects.get().used_at is None
    assert not is_signed_in(client)


def test_an_invite_link_works_once(site, actor, django_capture_on_commit_callbacks):
    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    set_password(Client(), token)
    member.refresh_from_db()
    password = member.password
    other = Client()
    response = set_password(other, token, "another-long-passphrase-9")
    assert response.status_code == 200 and "This invite link no longer works" in response.content.decode()
    assert not is_signed_in(other)
    member.refresh_from_db()
    assert member.password == password


def test_an_invite_link_expires_after_72_hours(site, actor, django_capture_on_commit_callbacks):
    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    sent = StaffInvite.objects.get().created_at
    with time_machine.travel(sent + dt.timedelta(hours=72) - dt.timedelta(seconds=1), tick=False):
        assert (
            "Set password and sign in"
            in Client().get(reverse("dashboard:staff_invite_accept", args=[token])).content.decode()
        )
    with time_machine.travel(sent + dt.timedelta(hours=72), tick=False):
        client = Client()
        response = set_password(client, token)
        assert "This invite link no longer works" in response.content.decode()
        assert not is_signed_in(client)
    member.refresh_from_db()
    assert not member.has_usable_password()


def test_an_invite_link_of_a_deactivated_member_signs_nobody_in(
    site, actor, django_capture_on_commit_callbacks
):
    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    staff_deactivate(actor=actor, member=member)
    client = Client()
    response = set_password(client, token)
    assert "This invite link no longer works" in response.content.decode()
    assert not is_signed_in(client)
    member.refresh_from_db()
    assert not member.has_usable_password()


def test_a_token_never_issued_gets_the_clear_page(db):
    response = Client().get(reverse("dashboard:staff_invite_accept", args=["not-a-token"]))
    assert response.status_code == 200 and "This invite link no longer works" in response.content.decode()


def test_resend_invite_sends_a_new_link_and_voids_the_old_one(
    owner_client, site, actor, django_capture_on_commit_callbacks
):
    member, old = invite(actor, site, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("dashboard:staff_invite_resend", args=[member.pk]))
    assert response.status_code == 302
    new = last_token(member.email)
    assert new != old
    assert "This invite link no longer works" in set_password(Client(), old).content.decode()
    assert set_password(Client(), new).status_code == 302
    assert AuditEntry.objects.filter(action="staff.invite_resent", target_id=member.pk).exists()


def test_no_resend_for_someone_who_set_a_password(owner_client, manager):
    response = owner_client.post(reverse("dashboard:staff_invite_resend", args=[manager.pk]), follow=True)
    assert "set their password already" in response.content.decode()
    assert not StaffInvite.objects.exists() and not mail.outbox


# Role and locations, Deactivate --------------------------------------------------------------


def test_changing_a_members_locations_ends_their_sessions(owner_client, manager, other_site):
    manager_client = signed_in(manager)
    url = reverse("dashboard:staff_member", args=[manager.pk])
    response = owner_client.post(url, {"role": Role.MANAGER, "locations": [other_site.location.pk]})
    assert response.status_code == 302
    assert list(manager.locations.all()) == [other_site.location]
    assert not is_signed_in(manager_client)
    assert AuditEntry.objects.filter(action="staff.scope_changed", target_id=manager.pk).exists()


def test_a_deactivated_members_session_ends_at_once(owner_client, manager):
    manager_client = signed_in(manager)
    assert is_signed_in(manager_client)
    response = owner_client.post(reverse("dashboard:staff_deactivate", args=[manager.pk]))
    assert response.status_code == 302
    assert not is_signed_in(manager_client)
    manager.refresh_from_db()
    assert not manager.is_active and StaffUser.objects.filter(pk=manager.pk).exists()
    assert AuditEntry.objects.filter(action="staff.deactivated", target_id=manager.pk).exists()
    assert not Client().login(username=manager.email, password=PASSWORD)


def test_the_last_active_owner_cannot_be_deactivated_nor_made_a_manager(owner_client, owner):
    response = owner_client.post(reverse("dashboard:staff_deactivate", args=[owner.pk]), follow=True)
    assert "last active owner" in response.content.decode()
    url = reverse("dashboard:staff_member", args=[owner.pk])
    response = owner_client.post(url, {"role": Role.MANAGER, "all_locations": "on"})
    assert response.status_code == 400 and "last active owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active and owner.role == Role.OWNER
    assert not AuditEntry.objects.filter(target_id=owner.pk).exists()


def test_an_owner_can_be_deactivated_while_another_owner_is_active(owner_client, owner):
    second = staff_member(Role.OWNER, email="second@keyport.test")
    assert owner_client.post(reverse("dashboard:staff_deactivate", args=[second.pk])).status_code == 302
    second.refresh_from_db()
    assert not second.is_active
    assert StaffUser.objects.filter(role=Role.OWNER, is_active=True).count() == 1


def test_a_deactivated_members_role_and_locations_stay_as_they_were(owner_client, actor, manager, other_site):
    staff_deactivate(actor=actor, member=manager)
    before = list(manager.locations.all())
    url = reverse("dashboard:staff_member", args=[manager.pk])
    response = owner_client.post(url, {"role": Role.OWNER, "locations": [other_site.location.pk]})
    assert response.status_code == 400 and "A deactivated member works nowhere." in response.content.decode()
    manager.refresh_from_db()
    assert manager.role == Role.MANAGER and list(manager.locations.all()) == before


def test_the_staff_page_reads_the_same_few_queries_however_big_the_team(
    owner_client, site, other_site, django_assert_max_num_queries
):
    for number in range(12):
        staff_member(Role.EMPLOYEE, site.location, other_site.location, email=f"crew{number}@keyport.test")
    with django_assert_max_num_queries(8):
        response = owner_client.get(STAFF)
    assert response.content.decode().count("data-member=") == 13


def test_an_invite_left_unused_signs_nobody_in_once_the_member_set_a_password_another_way(
    site, actor, django_capture_on_commit_callbacks
):
    """Forgot password? works for an invited member too; their open invite then signs nobody in
    (it would pass by their second factor), and a new password voids it."""
    from keyport.staff.services import staff_password_set

    member, token = invite(actor, site, capture=django_capture_on_commit_callbacks)
    member.set_password("set-another-way-passphrase-3")
    member.save(update_fields=["password"])
    other = Client()
    response = set_password(other, token)
    assert response.status_code == 200 and "This invite link no longer works" in response.content.decode()
    assert not is_signed_in(other)
    member.refresh_from_db()
    assert member.check_password("set-another-way-passphrase-3")

    staff_password_set(member=member, password="yet-another-passphrase-7")
    assert StaffInvite.objects.get(token_hash=token_hash(token)).voided_at is not None
