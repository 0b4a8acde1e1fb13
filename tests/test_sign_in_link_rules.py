"""The sign-in link rules, one test a rule: a link lives its lifetime and no longer, works once,
is voided by a newer link, a new email, portal access off or an Inactive account, and signs in
only the browser its Continue page was shown in (the nonce). `make mutate` keeps each rule pinned
(docs/mutation.md); tests/test_portal_sign_in.py covers the pages around them."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.contacts.emails import PORTAL_INVITE, PORTAL_SIGN_IN_LINK, lifetime_label
from keyport.contacts.models import Contact, Customer, PortalLink, PortalLinkPurpose
from keyport.contacts.services import ContactDetails, invite_send, portal_link_lifetime, sign_in_link_send
from keyport.emails.models import OutgoingEmail
from keyport.frontdesk.services import contact_update
from keyport.portal.sessions import SESSION_CONTACT_ID
from keyport.portal.sign_in_views import CONTINUE_COOKIE
from tests.factories import LocationFactory
from tests.portal_helpers import last_token_sent_to, press_continue, sign_in_as

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest")]

START = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
STAFF = Actor.system("staff test")


def send_link() -> tuple[PortalLink, str]:
    link = sign_in_link_send(email="tenant@example.com")
    assert link is not None
    return link, last_token_sent_to("tenant@example.com")


def link_page(client: Client, token: str, **extra):
    return client.get(reverse("sign_in:link", args=[token]), **extra)


def hidden_field(page, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.content.decode())
    assert match, f"no {name} field on the page"
    return match[1]


def signed_in(client: Client) -> int | None:
    return client.session.get(SESSION_CONTACT_ID)


# Expiry and single use ----------------------------------------------------------------------


def test_an_invite_and_a_requested_link_each_go_out_in_their_own_email(partner):
    invite_send(actor=STAFF, contact=partner)
    send_link()
    sent = dict(OutgoingEmail.objects.values_list("to", "template"))
    assert sent == {"partner@example.com": PORTAL_INVITE, "tenant@example.com": PORTAL_SIGN_IN_LINK}
    # Each tells how long its own link works.
    for to, purpose in [("partner@example.com", "invite"), ("tenant@example.com", "sign_in")]:
        said = lifetime_label(portal_link_lifetime(PortalLinkPurpose(purpose)))
        assert said in OutgoingEmail.objects.get(to=to).body_text, (to, said)


def test_a_used_sign_in_link_does_not_sign_in_again(client, site):
    _, token = send_link()
    assert press_continue(client, token).status_code == 302
    other = Client()
    assert press_continue(other, token).status_code == 200
    assert signed_in(other) is None
    assert "This link no longer works" in link_page(client, token).content.decode()


def test_a_link_signs_in_until_the_instant_it_expires(client, site):
    with time_machine.travel(START, tick=False) as traveller:
        link, token = send_link()
        last_moment = link.expires_at - dt.timedelta(microseconds=1)
        traveller.move_to(last_moment)
        assert press_continue(client, token).status_code == 302
    assert PortalLink.objects.get().used_at == last_moment


@pytest.mark.parametrize(
    "no_longer",
    [
        pytest.param(
            lambda contact: Contact.objects.filter(pk=contact.pk).update(can_access_portal=False),
            id="portal-access-off",
        ),
        pytest.param(
            lambda contact: Customer.objects.filter(pk=contact.customer_id).update(is_active=False),
            id="inactive",
        ),
        pytest.param(
            lambda contact: Contact.objects.filter(pk=contact.pk).update(email="mara@new.example.com"),
            id="new-email",
        ),
    ],
)
def test_a_link_left_unvoided_signs_in_no_one_who_may_no_longer_sign_in_with_it(client, tenant, no_longer):
    # Changed behind the services' back, so the link is not voided: the sign-in itself refuses.
    _, token = send_link()
    no_longer(tenant)
    assert press_continue(client, token).status_code == 200
    assert signed_in(client) is None
    assert PortalLink.objects.get().used_at is None


# Voiding ------------------------------------------------------------------------------------


def test_a_new_link_voids_only_the_unused_links_and_keeps_when_each_was_voided(client, site):
    with time_machine.travel(START, tick=False) as traveller:
        first, _ = send_link()
        traveller.shift(dt.timedelta(minutes=1))
        used, used_token = send_link()
        press_continue(client, used_token)
        traveller.shift(dt.timedelta(minutes=1))
        send_link()
        traveller.shift(dt.timedelta(minutes=1))
        newest, _ = send_link()
    first.refresh_from_db()
    used.refresh_from_db()
    assert first.voided_at == START + dt.timedelta(minutes=1)
    assert used.used_at == START + dt.timedelta(minutes=1) and used.voided_at is None
    assert PortalLink.objects.filter(voided_at=START + dt.timedelta(minutes=3)).count() == 1
    assert newest.voided_at is None


def test_a_new_email_voids_and_counts_only_the_links_still_usable(client, tenant):
    with time_machine.travel(START, tick=False) as traveller:
        first, _ = send_link()
        traveller.shift(dt.timedelta(minutes=1))
        used, used_token = send_link()
        press_continue(client, used_token)
        traveller.shift(dt.timedelta(minutes=1))
        unused, _ = send_link()
        traveller.shift(dt.timedelta(minutes=1))
        contact_update(
            actor=STAFF,
            contact=tenant,
            details=ContactDetails(first_name="Mara", email="mara@new.example.com", can_access_portal=True),
        )
    assert [link.voided_at for link in PortalLink.objects.order_by("pk")] == [
        START + dt.timedelta(minutes=1),
        None,
        START + dt.timedelta(minutes=3),
    ]
    entry = AuditEntry.objects.get(action="contact.updated")
    assert entry.details["links_voided"] == 1
    assert entry.details["portal_sessions_ended"] is True


def test_changing_a_portal_contacts_name_or_phone_keeps_their_sessions_and_links(client, tenant):
    sign_in_as(client, tenant)
    _, token = send_link()
    contact_update(
        actor=STAFF,
        contact=tenant,
        details=ContactDetails(
            first_name="Marah", email="tenant@example.com", phone="+49 30 1234", can_access_portal=True
        ),
    )
    assert client.get("/portal/").status_code == 200
    assert PortalLink.objects.get().voided_at is None
    assert "portal_sessions_ended" not in AuditEntry.objects.get(action="contact.updated").details
    assert press_continue(Client(), token).status_code == 302


# What is recorded ---------------------------------------------------------------------------


def test_sending_a_link_is_recorded_with_its_expiry_under_the_person_and_account(tenant):
    link, _ = send_link()
    entry = AuditEntry.objects.get(action="contact.portal_sign_in_sent")
    assert (entry.target_type, entry.target_id) == ("contacts.contact", tenant.pk)
    assert entry.customer == tenant.customer
    assert entry.details == {"expires_at": link.expires_at.isoformat()}


def test_a_sign_in_is_recorded_as_the_person_saying_whether_it_was_their_first(client, tenant):
    for _ in range(2):
        press_continue(Client(), send_link()[1])
    entries = AuditEntry.objects.filter(action="contact.portal_signed_in").order_by("pk")
    assert [entry.details for entry in entries] == [
        {"purpose": "sign_in", "first_sign_in": True},
        {"purpose": "sign_in", "first_sign_in": False},
    ]
    for entry in entries:
        assert (entry.actor_kind, entry.actor_id) == ("contact", tenant.pk)
        assert (entry.target_type, entry.target_id) == ("contacts.contact", tenant.pk)
        assert entry.customer == tenant.customer


# The Continue page and its nonce ------------------------------------------------------------


def test_the_continue_page_signs_in_with_the_fields_it_was_shown(client, tenant):
    _, token = send_link()
    page = link_page(client, token)
    fields = {name: hidden_field(page, name) for name in ("token", "nonce")}
    assert fields["token"] == token
    assert client.post(reverse("sign_in:continue"), fields).status_code == 302
    assert signed_in(client) == tenant.pk


def test_the_continue_page_says_whose_link_it_is_in_their_sites_branding(client, site):
    LocationFactory(name="Another site")  # more than one location: no site is the default
    site.location.brand_name = "Kreuzberg Self Storage"
    site.location.save(update_fields=["brand_name"])
    _, token = send_link()
    page = link_page(client, token).content.decode()
    assert "You are signing in as <strong>tenant@example.com</strong>" in page
    assert '<span class="portal-brand-name">Kreuzberg Self Storage</span>' in page


def test_the_continue_cookie_lives_an_hour_on_the_continue_path_only(client, site):
    _, token = send_link()
    cookie = link_page(client, token).cookies[CONTINUE_COOKIE]
    assert cookie["max-age"] == 3600
    assert cookie["path"] == reverse("sign_in:continue")
    assert not cookie["secure"]


def test_the_continue_cookie_is_sent_over_https_only_when_the_page_was(client, site):
    _, token = send_link()
    assert link_page(client, token, secure=True).cookies[CONTINUE_COOKIE]["secure"] is True


def test_a_continue_with_no_nonce_or_another_nonce_is_refused_and_uses_nothing(client, site):
    _, token = send_link()
    nonce = hidden_field(link_page(client, token), "nonce")
    assert client.post(reverse("sign_in:continue"), {"token": token}).status_code == 200
    assert client.post(reverse("sign_in:continue"), {"token": token, "nonce": nonce + "x"}).status_code == 200
    assert signed_in(client) is None
    assert PortalLink.objects.get().used_at is None
