from email import message_from_bytes

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.urls import reverse

from keyport.emails.backends import OneFilePerMessageBackend
from keyport.emails.models import EmailStatus, EmailTemplate, OutgoingEmail
from keyport.emails.services import (
    MAX_DELIVERY_ATTEMPTS,
    email_deliver,
    email_queue,
    email_queue_from_template,
)
from keyport.staff.models import Role
from tests.factories import ContactFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def test_every_message_becomes_its_own_file(tmp_path):
    backend = OneFilePerMessageBackend(file_path=str(tmp_path))
    messages = [
        EmailMessage(f"Subject {n}", "Body", "from@keyport.test", [f"to{n}@example.com"]) for n in range(3)
    ]
    assert backend.send_messages(messages) == 3
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 3
    subjects = sorted(message_from_bytes(path.read_bytes())["Subject"] for path in files)
    assert subjects == ["Subject 0", "Subject 1", "Subject 2"]


def test_queued_email_is_logged_and_sent_after_commit(django_capture_on_commit_callbacks):
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        email = email_queue(
            to=contact.email,
            subject="Hi",
            body_text="Text",
            body_html="<p>Text</p>",
            template="portal_invite",
            contact=contact,
        )
        assert mail.outbox == []
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert email.sent_at is not None
    assert mail.outbox[0].alternatives[0][1] == "text/html"
    assert list(contact.emails.all()) == [email]


def test_a_delivered_email_is_not_sent_twice():
    email = OutgoingEmail.objects.create(to="a@example.com", subject="S", body_text="B")
    email_deliver(email_id=email.pk)
    email_deliver(email_id=email.pk)
    assert len(mail.outbox) == 1


def test_an_email_sent_again_after_a_lost_outcome_is_the_same_message():
    email = OutgoingEmail.objects.create(to="a@example.com", subject="S", body_text="B")
    email_deliver(email_id=email.pk)
    # The worker died after the server took it, before it was recorded as delivered.
    OutgoingEmail.objects.filter(pk=email.pk).update(status=EmailStatus.QUEUED)
    email_deliver(email_id=email.pk)
    ids = [message.message()["Message-ID"] for message in mail.outbox]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert ids[0].startswith(f"<keyport-email-{email.pk}.")


def test_a_failing_transport_is_recorded_then_marked_failed(settings):
    settings.EMAIL_BACKEND = "tests.test_emails.BrokenBackend"
    email = OutgoingEmail.objects.create(to="a@example.com", subject="S", body_text="B")
    for attempt in range(1, MAX_DELIVERY_ATTEMPTS + 1):
        email = email_deliver(email_id=email.pk)
        assert email.attempts == attempt
    assert email.status == EmailStatus.FAILED
    assert "ConnectionRefusedError" in email.last_error


def test_failed_delivery_is_retried_later(settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.EMAIL_BACKEND = "tests.test_emails.BrokenBackend"
    from django_tasks import default_task_backend

    from keyport.emails.tasks import deliver_email

    email = OutgoingEmail.objects.create(to="a@example.com", subject="S", body_text="B")
    deliver_email.call(email.pk)
    retried = default_task_backend.results
    assert len(retried) == 1
    assert retried[0].args == [email.pk]
    assert retried[0].task.run_after is not None


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server is down")


class SMTPThatTimesOutOnQuit:
    """An SMTP server that takes the message, then never answers QUIT."""

    accepted: list[bytes] = []

    def __init__(self, host, port, **kwargs):
        pass

    def sendmail(self, from_addr, to_addrs, msg):
        self.accepted.append(msg)
        return {}

    def quit(self):
        raise TimeoutError("timed out")

    def close(self):
        pass


class QuitTimeoutBackend(SMTPBackend):
    connection_class = SMTPThatTimesOutOnQuit


def test_a_message_the_server_took_is_delivered_even_if_quit_fails(settings):
    settings.EMAIL_BACKEND = "tests.test_emails.QuitTimeoutBackend"
    SMTPThatTimesOutOnQuit.accepted = []
    email = OutgoingEmail.objects.create(to="a@example.com", subject="S", body_text="B")
    email = email_deliver(email_id=email.pk)
    assert (email.status, email.last_error) == (EmailStatus.SENT, "")
    assert len(SMTPThatTimesOutOnQuit.accepted) == 1


# Send a test from the template's edit page ----------------------------------------------------------


def test_an_owner_sends_a_test_of_the_wording_in_the_form_to_themselves(
    client, owner, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    url = reverse("dashboard:email_template_send_test", args=["portal_invite"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"subject": "Hello {{ first_name }}", "body_text": "Open {{ link }}"})
    assert response.status_code == 200
    assert "Test email sent to owner@keyport.test." in response.content.decode()
    email = OutgoingEmail.objects.get()
    assert (email.to, email.template, email.status) == (
        "owner@keyport.test",
        "portal_invite",
        EmailStatus.SENT,
    )
    assert email.subject == "Hello Mara"
    assert email.body_text == "Open https://portal.example.com/login/link/EXAMPLE-ONE-TIME-TOKEN/"
    assert mail.outbox[0].to == ["owner@keyport.test"]
    assert not EmailTemplate.objects.exists()
    # Save on the page the test left behind saves, not sends another test.
    edit = reverse("dashboard:email_template_edit", args=["portal_invite"])
    assert f'<form method="post" action="{edit}"' in response.content.decode()


def test_a_wrong_template_is_not_sent(client, owner):
    client.force_login(owner)
    url = reverse("dashboard:email_template_send_test", args=["portal_invite"])
    response = client.post(url, {"subject": "Hello", "body_text": "No link"})
    assert response.status_code == 400
    assert "must contain {{ link }}" in response.content.decode()
    assert not OutgoingEmail.objects.exists() and mail.outbox == []


def test_only_owners_send_tests(client):
    client.force_login(StaffUserFactory(role=Role.MANAGER))
    url = reverse("dashboard:email_template_send_test", args=["portal_invite"])
    assert client.post(url, {"subject": "Hi", "body_text": "{{ link }}"}).status_code == 403
    assert not OutgoingEmail.objects.exists()


def test_the_edit_page_offers_a_test_to_the_owners_own_email(client, owner):
    client.force_login(owner)
    page = client.get(reverse("dashboard:email_template_edit", args=["portal_invite"])).content.decode()
    assert reverse("dashboard:email_template_send_test", args=["portal_invite"]) in page
    assert "Send a test to owner@keyport.test" in page


def test_an_email_with_a_secret_logs_neither_body_with_it_and_sends_both_with_it():
    email = queue_sign_in_link()
    assert "SECRET-TOKEN" not in email.body_text and "SECRET-TOKEN" not in email.body_html
    assert "[link: added when sent, never kept in the log]" in email.body_html
    email = email_deliver(email_id=email.pk)
    assert "\nhttps://portal.example.com/login/link/SECRET-TOKEN/\n" in mail.outbox[0].body
    link = '<a href="https://portal.example.com/login/link/SECRET-TOKEN/" rel="nofollow">'
    assert link in mail.outbox[0].alternatives[0][0]
    assert "SECRET-TOKEN" not in email.body_text and "SECRET-TOKEN" not in email.body_html
    assert email.secrets_to_send == {}


def test_the_html_version_escapes_what_customers_typed():
    contact = ContactFactory(first_name="<b>Mallory</b>")
    email = email_queue_from_template(
        key="portal_email_changed",
        to=contact.email,
        contact=contact,
        context={
            "first_name": contact.first_name,
            "old_email": "a@example.com",
            "new_email": "b@example.com",
        },
    )
    assert "Hello <b>Mallory</b>," in email.body_text
    assert "Hello &lt;b&gt;Mallory&lt;/b&gt;," in email.body_html and "<b>Mallory" not in email.body_html


def test_a_template_subject_may_not_carry_a_one_time_link():
    from django.core.exceptions import ValidationError

    from keyport.audit.services import Actor
    from keyport.emails.services import email_template_save

    with pytest.raises(ValidationError) as refused:
        email_template_save(
            actor=Actor.system("test"),
            key="portal_sign_in_link",
            subject="Sign in: {{ link }}",
            body_text="{{ link }}",
        )
    assert "subject" in refused.value.message_dict
    assert not EmailTemplate.objects.exists()


def queue_sign_in_link() -> OutgoingEmail:
    contact = ContactFactory()
    return email_queue_from_template(
        key="portal_sign_in_link",
        to=contact.email,
        contact=contact,
        context={"first_name": "Mara", "valid_for": "10 minutes"},
        secrets={"link": "https://portal.example.com/login/link/SECRET-TOKEN/"},
    )


def test_a_one_time_link_never_reaches_the_logged_subject():
    EmailTemplate.objects.create(
        key="portal_sign_in_link", subject="Sign in: {{ link }}", body_text="{{ link }}"
    )
    email = queue_sign_in_link()
    email_deliver(email_id=email.pk)
    assert mail.outbox[0].subject == "Sign in: [link: added when sent, never kept in the log]"
    assert "SECRET-TOKEN" in mail.outbox[0].body


# A template that compiles but fails when run --------------------------------------------------------


def test_a_template_whose_filter_fails_when_run_is_refused_beside_the_field(client, owner):
    client.force_login(owner)
    url = reverse("dashboard:email_template_edit", args=["portal_email_changed"])
    response = client.post(url, {"subject": "Changed", "body_text": "Hello {{ first_name|center:'x' }}"})
    assert response.status_code == 400
    assert "Template error: a filter failed" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_the_preview_shows_a_filter_that_fails_when_run(client, owner):
    client.force_login(owner)
    url = reverse("dashboard:email_template_preview", args=["portal_invite"])
    response = client.post(url, {"subject": "Hi", "body_text": "{{ link }} {{ first_name|center:'x' }}"})
    assert response.status_code == 200
    assert "Template error: a filter failed" in response.content.decode()


def test_a_saved_template_that_fails_for_a_recipient_sends_the_default_wording():
    # Saved before templates were run at save time, or passing the example data only.
    EmailTemplate.objects.create(
        key="portal_sign_in_link", subject="Sign in", body_text="{{ link }} {{ first_name|center:'x' }}"
    )
    email = queue_sign_in_link()
    assert email.subject == "Your sign-in link for Keyport"
    assert "here is your link to sign in" in email.body_text
    email_deliver(email_id=email.pk)
    assert "SECRET-TOKEN" in mail.outbox[0].body
