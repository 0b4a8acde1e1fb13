"""A secret an email carries (a sign-in or invite link, an email-change confirmation, a guest's key)
is put into the message by the worker as it sends it: the stored email, the admin and the dashboard
only ever hold its placeholder, and once it is delivered nothing stored holds the secret."""

import datetime as dt
import re
import urllib.parse

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as MemoryBackend
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from keyport.audit.services import Actor
from keyport.contacts.models import Contact
from keyport.contacts.services import invite_send
from keyport.emails.models import EmailStatus, OutgoingEmail
from keyport.emails.services import email_deliver
from keyport.emails.tasks import deliver_email
from keyport.portal.sessions import SESSION_CONTACT_ID
from keyport.staff.models import Role
from tests import cast
from tests.factories import StaffUserFactory
from tests.portal_helpers import press_continue, sign_in_as, token_from_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest")]

PLACEHOLDER = "[link: added when sent, never kept in the log]"


class RefusingBackend(MemoryBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def stored_rows_holding(secret: str) -> list[str]:
    """Every table and column whose stored value contains `secret`, read with SQL, not the models."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from the schema
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                found += [
                    f"{table}.{c}" for c, value in zip(columns, row, strict=True) if secret in str(value)
                ]
    return found


def request_sign_in_link(client: Client) -> OutgoingEmail:
    """The login page's request, whose task queues the email; the worker has not sent it yet."""
    with TestCase.captureOnCommitCallbacks() as callbacks:
        assert client.post("/login/", {"email": "tenant@example.com"}).status_code == 200
    for run_task in callbacks:
        run_task()
    return OutgoingEmail.objects.get(to="tenant@example.com")


def deliver_all() -> None:
    for pk in OutgoingEmail.objects.filter(status=EmailStatus.QUEUED).values_list("pk", flat=True):
        deliver_email.enqueue(pk)


def test_a_queued_sign_in_email_stores_no_token_and_the_late_delivered_one_signs_in(client, tenant):
    queued = request_sign_in_link(client)
    assert queued.status == EmailStatus.QUEUED and mail.outbox == []
    assert "/login/link/" not in queued.subject + queued.body_text + queued.body_html
    assert PLACEHOLDER in queued.body_text and PLACEHOLDER in queued.body_html

    # The worker gets to it late, but inside the link's lifetime.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=8)):
        deliver_all()
        [message] = mail.outbox
        token = token_from_text(message.body)
        assert f"/login/link/{token}/" in message.alternatives[0][0]
        assert token not in message.subject
        assert token not in queued.subject + queued.body_text + queued.body_html
        assert "Continue" in client.get(reverse("sign_in:link", args=[token])).content.decode()
        assert press_continue(client, token).status_code == 302
    assert client.session[SESSION_CONTACT_ID] == tenant.pk


def test_until_delivery_the_token_waits_only_beside_the_email_and_afterwards_nowhere(client, site):
    queued = request_sign_in_link(client)
    token = token_from_text(queued.secrets_to_send["link"])
    assert stored_rows_holding(token) == ["emails_outgoingemail.secrets_to_send"]
    deliver_all()
    assert token in mail.outbox[0].body
    assert OutgoingEmail.objects.get().status == EmailStatus.SENT
    assert stored_rows_holding(token) == []


def test_the_admin_and_the_dashboard_email_log_show_no_token(client, admin_client, tenant):
    email = request_sign_in_link(client)
    token = token_from_text(email.secrets_to_send["link"])
    owner = Client()
    owner.force_login(StaffUserFactory(role=Role.OWNER))
    customer_page = reverse("dashboard:customer_detail", args=[tenant.customer.pk])
    for delivered in (False, True):
        change_page = admin_client.get(f"/admin/emails/outgoingemail/{email.pk}/change/").content.decode()
        assert email.subject in change_page and PLACEHOLDER in change_page
        assert token not in change_page and 'name="_save"' not in change_page
        assert token not in admin_client.get("/admin/emails/outgoingemail/").content.decode()
        log = owner.get(customer_page).content.decode()
        assert email.subject in log and token not in log
        if not delivered:
            deliver_all()
    assert admin_client.post(f"/admin/emails/outgoingemail/{email.pk}/change/", {}).status_code == 403
    assert OutgoingEmail.objects.get().secrets_to_send == {}


def test_a_failed_delivery_keeps_the_link_for_the_next_attempt_and_a_resent_invite_works(
    client, tenant, settings
):
    settings.EMAIL_BACKEND = "tests.test_email_secrets.RefusingBackend"
    actor = Actor.system("tests")
    first = invite_send(actor=actor, contact=tenant)
    email = email_deliver(email_id=OutgoingEmail.objects.get().pk)
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 1)
    assert email.secrets_to_send["link"]

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email_deliver(email_id=email.pk)
    first_token = token_from_text(mail.outbox[0].body)
    assert first.token_hash and stored_rows_holding(first_token) == []

    invite_send(actor=actor, contact=Contact.objects.get(pk=tenant.pk))  # Resend Invite
    deliver_all()
    second_token = token_from_text(mail.outbox[1].body)
    assert second_token != first_token and stored_rows_holding(second_token) == []
    assert press_continue(client, second_token).status_code == 302
    assert client.session[SESSION_CONTACT_ID] == tenant.pk


def test_an_email_given_up_forgets_its_link(tenant, settings):
    settings.EMAIL_BACKEND = "tests.test_email_secrets.RefusingBackend"
    invite_send(actor=Actor.system("tests"), contact=tenant)
    email = OutgoingEmail.objects.get()
    for _attempt in range(5):
        email = email_deliver(email_id=email.pk)
    assert email.status == EmailStatus.FAILED
    assert OutgoingEmail.objects.get().secrets_to_send == {}


def test_an_email_change_confirmation_is_stored_without_its_token_and_confirms_when_delivered(client, tenant):
    sign_in_as(client, tenant)
    client.post(reverse("portal:settings_email"), {"email": "mara@new.example.com"})
    queued = OutgoingEmail.objects.get(template="portal_email_change_confirm")
    assert "/portal/settings/email/" not in queued.subject + queued.body_text
    assert PLACEHOLDER in queued.body_text
    deliver_all()
    [message] = [m for m in mail.outbox if m.to == ["mara@new.example.com"]]
    path = re.search(r"/portal/settings/email/[^/\s]+/", message.body)
    assert path
    token = urllib.parse.unquote(path[0].rsplit("/", 2)[1])
    assert stored_rows_holding(token) == []
    client.post(path[0])
    assert Contact.objects.get(pk=tenant.pk).email == "mara@new.example.com"


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False)
def test_a_guests_key_is_stored_only_until_the_email_is_delivered(client, site, tenant):
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    cast.share(booking, "friend@example.com", dt.date(2026, 3, 2), dt.date(2026, 3, 9))
    queued = OutgoingEmail.objects.get(to="friend@example.com")
    assert "/key/" not in queued.subject + queued.body_text + queued.body_html
    assert "[key_link: added when sent, never kept in the log]" in queued.body_text
    deliver_all()
    key = re.search(r"/key/([A-Za-z0-9_-]+)/", mail.outbox[0].body)
    assert key
    assert stored_rows_holding(key[1]) == []
    assert client.get(f"/key/{key[1]}/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_email_queued_before_the_upgrade_goes_out_with_its_link_and_the_log_without():
    link = "https://portal.example.com/login/link/TOKEN-FROM-BEFORE/"
    old_placeholder = "[one-time link, removed from the log after sending]"
    text = "Hello,\n\nsign in: {}\n\nor paste {} into your browser.\n"
    executor = MigrationExecutor(connection)
    before = [("emails", "0003_html_body_after_sending")]
    executor.migrate(before)
    try:
        old_model = executor.loader.project_state(before).apps.get_model("emails", "OutgoingEmail")
        old_model.objects.create(
            to="mara@example.com",
            subject="Sign in",
            body_text=text.format(link, link),
            body_html=f'<p><a href="{link}" rel="nofollow">{link}</a></p>',
            body_text_after_sending=text.format(old_placeholder, old_placeholder),
            body_html_after_sending=f"<p>{old_placeholder}</p>",
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    email = OutgoingEmail.objects.get()
    assert stored_rows_holding("TOKEN-FROM-BEFORE") == ["emails_outgoingemail.secrets_to_send"]
    assert email.body_text == text.format(PLACEHOLDER, PLACEHOLDER)
    email_deliver(email_id=email.pk)
    assert mail.outbox[0].body == text.format(link, link)
    assert f'<a href="{link}" rel="nofollow">{link}</a>' in mail.outbox[0].alternatives[0][0]
    assert stored_rows_holding("TOKEN-FROM-BEFORE") == []
