"""Forgot password? on the dashboard's sign-in page: the same answer for known and unknown emails,
rate-limited, a link with Django's password-reset token in the operator's branding, once."""

import re

import pytest
from django.core import mail
from django.test import Client

from keyport.audit.models import AuditEntry
from keyport.emails.models import EmailTemplate, OutgoingEmail
from keyport.staff.services import staff_deactivate
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

FORGOT = "/dashboard/password-reset/"
LINK = re.compile(r"https?://\S+(?P<path>/dashboard/password-reset/[^/\s]+/[^/\s]+/)")
NEW_PASSWORD = "a-fresh-and-unusual-passphrase-3"


def ask(client, email, capture):
    with capture(execute=True):
        return client.post(FORGOT, {"email": email}, follow=True)


def link_path():
    [message] = mail.outbox
    match = LINK.search(message.body)
    assert match, message.body
    return match["path"]


def set_new_password(client, path, password=NEW_PASSWORD):
    form = client.get(path, follow=True)
    return client.post(form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def test_the_sign_in_page_offers_forgot_password(client):
    assert f'href="{FORGOT}"' in client.get("/dashboard/login/").content.decode()


def test_known_and_unknown_emails_get_the_same_answer(client, manager, django_capture_on_commit_callbacks):
    known = ask(client, "manager@keyport.test", django_capture_on_commit_callbacks)
    unknown = ask(Client(), "nobody@keyport.test", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 200
    words = "If this email belongs to a staff account, we sent it a link to set a new password."
    assert words in known.content.decode() and words in unknown.content.decode()
    assert [message.to for message in mail.outbox] == [["manager@keyport.test"]]


def test_the_link_sets_a_new_password_once(client, manager, django_capture_on_commit_callbacks):
    ask(client, manager.email, django_capture_on_commit_callbacks)
    path = link_path()
    browser = Client()
    response = set_new_password(browser, path)
    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="staff.password_reset", target_id=manager.pk).exists()
    again = Client().get(path, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_opening_the_link_changes_nothing(client, manager, django_capture_on_commit_callbacks):
    ask(client, manager.email, django_capture_on_commit_callbacks)
    Client().get(link_path(), follow=True)
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


def test_a_weak_new_password_is_refused_beside_the_field(client, manager, django_capture_on_commit_callbacks):
    ask(client, manager.email, django_capture_on_commit_callbacks)
    response = set_new_password(Client(), link_path(), "12345678")
    assert response.status_code == 200 and "entirely numeric" in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


def test_a_deactivated_member_gets_no_link_and_an_earlier_one_stops(
    client, actor, manager, django_capture_on_commit_callbacks
):
    ask(client, manager.email, django_capture_on_commit_callbacks)
    path = link_path()
    staff_deactivate(actor=actor, member=manager)
    assert "This link no longer works" in Client().get(path, follow=True).content.decode()
    mail.outbox.clear()
    ask(Client(), manager.email, django_capture_on_commit_callbacks)
    assert not mail.outbox


def test_requests_are_rate_limited_alike_for_known_and_unknown_emails(
    settings, manager, django_capture_on_commit_callbacks
):
    settings.STAFF_PASSWORD_RESETS_PER_EMAIL = 2
    for email in (manager.email, "nobody@keyport.test"):
        for _ in range(2):
            assert ask(Client(), email, django_capture_on_commit_callbacks).status_code == 200
        refused = ask(Client(), email, django_capture_on_commit_callbacks)
        assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert len(mail.outbox) == 2


def test_the_email_is_from_the_catalogue_in_the_operators_words(
    client, manager, django_capture_on_commit_callbacks
):
    EmailTemplate.objects.create(
        key="staff_password_reset",
        subject="Neues Passwort für {{ site_name }}",
        body_text="Hallo {{ full_name }}, hier: {{ link }}",
    )
    ask(client, manager.email, django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.subject.startswith("Neues Passwort für")
    logged = OutgoingEmail.objects.get(template="staff_password_reset")
    assert "/dashboard/password-reset/" not in logged.body_text  # the link is a secret, never logged
    assert link_path()
