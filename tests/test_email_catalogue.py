"""Every email Keyport sends is in one catalogue: a template with a shipped default that the
operator edits under Emails, rendered with the location's branding as HTML and text, logged,
and queued by one function in its app's emails.py. An email outside the catalogue is refused."""

import ast
import datetime as dt
import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from keyport.audit.services import Actor
from keyport.contacts.models import Contact
from keyport.emails.defaults import DEFAULT_TEMPLATES, DefaultTemplate, register_default_template
from keyport.emails.models import EmailStatus, OutgoingEmail
from keyport.emails.services import email_deliver, email_queue, email_template_save
from keyport.events.services import event_create, event_invite
from keyport.frontdesk.email_change import contact_email_change_request
from tests.cast import Site
from tests.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest", "branded")]

PLACEHOLDER = "[link: added when sent, never kept in the log]"


@pytest.fixture
def branded(site) -> None:
    site.set(brand_name="Lagerhaus", brand_colour="#ffd600")


def invite_to_open_day(site: Site, *emails: str) -> OutgoingEmail:
    event = event_create(
        actor=Actor.system("tests"),
        location=site.location,
        title="Open day",
        place="Yard by gate 2",
        capacity=10,
        starts_at=dt.datetime(2099, 6, 6, 8, tzinfo=dt.UTC),
        rsvp_deadline=dt.datetime(2099, 6, 4, 16, tzinfo=dt.UTC),
    )
    event_invite(actor=Actor.system("tests"), event=event, emails=emails or ["tenant@example.com"])
    return OutgoingEmail.objects.filter(template="event_invitation").first()


def assert_branded(email: OutgoingEmail) -> None:
    assert "Lagerhaus</span>" in email.body_html
    assert "background-color:#ffd600;color:#212529" in email.body_html


def save_template(key: str, subject: str, body_text: str) -> None:
    email_template_save(actor=Actor.system("tests"), key=key, subject=subject, body_text=body_text)


def delivered(email: OutgoingEmail) -> mail.EmailMultiAlternatives:
    assert email_deliver(email_id=email.pk).status == EmailStatus.SENT
    [message] = [message for message in mail.outbox if message.to == [email.to]]
    return message


# The screen ----------------------------------------------------------------------------------------


def test_every_email_of_the_catalogue_is_on_the_email_templates_screen(owner):
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("dashboard:email_templates")).content.decode()
    for template in DEFAULT_TEMPLATES.values():
        assert template.name in page
        edit = reverse("dashboard:email_template_edit", args=[template.key])
        assert client.get(edit).status_code == 200
    assert {"event_invitation", "portal_email_change_confirm"} <= set(DEFAULT_TEMPLATES)


def test_the_preview_of_the_new_emails_renders_their_example(owner):
    client = Client()
    client.force_login(owner)
    for key, words in [("event_invitation", "Cars and coffee"), ("portal_email_change_confirm", "24 hours")]:
        default = DEFAULT_TEMPLATES[key]
        url = reverse("dashboard:email_template_preview", args=[key])
        response = client.post(url, {"subject": default.subject, "body_text": default.body_text})
        assert response.status_code == 200 and words in response.content.decode()


# The event invitation ------------------------------------------------------------------------------


def test_the_event_invitation_is_branded_html_and_text_and_logged(site, tenant):
    email = invite_to_open_day(site)
    assert (email.to, email.contact, email.status) == ("tenant@example.com", tenant, EmailStatus.QUEUED)
    assert email.subject == "You are invited: Open day"
    assert "Hello Mara,\n\nLager Kreuzberg invites you to Open day." in email.body_text
    assert "When: Saturday 6 June 2099, 10:00 (Europe/Berlin)" in email.body_text
    assert "Where: Yard by gate 2" in email.body_text
    assert "Please answer by 4 June 2099, 18:00." in email.body_text
    assert f"{settings.PUBLIC_BASE_URL}/login/?location={site.location.pk}" in email.body_text
    assert_branded(email)
    message = delivered(email)
    assert message.body == email.body_text
    assert message.alternatives[0] == (email.body_html, "text/html")


def test_an_operators_edit_of_the_invitation_changes_what_is_sent(site):
    save_template("event_invitation", "Come to {{ event_title }}!", "{{ first_name }}: {{ place }}")
    email = invite_to_open_day(site)
    assert (email.subject, email.body_text) == ("Come to Open day!", "Mara: Yard by gate 2")
    assert_branded(email)
    assert delivered(email).body == "Mara: Yard by gate 2"


def test_every_invitee_gets_their_own_invitation(site):
    stranger = "new.person@example.com"
    invite_to_open_day(site, "tenant@example.com", "partner@example.com", stranger)
    sent = OutgoingEmail.objects.filter(template="event_invitation").order_by("to")
    assert [(email.to, email.body_text.split(",")[0]) for email in sent] == [
        (stranger, "Hello new.person"),
        ("partner@example.com", "Hello Jonas"),
        ("tenant@example.com", "Hello Mara"),
    ]
    assert all("Lagerhaus</span>" in email.body_html for email in sent)


# The email-change confirmation ---------------------------------------------------------------------


def request_change(tenant: Contact) -> OutgoingEmail:
    contact_email_change_request(contact=tenant, new_email="mara@new.example.com")
    return OutgoingEmail.objects.get(template="portal_email_change_confirm")


def confirmation_path(text: str) -> str:
    match = re.search(r"/portal/settings/email/[^/\s]+/", text)
    assert match, text
    return match[0]


def test_the_email_change_confirmation_is_branded_html_and_text_and_logged_without_its_link(tenant):
    email = request_change(tenant)
    assert (email.to, email.contact) == ("mara@new.example.com", tenant)
    assert email.subject == "Confirm your new Lagerhaus sign-in email"
    assert "sign in to the Lagerhaus customer portal with this address (mara@new.example.com)" in (
        email.body_text
    )
    assert "The link works for 24 hours." in email.body_text
    assert PLACEHOLDER in email.body_text and PLACEHOLDER in email.body_html
    assert "/portal/settings/email/" not in email.subject + email.body_text + email.body_html
    assert_branded(email)
    message = delivered(email)
    path = confirmation_path(message.body)
    assert f'href="{settings.PUBLIC_BASE_URL}{path}"' in message.alternatives[0][0]
    assert OutgoingEmail.objects.get(pk=email.pk).secrets_to_send == {}


def test_an_operators_edit_of_the_confirmation_changes_what_is_sent_and_it_still_confirms(tenant):
    save_template("portal_email_change_confirm", "{{ site_name }}: new address", "Confirm: {{ link }}")
    email = request_change(tenant)
    assert (email.subject, email.body_text) == ("Lagerhaus: new address", f"Confirm: {PLACEHOLDER}")
    path = confirmation_path(delivered(email).body)
    Client().post(path)
    assert Contact.objects.get(pk=tenant.pk).email == "mara@new.example.com"
    stored = OutgoingEmail.objects.get(pk=email.pk)
    assert path.split("/")[-2] not in stored.body_text + stored.body_html + str(stored.secrets_to_send)


def test_the_confirmation_cannot_be_saved_without_its_link(tenant):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        save_template("portal_email_change_confirm", "Confirm", "Please confirm.")
    assert "must contain {{ link }}" in str(refused.value.message_dict["body_text"])
    assert request_change(tenant).body_text.startswith("Hello Mara,")


# Nothing outside the catalogue ---------------------------------------------------------------------


def test_an_email_that_is_not_in_the_catalogue_is_refused():
    contact = ContactFactory()
    for template in ("", "welcome_letter"):
        with pytest.raises(ValueError, match="not an email in the catalogue"):
            email_queue(to=contact.email, subject="Hi", body_text="Hello", template=template)
    assert not OutgoingEmail.objects.exists()


def test_two_emails_cannot_share_a_key():
    shipped = DEFAULT_TEMPLATES["event_invitation"]
    register_default_template(shipped)  # The same email registered again (a module read twice).
    other = DefaultTemplate(key="event_invitation", name="Other", description="", subject="x", body_text="y")
    with pytest.raises(ValueError, match="Two emails"):
        register_default_template(other)
    assert DEFAULT_TEMPLATES["event_invitation"] is shipped


KEYPORT = Path(settings.BASE_DIR) / "keyport"
# Only the catalogue itself builds and sends messages; every app queues from a template.
SENDING = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "EmailMessage"}
SENDING |= {"EmailMultiAlternatives", "email_queue"}
FROM_TEMPLATE = {"email_queue_from_template", "emails_queue_from_template"}


def _calls(tree: ast.AST) -> list[tuple[ast.Call, str, ast.FunctionDef | None]]:
    found = []

    def walk(node: ast.AST, function: ast.FunctionDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef) else function
            if isinstance(child, ast.Call):
                name = getattr(child.func, "id", None) or getattr(child.func, "attr", "")
                found.append((child, name, function))
            walk(child, inner)

    walk(tree, None)
    return found


def test_every_email_the_product_queues_comes_from_a_registered_template_in_an_emails_module():
    """Every call that sends or queues an email, found in the source: only the catalogue sends,
    only an app's emails.py queues, and each key it names (directly or through the module's own
    wrapper) is registered; every registered email is queued somewhere."""
    keys_queued = []
    for path in sorted(KEYPORT.rglob("*.py")):
        relative = path.relative_to(KEYPORT.parent)
        if "migrations" in relative.parts or relative.parts[1] == "emails":
            continue
        module = ".".join(relative.with_suffix("").parts)
        for call, name, function in _calls(ast.parse(path.read_text())):
            where = f"{relative}:{call.lineno}"
            assert name not in SENDING, f"{where} sends an email outside the catalogue"
            if name in FROM_TEMPLATE:
                assert path.name == "emails.py", f"{where} queues an email outside its app's emails.py"
            keys = [keyword.value for keyword in call.keywords if keyword.arg == "key"]
            if path.name != "emails.py" or name == "DefaultTemplate" or not keys:
                continue
            parameters = {argument.arg for argument in function.args.kwonlyargs} if function else set()
            for used in (node.id for node in ast.walk(keys[0]) if isinstance(node, ast.Name)):
                if used in parameters:
                    continue  # A wrapper's parameter: its callers name the key.
                value = getattr(importlib.import_module(module), used)
                assert value in DEFAULT_TEMPLATES, f"{where} queues {value!r}, which is not registered"
                keys_queued.append(value)
    assert set(keys_queued) == set(DEFAULT_TEMPLATES), "a registered email that nothing sends"
