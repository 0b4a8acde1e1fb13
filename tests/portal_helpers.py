"""Signing the cast in to the portal, and reading the link an email carried."""

import re

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keyport.contacts.models import Contact
from keyport.emails.models import OutgoingEmail
from keyport.portal.sessions import SESSION_CONTACT_ID, SESSION_EPOCH, SESSION_SIGNED_IN_AT
from keyport.portal.sign_in_views import CONTINUE_COOKIE

LINK = re.compile(r"https?://[^\s]+/login/link/(?P<token>[A-Za-z0-9_-]+)/")


def sign_in_as(client: Client, contact: Contact) -> None:
    """Put a portal session in the test client, as a finished sign-in would."""
    contact.refresh_from_db()
    session = client.session
    session[SESSION_CONTACT_ID] = contact.pk
    session[SESSION_EPOCH] = contact.session_epoch
    session[SESSION_SIGNED_IN_AT] = int(timezone.now().timestamp())
    session.save()


def token_from_text(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no sign-in link in: {text!r}"
    return match["token"]


def last_token_sent_to(email: str) -> str:
    """The token in the newest email to this address, from the link it waits with until delivered."""
    newest = OutgoingEmail.objects.filter(to=email).latest("created_at", "id")
    return token_from_text(newest.secrets_to_send["link"])


def press_continue(client: Client, token: str):
    """POST the Continue page's form as the browser that was shown it (its nonce cookie and field)."""
    client.cookies[CONTINUE_COOKIE] = "same-browser-nonce"
    return client.post(reverse("sign_in:continue"), {"token": token, "nonce": "same-browser-nonce"})
