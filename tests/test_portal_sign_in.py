import datetime as dt
import hashlib
import logging
import re

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from keyport.contacts.models import AccountStatus, PortalLink, PortalLinkPurpose
from keyport.contacts.services import ContactDetails, invite_send, sign_in_link_send
from keyport.emails.models import OutgoingEmail
from keyport.frontdesk.services import contact_update, customer_set_active
from keyport.portal.sessions import SESSION_CONTACT_ID
from keyport.portal.sign_in_views import CONTINUE_COOKIE, SENT_MESSAGE
from tests.portal_helpers import last_token_sent_to, press_continue, sign_in_as, token_from_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest")]

LOGIN = "/login/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def request_link(client, email, **extra):
    return client.post(LOGIN, {"email": email}, **extra)


def signed_in_contact_id(client):
    return client.session.get(SESSION_CONTACT_ID)


# The login page ------------------------------------------------------------------------------


def test_login_page_asks_for_an_email(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'type="email"' in response.content.decode()


def test_a_known_email_is_sent_a_sign_in_link_after_the_request(
    client, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, " Tenant@Example.com ")
    assert response.status_code == 200
    assert SENT_MESSAGE in response.content.decode()
    assert [message.to for message in mail.outbox] == [["tenant@example.com"]]
    link = PortalLink.objects.get(contact=tenant)
    assert link.purpose == PortalLinkPurpose.SIGN_IN


def test_known_and_unknown_emails_get_the_same_page_and_status(
    client, site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as known_callbacks:
        known = request_link(client, "tenant@example.com")
    with django_capture_on_commit_callbacks() as unknown_callbacks:
        unknown = request_link(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    # The request itself does the same work: it only enqueues the lookup for the worker.
    assert len(known_callbacks) == len(unknown_callbacks) == 1
    assert not PortalLink.objects.exists()
    assert not OutgoingEmail.objects.exists()

    def strip(response, email):
        text = response.content.decode().replace(email.replace("@", "%40"), "EMAIL")
        return re.sub(r"[A-Za-z0-9]{64}", "CSRF", text.replace(email, "EMAIL"))

    assert strip(known, "tenant@example.com") == strip(unknown, "nobody@example.com")


def test_an_unknown_email_is_sent_nothing(client, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, "nobody@example.com")
    assert mail.outbox == []


def test_an_inactive_account_is_sent_no_link(client, tenant, actor, django_capture_on_commit_callbacks):
    customer_set_active(actor=actor, customer=tenant.customer, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, "tenant@example.com")
    assert SENT_MESSAGE in response.content.decode()
    assert mail.outbox == []


def test_a_contact_without_portal_access_is_sent_no_link(partner):
    partner.can_access_portal = False
    partner.save()
    assert sign_in_link_send(email="partner@example.com") is None
    assert not PortalLink.objects.exists()


def test_an_invalid_email_is_refused_beside_the_field(client):
    response = request_link(client, "not an email")
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()


# Rate limits --------------------------------------------------------------------------------


def test_requests_per_email_are_limited_with_a_clear_message(client, site, settings):
    settings.LOGIN_RATE_PER_EMAIL_PER_HOUR = 3
    for n in range(3):
        assert request_link(client, "tenant@example.com", REMOTE_ADDR=f"10.0.0.{n}").status_code == 200
    limited = request_link(client, "TENANT@example.com", REMOTE_ADDR="10.0.0.9")
    assert limited.status_code == 429
    assert "Too many sign-in requests" in limited.content.decode()
    assert request_link(client, "other@example.com", REMOTE_ADDR="10.0.0.9").status_code == 200


def test_the_email_limit_resets_after_an_hour(client, site, settings):
    settings.LOGIN_RATE_PER_EMAIL_PER_HOUR = 1
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC), tick=False) as traveller:
        assert request_link(client, "tenant@example.com").status_code == 200
        assert request_link(client, "tenant@example.com").status_code == 429
        traveller.shift(dt.timedelta(hours=1))
        assert request_link(client, "tenant@example.com").status_code == 200


def test_someone_asking_for_a_persons_links_all_hour_never_leaves_them_without_a_working_link(
    client, tenant, django_capture_on_commit_callbacks
):
    start = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    refused = 0
    with time_machine.travel(start, tick=False) as traveller:
        for step in range(120):  # every 30 seconds for an hour, each from a new address
            with django_capture_on_commit_callbacks(execute=True):
                response = request_link(
                    client, "tenant@example.com", REMOTE_ADDR=f"10.1.{step // 200}.{step % 200}"
                )
            if response.status_code == 429:
                refused += 1
                newest = PortalLink.objects.filter(contact=tenant).latest("created_at", "id")
                assert newest.is_usable_at(timezone.now()), f"no working link at {timezone.now()}"
            traveller.shift(dt.timedelta(seconds=30))
        # The person themself, right after the hour: a link now or within a link's lifetime.
        response = request_link(client, "tenant@example.com", REMOTE_ADDR="192.0.2.1")
        if response.status_code == 429:
            traveller.shift(dt.timedelta(minutes=10))
            response = request_link(client, "tenant@example.com", REMOTE_ADDR="192.0.2.1")
    assert refused > 60  # the attack was slowed down
    assert response.status_code == 200


def test_a_refused_request_voids_nothing_and_the_last_link_still_signs_in(
    client, tenant, settings, django_capture_on_commit_callbacks
):
    settings.LOGIN_RATE_PER_EMAIL_PER_HOUR = 2
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, "tenant@example.com")
        request_link(client, "tenant@example.com")
    token = token_from_text(mail.outbox[-1].body)
    links_before = list(PortalLink.objects.values_list("pk", "voided_at"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert request_link(client, "tenant@example.com").status_code == 429
    assert callbacks == []
    assert list(PortalLink.objects.values_list("pk", "voided_at")) == links_before
    assert press_continue(client, token).status_code == 302
    assert signed_in_contact_id(client) == tenant.pk


def test_the_wait_between_links_for_one_email_grows_and_is_said(client, site, settings):
    settings.LOGIN_RATE_PER_EMAIL_PER_HOUR = 1
    settings.LOGIN_EMAIL_FIRST_DELAY_SECONDS = 60
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC), tick=False) as traveller:
        assert request_link(client, "tenant@example.com").status_code == 200
        first_wait = request_link(client, "tenant@example.com")
        assert first_wait.status_code == 429 and first_wait["Retry-After"] == "60"
        assert "Please wait 1 minute," in first_wait.content.decode()
        traveller.shift(dt.timedelta(minutes=1))
        assert request_link(client, "tenant@example.com").status_code == 200
        second_wait = request_link(client, "tenant@example.com")
        assert "Please wait 2 minutes," in second_wait.content.decode()


def test_known_and_unknown_emails_are_slowed_down_alike(client, site, settings):
    settings.LOGIN_RATE_PER_EMAIL_PER_HOUR = 2
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        answers = {}
        for email in ("tenant@example.com", "nobody@example.com"):
            for _ in range(2):
                assert request_link(client, email).status_code == 200
            limited = request_link(client, email)
            body = re.sub(r"[A-Za-z0-9]{64}", "CSRF", limited.content.decode())
            body = body.replace(email, "EMAIL")
            answers[email] = (limited.status_code, limited["Retry-After"], body)
    assert answers["tenant@example.com"] == answers["nobody@example.com"]
    assert answers["tenant@example.com"][0] == 429


def test_requests_per_address_are_limited(client, settings):
    settings.LOGIN_RATE_PER_ADDRESS_PER_MINUTE = 3
    for n in range(3):
        assert request_link(client, f"person{n}@example.com").status_code == 200
    assert request_link(client, "person9@example.com").status_code == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(client, settings):
    settings.LOGIN_RATE_PER_ADDRESS_PER_MINUTE = 2
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(2):
        request_link(client, f"p{n}@example.com", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert request_link(client, "p9@example.com", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_forwarded_for_is_trusted_only_as_far_as_the_configured_proxies(client, settings):
    settings.LOGIN_RATE_PER_ADDRESS_PER_MINUTE = 2
    settings.TRUSTED_PROXY_COUNT = 1
    # Two clients behind one proxy are counted apart.
    for n in range(2):
        assert (
            request_link(client, f"a{n}@example.com", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
        )
    assert request_link(client, "b@example.com", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
    # A client cannot escape by writing its own entries on the left.
    spoofed = request_link(client, "c@example.com", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.1")
    assert spoofed.status_code == 429


# The links -----------------------------------------------------------------------------------


def test_a_link_carries_at_least_128_random_bits_and_only_its_hash_is_stored(site):
    link = sign_in_link_send(email="tenant@example.com")
    token = last_token_sent_to("tenant@example.com")
    assert len(token) >= 43  # base64 of 32 bytes
    assert link is not None
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM contacts_portallink")
        assert token not in repr(cursor.fetchall())


def test_the_email_log_forgets_the_link_once_it_is_delivered(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite_send(actor=_staff_actor(), contact=tenant)
    token = token_from_text(mail.outbox[0].body)
    email = OutgoingEmail.objects.get()
    assert email.status == "sent"
    assert token not in email.body_text
    assert "[link: added when sent, never kept in the log]" in email.body_text


def _staff_actor():
    from keyport.audit.services import Actor

    return Actor.system("staff test")


def test_opening_a_link_shows_continue_and_signs_no_one_in(client, site):
    sign_in_link_send(email="tenant@example.com")
    token = last_token_sent_to("tenant@example.com")
    url = reverse("sign_in:link", args=[token])
    page = client.get(url)
    head = client.head(url)
    assert page.status_code == head.status_code == 200
    assert "Continue" in page.content.decode()
    assert page["Referrer-Policy"] == "no-referrer"
    assert head["Referrer-Policy"] == "no-referrer"
    assert signed_in_contact_id(client) is None
    assert PortalLink.objects.get().used_at is None


def test_continue_signs_in_rotates_the_session_and_lands_on_the_portal(client, tenant):
    sign_in_link_send(email="tenant@example.com")
    token = last_token_sent_to("tenant@example.com")
    client.get(reverse("sign_in:link", args=[token]))
    before = client.session.session_key
    signed_in_at = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=5)
    with time_machine.travel(signed_in_at, tick=False):
        response = press_continue(client, token)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.session.session_key != before
    assert signed_in_contact_id(client) == tenant.pk
    tenant.refresh_from_db()
    assert tenant.first_signed_in_at == signed_in_at
    assert tenant.account_status() == AccountStatus.SIGNED_IN
    assert client.get("/portal/").status_code == 200


def test_a_link_works_once(client, site):
    sign_in_link_send(email="tenant@example.com")
    token = last_token_sent_to("tenant@example.com")
    assert press_continue(client, token).status_code == 302
    other = client.__class__()
    again = press_continue(other, token)
    assert again.status_code == 200
    assert "Get a fresh link" in again.content.decode() or "fresh link" in again.content.decode()
    assert other.session.get(SESSION_CONTACT_ID) is None
    used = client.get(reverse("sign_in:link", args=[token]))
    assert "This link no longer works" in used.content.decode()


@pytest.mark.parametrize(
    ("purpose", "lifetime"),
    [("sign_in", dt.timedelta(minutes=10)), ("invite", dt.timedelta(hours=72))],
)
def test_links_expire_at_the_end_of_their_lifetime(client, tenant, purpose, lifetime):
    start = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        if purpose == "invite":
            invite_send(actor=_staff_actor(), contact=tenant)
        else:
            sign_in_link_send(email="tenant@example.com")
        token = last_token_sent_to("tenant@example.com")
        traveller.move_to(start + lifetime - dt.timedelta(seconds=1))
        assert "Continue" in client.get(reverse("sign_in:link", args=[token])).content.decode()
        traveller.move_to(start + lifetime)
        expired = client.get(reverse("sign_in:link", args=[token]))
        assert expired.status_code == 200
        assert "This link no longer works" in expired.content.decode()
        assert press_continue(client, token).status_code == 200
        assert signed_in_contact_id(client) is None


def test_link_lifetimes_are_configurable(partner, settings):
    settings.PORTAL_SIGN_IN_LINK_MINUTES = 3
    settings.PORTAL_INVITE_HOURS = 5
    link = sign_in_link_send(email="tenant@example.com")
    assert link is not None
    assert link.expires_at - link.created_at == dt.timedelta(minutes=3)
    invite = invite_send(actor=_staff_actor(), contact=partner)
    assert invite.expires_at - invite.created_at == dt.timedelta(hours=5)


def test_an_expired_link_page_offers_a_fresh_link_prefilled(client, site):
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC), tick=False) as traveller:
        sign_in_link_send(email="tenant@example.com")
        token = last_token_sent_to("tenant@example.com")
        traveller.shift(dt.timedelta(hours=1))
        page = client.get(reverse("sign_in:link", args=[token])).content.decode()
    assert 'action="/login/"' in page
    assert 'value="tenant@example.com"' in page


def test_an_unknown_token_gets_the_fresh_link_page_not_an_error(client):
    response = client.get(reverse("sign_in:link", args=["made-up-token"]))
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()


def test_a_new_link_voids_the_earlier_unused_ones(client, tenant):
    invite_send(actor=_staff_actor(), contact=tenant)
    first = last_token_sent_to("tenant@example.com")
    sign_in_link_send(email="tenant@example.com")
    second = last_token_sent_to("tenant@example.com")
    assert press_continue(client, first).status_code == 200
    assert signed_in_contact_id(client) is None
    assert press_continue(client, second).status_code == 302


# Ending access --------------------------------------------------------------------------------


def test_changing_the_email_voids_links_ends_sessions_and_tells_the_old_address(client, tenant, actor):
    sign_in_as(client, tenant)
    assert client.get("/portal/").status_code == 200
    invite_send(actor=actor, contact=tenant)
    token = last_token_sent_to("tenant@example.com")
    contact_update(
        actor=actor,
        contact=tenant,
        details=ContactDetails(first_name="Mara", email="mara@new.example.com", can_access_portal=True),
    )
    assert client.get("/portal/")["Location"] == LOGIN
    assert press_continue(client, token).status_code == 200
    notice = OutgoingEmail.objects.filter(to="tenant@example.com", template="portal_email_changed").get()
    assert "mara@new.example.com" in notice.body_text


def test_inactive_ends_every_session_of_the_account_and_voids_links(client, partner, tenant, actor):
    sign_in_as(client, partner)
    invite_send(actor=actor, contact=tenant)
    token = last_token_sent_to("tenant@example.com")
    customer_set_active(actor=actor, customer=tenant.customer, is_active=False)
    assert client.get("/portal/")["Location"] == LOGIN
    assert PortalLink.objects.get().voided_at is not None
    # Active again does not bring old sessions or links back.
    customer_set_active(actor=actor, customer=tenant.customer, is_active=True)
    assert client.get("/portal/")["Location"] == LOGIN
    assert press_continue(client, token).status_code == 200


def test_portal_access_off_ends_sessions_and_voids_links(client, partner, actor):
    sign_in_as(client, partner)
    invite_send(actor=actor, contact=partner)
    contact_update(
        actor=actor,
        contact=partner,
        details=ContactDetails(first_name="Jonas", email="partner@example.com", can_access_portal=False),
    )
    assert client.get("/portal/")["Location"] == LOGIN
    assert PortalLink.objects.get().voided_at is not None


def test_sessions_end_on_every_device(tenant, actor):
    from django.test import Client

    phone, laptop = Client(), Client()
    sign_in_as(phone, tenant)
    sign_in_as(laptop, tenant)
    customer_set_active(actor=actor, customer=tenant.customer, is_active=False)
    assert phone.get("/portal/").status_code == 302
    assert laptop.get("/portal/").status_code == 302


def test_sign_out_ends_the_portal_session(client, tenant, site):
    sign_in_as(client, tenant)
    # Back to the login page in the person's site's branding.
    assert client.post("/portal/sign-out/")["Location"] == f"{LOGIN}?location={site.location.pk}"
    assert client.get("/portal/")["Location"] == LOGIN


# Tokens never reach the logs --------------------------------------------------------------------


def test_tokens_are_redacted_from_request_logs(client, caplog, settings):
    from keyport.lib.log_redaction import RedactSignInTokens

    secret = "SECRET-TOKEN-abcdefghijklmnopqrstuvwxyz0123456"
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"GET /login/link/{secret}/ HTTP/1.1", 200, 1),
        None,
    )
    RedactSignInTokens().filter(record)
    assert secret not in record.getMessage()
    assert "/login/link/[redacted]/" in record.getMessage()


def test_a_bad_link_path_is_not_logged_with_its_token(client, caplog):
    secret = "SECRET-TOKEN-abcdefghijklmnopqrstuvwxyz0123456"
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(f"/login/link/{secret}/")
        client.get(f"/login/link/{secret}/extra/")
    assert caplog.records
    handler_filter = __import__("keyport.lib.log_redaction", fromlist=["x"]).RedactSignInTokens()
    for record in caplog.records:
        handler_filter.filter(record)
        assert secret not in record.getMessage()


def test_the_logging_configuration_filters_every_console_line(settings):
    assert "redact_tokens" in settings.LOGGING["handlers"]["console"]["filters"]
    assert settings.LOGGING["loggers"]["django.server"]["handlers"] == ["console"]


def test_root_redirects_to_the_login_page(client):
    assert client.get("/")["Location"] == LOGIN


def test_a_signed_in_visitor_is_offered_their_portal_on_the_login_page(client, tenant):
    sign_in_as(client, tenant)
    assert "Go to your portal" in client.get(LOGIN).content.decode()


def test_first_sign_in_time_is_kept_on_later_sign_ins(client, tenant):
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC), tick=False) as traveller:
        sign_in_link_send(email="tenant@example.com")
        press_continue(client, last_token_sent_to("tenant@example.com"))
        traveller.shift(dt.timedelta(days=2))
        sign_in_link_send(email="tenant@example.com")
        press_continue(client, last_token_sent_to("tenant@example.com"))
    tenant.refresh_from_db()
    assert tenant.first_signed_in_at == dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    assert tenant.last_signed_in_at == dt.datetime(2026, 5, 3, 10, 0, tzinfo=dt.UTC)
    assert timezone.is_aware(tenant.last_signed_in_at)


def test_the_continue_page_posts_back_with_the_nonce_it_set(client, tenant):
    sign_in_link_send(email="tenant@example.com")
    token = last_token_sent_to("tenant@example.com")
    page = client.get(reverse("sign_in:link", args=[token]))
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.content.decode())[1]
    cookie = page.cookies[CONTINUE_COOKIE]
    assert cookie.value == nonce and cookie["samesite"] == "Strict" and cookie["httponly"]
    response = client.post(reverse("sign_in:continue"), {"token": token, "nonce": nonce})
    assert response.status_code == 302
    assert signed_in_contact_id(client) == tenant.pk


def test_a_cross_site_continue_without_the_nonce_cookie_signs_no_one_in(site):
    from django.test import Client

    sign_in_link_send(email="tenant@example.com")
    token = last_token_sent_to("tenant@example.com")
    victim = Client()
    response = victim.post(reverse("sign_in:continue"), {"token": token, "nonce": "guessed"})
    assert response.status_code == 200
    assert victim.session.get(SESSION_CONTACT_ID) is None
    assert PortalLink.objects.get().used_at is None


def test_the_login_form_works_without_referer_or_origin(site):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(LOGIN, {"email": "tenant@example.com"}, HTTP_ORIGIN="null")
    assert response.status_code == 200
