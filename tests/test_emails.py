from email import message_from_bytes

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from keyport.emails.backends import OneFilePerMessageBackend
from keyport.emails.models import EmailStatus, OutgoingEmail
from keyport.emails.services import MAX_DELIVERY_ATTEMPTS, email_deliver, email_queue
from tests.factories import ContactFactory

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
            template="invite",
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
    retried = default_task_backend.results  # type: ignore[attr-defined]
    assert len(retried) == 1
    assert retried[0].args == [email.pk]
    assert retried[0].task.run_after is not None


class BrokenBackend:
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        pass

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError("SMTP server is down")
