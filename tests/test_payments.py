"""Paying invoices online with Stripe, against the local fake (tests/stripe_fake.py): Pay and
Checkout, the return, each webhook (twice, out of order, badly signed), a declined card, 5xx from
the API, refunds, saved cards and automatic payment, and the portal without keys."""

import datetime as dt
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from keyport.lib.log_redaction import RedactSignInTokens
from keyport.payments.models import AutopayAttempt, AutopayOutcome, OnlinePayment, PaymentSettings, SavedCard
from keyport.payments.queries import invoices_to_autopay
from keyport.payments.services import invoice_autopay
from keyport.payments.tasks import autopay_invoice, autopay_sweep
from tests.factories import told_before_lockout
from tests.portal_helpers import sign_in_as
from tests.stripe_fake import DECLINED_CARD, SECRET_KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")
WEBHOOK = "/api/v1/payments/stripe/webhook"


def open_invoice(location, customer, amount="80.00", booking=None):
    invoice = billing.invoice_create(
        actor=SYSTEM,
        location=location,
        customer=customer,
        booking=booking,
        due_on=dt.date(2026, 3, 1),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal(amount))],
    )
    return billing.invoice_issue(actor=SYSTEM, invoice=invoice)


@pytest.fixture
def invoice(site, tenant):
    return open_invoice(site.location, tenant.customer)


@pytest.fixture
def portal(client, tenant):
    sign_in_as(client, tenant)
    return client


def pay(portal, invoice, **form):
    """Press Pay: the answer sends the browser to the fake's Checkout page; its session id."""
    response = portal.post(reverse("portal:invoice_pay", args=[invoice.pk]), form)
    assert response.status_code == 302
    match = re.search(r"/pay/(cs_test_\w+)$", response["Location"])
    assert match, response["Location"]
    return match[1]


def post_event(client, fake_stripe, event, **sign):
    payload, header = fake_stripe.signed(event, **sign)
    return client.post(
        WEBHOOK, payload, content_type="application/json", headers={"Stripe-Signature": header}
    )


def state(invoice):
    invoice.refresh_from_db()
    return invoice.status, invoice.amount_paid, Payment.objects.filter(invoice=invoice).count()


def paid_at_checkout(fake_stripe, portal, invoice, **form):
    session = pay(portal, invoice, **form)
    back = fake_stripe.complete(session)
    return session, back


def test_pay_opens_checkout_for_the_balance_and_the_webhooks_record_the_payment_once(
    client, portal, fake_stripe, invoice
):
    billing.payment_record(
        actor=SYSTEM, invoice=invoice, amount=Decimal("30.00"), received_on=dt.date(2026, 3, 1)
    )
    session = pay(portal, invoice)
    assert fake_stripe.state.sessions[session]["amount_total"] == 5000
    assert fake_stripe.state.sessions[session]["currency"] == invoice.currency.lower()
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("30.00"), 1), (
        "nothing is recorded before Stripe says so"
    )
    fake_stripe.complete(session)
    succeeded, completed = (
        fake_stripe.events_of("payment_intent.succeeded")[0],
        fake_stripe.events_of("checkout.session.completed")[0],
    )
    assert post_event(client, fake_stripe, succeeded).json() == {"received": "recorded"}
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 2)
    for event in (completed, succeeded, completed):
        assert post_event(client, fake_stripe, event).status_code == 200
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 2)
    card = Payment.objects.get(invoice=invoice, method=PaymentMethod.CARD)
    assert (card.amount, card.recorded_by) == (Decimal("50.00"), "Stripe")


def test_the_return_records_the_payment_before_the_webhook_which_then_changes_nothing(
    client, portal, fake_stripe, invoice
):
    session, back = paid_at_checkout(fake_stripe, portal, invoice)
    assert back.endswith(f"/paid/?session_id={session}")
    page = portal.get(back, follow=True)
    assert "Thank you: your payment is received." in page.content.decode()
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 1)
    for event in fake_stripe.state.events:
        post_event(client, fake_stripe, event)
    portal.get(back)
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 1)
    assert OnlinePayment.objects.count() == 1


def test_the_return_with_a_session_of_another_invoice_or_unpaid_records_nothing(
    portal, fake_stripe, invoice, site, tenant
):
    other = open_invoice(site.location, tenant.customer, amount="20.00")
    session, _ = paid_at_checkout(fake_stripe, portal, other)
    page = portal.get(reverse("portal:invoice_paid", args=[invoice.pk]), {"session_id": session}, follow=True)
    assert "not confirmed yet" in page.content.decode()
    unpaid = pay(portal, invoice)
    portal.get(reverse("portal:invoice_paid", args=[invoice.pk]), {"session_id": unpaid})
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)


def test_webhooks_out_of_order_record_once_and_a_refund_told_first_records_the_payment_then_reopens(
    client, portal, fake_stripe, invoice
):
    session, _ = paid_at_checkout(fake_stripe, portal, invoice)
    intent = fake_stripe.state.sessions[session]["payment_intent"]
    refunded = fake_stripe.refund(intent, amount=3000)
    assert post_event(client, fake_stripe, refunded).json() == {"received": "refunded"}
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("50.00"), 1)
    assert invoice.balance == Decimal("30.00")
    for event in reversed(fake_stripe.state.events):
        post_event(client, fake_stripe, event)
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("50.00"), 1)
    assert AuditEntry.objects.filter(action="invoice.refunded").count() == 1


def test_a_refund_reopens_the_paid_invoice_once_however_often_it_is_told(
    client, portal, fake_stripe, invoice
):
    session, back = paid_at_checkout(fake_stripe, portal, invoice)
    portal.get(back)
    intent = fake_stripe.state.sessions[session]["payment_intent"]
    refunded = fake_stripe.refund(intent)
    refunded["data"]["object"]["metadata"] = {}  # a charge need not carry its payment's metadata
    assert post_event(client, fake_stripe, refunded).json() == {"received": "refunded"}
    post_event(client, fake_stripe, refunded)
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 1)
    assert invoice.paid_at is None
    assert OnlinePayment.objects.get().amount_refunded == Decimal("80.00")


@pytest.mark.parametrize(
    "tamper",
    ["other secret", "changed body", "old timestamp", "no header"],
)
def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    client, portal, fake_stripe, invoice, tamper
):
    paid_at_checkout(fake_stripe, portal, invoice)
    event = fake_stripe.events_of("payment_intent.succeeded")[0]
    payload, header = fake_stripe.signed(
        event,
        secret="whsec_someone_else" if tamper == "other secret" else None,
        timestamp=1_000_000_000 if tamper == "old timestamp" else None,
    )
    if tamper == "changed body":
        payload = payload.replace(b'"amount": 8000', b'"amount": 1')
    headers = {} if tamper == "no header" else {"Stripe-Signature": header}
    response = client.post(WEBHOOK, payload, content_type="application/json", headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": "bad_signature"})
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)
    assert not OnlinePayment.objects.exists()


def test_a_webhook_for_an_invoice_of_a_location_with_other_keys_is_not_acted_on(
    client, portal, fake_stripe, invoice, site
):
    paid_at_checkout(fake_stripe, portal, invoice)
    PaymentSettings.objects.create(
        location=site.location, stripe_secret_key=SECRET_KEY, stripe_webhook_secret="whsec_own_of_the_site"
    )
    event = fake_stripe.events_of("payment_intent.succeeded")[0]
    assert post_event(client, fake_stripe, event).json() == {"received": "not ours"}
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)
    payload, header = fake_stripe.signed(event, secret="whsec_own_of_the_site")
    url = f"{WEBHOOK}?location={site.location.pk}"
    response = client.post(
        url, payload, content_type="application/json", headers={"Stripe-Signature": header}
    )
    assert response.json() == {"received": "recorded"}
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 1)


def test_a_declined_card_at_checkout_pays_nothing(portal, fake_stripe, invoice):
    session = pay(portal, invoice)
    body = urllib.parse.urlencode({"card": DECLINED_CARD}).encode()
    with pytest.raises(urllib.error.HTTPError) as declined:
        urllib.request.urlopen(f"{fake_stripe.base_url}/pay/{session}", body)  # noqa: S310 - the local fake
    assert declined.value.code == 402
    assert "Your card was declined." in declined.value.read().decode()
    portal.get(reverse("portal:invoice_paid", args=[invoice.pk]), {"session_id": session})
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)
    assert fake_stripe.state.sessions[session]["payment_status"] == "unpaid"


def test_pay_when_stripe_answers_5xx_says_so_and_changes_nothing(portal, fake_stripe, invoice):
    fake_stripe.fail_next(1, 503)
    page = portal.post(reverse("portal:invoice_pay", args=[invoice.pk]), follow=True)
    assert "The payment service is not answering. Nothing was charged" in page.content.decode()
    assert not fake_stripe.state.sessions
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)
    first = pay(portal, invoice)
    assert pay(portal, invoice) == first, "a second click opens the same Checkout page"


def test_a_webhook_that_needs_the_api_while_it_answers_5xx_is_answered_503_and_recorded_when_sent_again(
    client, portal, fake_stripe, invoice
):
    paid_at_checkout(fake_stripe, portal, invoice)
    completed = fake_stripe.events_of("checkout.session.completed")[0]
    fake_stripe.fail_next(1, 500)
    assert post_event(client, fake_stripe, completed).status_code == 503
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)
    assert post_event(client, fake_stripe, completed).json() == {"received": "recorded"}
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 1)


def test_a_payment_restores_access_locked_for_the_overdue_invoice(
    client, portal, fake_stripe, site, tenant, booking, django_capture_on_commit_callbacks
):
    invoice = told_before_lockout(
        open_invoice(site.location, tenant.customer, booking=booking), to=tenant.email
    )
    billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    invoice.refresh_from_db()
    assert invoice.access_locked_at is not None
    booking.refresh_from_db()
    assert booking.access_is_revoked()
    paid_at_checkout(fake_stripe, portal, invoice)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, fake_stripe, fake_stripe.events_of("payment_intent.succeeded")[0])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.access_locked_at) == (InvoiceStatus.PAID, None)
    assert not booking.access_is_revoked()


def test_a_card_saved_at_checkout_pays_the_next_invoice_automatically_and_can_be_removed(
    client, portal, fake_stripe, invoice, site, tenant
):
    session, back = paid_at_checkout(fake_stripe, portal, invoice, save_card="on")
    for event in fake_stripe.state.events:
        post_event(client, fake_stripe, event)
    card = SavedCard.objects.get(customer=tenant.customer)
    assert (card.brand, card.last4, card.location) == ("visa", "4242", site.location)
    assert "Visa •••• 4242" in portal.get(reverse("portal:billing")).content.decode()
    later = open_invoice(site.location, tenant.customer, amount="95.50")
    # The sweep finds the invoice issued after the card was saved (not the one paid beside it).
    assert autopay_sweep.call(False) == 1
    assert state(later) == (InvoiceStatus.PAID, Decimal("95.50"), 1)
    assert autopay_sweep.call(False) == 0
    assert AutopayAttempt.objects.get(invoice=later).outcome == AutopayOutcome.SUCCEEDED
    for event in fake_stripe.events_of("payment_intent.succeeded"):
        post_event(client, fake_stripe, event)
    assert invoice_autopay(later) is None
    assert state(later) == (InvoiceStatus.PAID, Decimal("95.50"), 1)

    portal.post(reverse("portal:saved_card_remove", args=[card.pk]))
    assert not SavedCard.objects.exists()
    assert fake_stripe.state.payment_methods[card.provider_method]["customer"] is None
    third = open_invoice(site.location, tenant.customer)
    assert invoice_autopay(third) is None
    assert state(third) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)


def test_a_saved_card_declined_later_leaves_the_invoice_open_and_billing_says_so(
    client, portal, fake_stripe, site, tenant
):
    declining = fake_stripe.save_declining_card("cus_declines")
    SavedCard.objects.create(
        customer=tenant.customer,
        location=site.location,
        provider_customer="cus_declines",
        provider_method=declining["id"],
        brand="visa",
        last4="0002",
    )
    invoice = open_invoice(site.location, tenant.customer)
    attempt = invoice_autopay(invoice)
    assert attempt.outcome == AutopayOutcome.FAILED
    assert attempt.message == "Your card was declined."
    for _ in range(2):
        post_event(client, fake_stripe, fake_stripe.events_of("payment_intent.payment_failed")[0])
    assert invoice_autopay(invoice) is None, "a declined card is not charged again and again"
    assert AutopayAttempt.objects.count() == 1
    assert AuditEntry.objects.filter(action="invoice.autopay_failed").count() == 1
    assert state(invoice) == (InvoiceStatus.OPEN, Decimal("0.00"), 0)
    page = portal.get(reverse("portal:billing")).content.decode()
    assert "Automatic payment failed: Your card was declined." in page


def test_automatic_payment_when_stripe_is_down_is_tried_again_as_one_charge(fake_stripe, site, tenant):
    method = fake_stripe._card("4242424242424242", "cus_ok")
    SavedCard.objects.create(
        customer=tenant.customer,
        location=site.location,
        provider_customer="cus_ok",
        provider_method=method["id"],
    )
    invoice = open_invoice(site.location, tenant.customer)
    fake_stripe.fail_next(1, 502)
    with pytest.raises(Exception, match="Stripe answered 502"):
        invoice_autopay(invoice)
    assert not AutopayAttempt.objects.exists()
    invoice_autopay(invoice)
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 1)
    keys = [key for method, path, key in fake_stripe.state.requests if path == "/v1/payment_intents"]
    assert len(keys) == 2 and keys[0] == keys[1] == f"keyport-autopay-{invoice.pk}-8000"


def test_without_keys_pay_is_hidden_and_billing_says_how_to_pay(owner_client, portal, site, invoice):
    page = portal.get(reverse("portal:billing")).content.decode()
    assert ">Pay<" not in page and "Please ask Lager Kreuzberg how to pay" in page
    response = owner_client.post(
        reverse("dashboard:payment_settings", args=[site.location.pk]),
        {"bank_details": "IBAN DE02 1203 0000 0000 2020 51\nReference: your invoice number"},
    )
    assert response.status_code == 302
    page = portal.get(reverse("portal:billing")).content.decode()
    assert "IBAN DE02 1203 0000 0000 2020 51<br>Reference: your invoice number" in page
    assert "invoice_pay" not in page and "/pay/" not in page
    invoice_page = portal.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    assert "IBAN DE02" in invoice_page and 'name="save_card"' not in invoice_page
    refused = portal.post(reverse("portal:invoice_pay", args=[invoice.pk]), follow=True)
    assert "Online payment is not set up for this location." in refused.content.decode()


def test_with_keys_billing_and_the_invoice_page_show_pay(portal, fake_stripe, invoice):
    page = portal.get(reverse("portal:billing"))
    assert reverse("portal:invoice_pay", args=[invoice.pk]) in page.content.decode()
    assert fake_stripe.base_url in page["Content-Security-Policy"], (
        "the form's redirect to Checkout is allowed"
    )
    detail = portal.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    assert 'name="save_card"' in detail and "How to pay" not in detail


def test_another_tenants_invoice_and_card_are_not_found(
    client, fake_stripe, other_tenant, invoice, site, tenant
):
    card = SavedCard.objects.create(
        customer=tenant.customer, location=site.location, provider_customer="cus_x", provider_method="pm_x"
    )
    sign_in_as(client, other_tenant)
    assert client.get(reverse("portal:invoice", args=[invoice.pk])).status_code == 404
    assert client.post(reverse("portal:invoice_pay", args=[invoice.pk])).status_code == 404
    assert client.post(reverse("portal:saved_card_remove", args=[card.pk])).status_code == 404
    assert not fake_stripe.state.sessions and SavedCard.objects.count() == 1


def test_a_location_key_that_is_not_a_stripe_key_is_refused_beside_its_field_and_nothing_changes(
    owner_client, site
):
    url = reverse("dashboard:payment_settings", args=[site.location.pk])
    response = owner_client.post(url, {"bank_details": "IBAN", "stripe_secret_key": "pk_test_public"})
    assert response.status_code == 400
    assert "A Stripe secret key starts with sk_" in response.content.decode()
    assert not PaymentSettings.objects.exclude(bank_details="").exists()
    missing = owner_client.post(url, {"stripe_secret_key": "sk_test_own"})
    assert "Give the signing secret" in missing.content.decode()
    assert not PaymentSettings.objects.exclude(stripe_secret_key="").exists()


def test_a_locations_own_keys_are_used_before_the_installs_and_never_shown_nor_audited(
    owner_client, fake_stripe, portal, site, invoice, settings
):
    fake_stripe.secret_key = "sk_test_site_own_key"
    url = reverse("dashboard:payment_settings", args=[site.location.pk])
    owner_client.post(
        url, {"stripe_secret_key": "sk_test_site_own_key", "stripe_webhook_secret": "whsec_site"}
    )
    pay(portal, invoice)
    assert fake_stripe.state.authorizations[-1] == "Bearer sk_test_site_own_key"
    page = owner_client.get(reverse("dashboard:location_settings", args=[site.location.pk])).content.decode()
    assert "sk_test_site_own_key" not in page and f"webhook?location={site.location.pk}" in page
    entry = AuditEntry.objects.get(action="payments.settings_updated")
    assert "sk_test" not in str(entry.details) and "whsec_site" not in str(entry.details)
    owner_client.post(url, {"use_global_keys": "on"})
    fake_stripe.secret_key = SECRET_KEY
    pay(portal, invoice)
    assert fake_stripe.state.authorizations[-1] == f"Bearer {SECRET_KEY}"


def test_stripe_secrets_are_redacted_from_log_lines():
    record = logging.LogRecord(
        "stripe", logging.INFO, __file__, 1, "key=%s secret=%s", (SECRET_KEY, WEBHOOK_SECRET), None
    )
    RedactSignInTokens().filter(record)
    assert record.getMessage() == "key=[redacted] secret=[redacted]"


def test_nothing_logged_while_paying_carries_a_secret(client, portal, fake_stripe, invoice, caplog):
    caplog.set_level(logging.DEBUG)
    fake_stripe.fail_next(1)
    portal.post(reverse("portal:invoice_pay", args=[invoice.pk]))
    session, _ = paid_at_checkout(fake_stripe, portal, invoice)
    fake_stripe.fail_next(1)
    post_event(client, fake_stripe, fake_stripe.events_of("checkout.session.completed")[0])
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "Stripe answered 500" in logged or "did not answer" in logged
    assert SECRET_KEY not in logged and WEBHOOK_SECRET not in logged
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.OPEN


def test_the_automatic_payment_task_tries_again_later_while_stripe_is_down(
    settings, fake_stripe, site, tenant
):
    method = fake_stripe._card("4242424242424242", "cus_ok")
    SavedCard.objects.create(
        customer=tenant.customer,
        location=site.location,
        provider_customer="cus_ok",
        provider_method=method["id"],
    )
    invoice = open_invoice(site.location, tenant.customer)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    fake_stripe.fail_next(1, 503)
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        assert autopay_invoice.call(invoice.pk) == "later"
    queued = DBTaskResult.objects.get(task_path=autopay_invoice.module_path, status=TaskResultStatus.READY)
    assert (queued.run_after, queued.args_kwargs["args"]) == (now + dt.timedelta(minutes=1), [invoice.pk, 2])
    assert autopay_invoice.call(invoice.pk, 2) == AutopayOutcome.SUCCEEDED
    assert state(invoice) == (InvoiceStatus.PAID, Decimal("80.00"), 1)
    assert autopay_invoice.call(invoice.pk) == "nothing to do"
    fake_stripe.fail_next(1, 503)
    given_up = open_invoice(site.location, tenant.customer)
    assert autopay_invoice.call(given_up.pk, 6) == "gave up"
    assert DBTaskResult.objects.filter(task_path=autopay_invoice.module_path).count() == 1
    # Its one automatic try is over: the sweep does not start it again.
    assert AutopayAttempt.objects.get(invoice=given_up).outcome == AutopayOutcome.FAILED
    assert given_up.pk not in invoices_to_autopay()


def test_the_sweep_leaves_the_invoices_of_a_location_without_online_payment(settings, site, tenant):
    SavedCard.objects.create(
        customer=tenant.customer, location=site.location, provider_customer="cus_ok", provider_method="pm_1"
    )
    invoice = open_invoice(site.location, tenant.customer)
    settings.STRIPE_SECRET_KEY = ""
    assert invoices_to_autopay() == []
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    assert invoices_to_autopay() == [invoice.pk]


def test_an_invoices_page_says_how_to_pay_its_own_location_only(portal, site, other_site, tenant, settings):
    settings.STRIPE_SECRET_KEY = ""
    PaymentSettings.objects.create(location=site.location, bank_details="IBAN DE00 SITE")
    PaymentSettings.objects.create(location=other_site.location, bank_details="IBAN DE99 ELSEWHERE")
    tenant.customer.home_location = other_site.location
    tenant.customer.save(update_fields=["home_location"])
    invoice = open_invoice(site.location, tenant.customer)
    page = portal.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    assert "IBAN DE00 SITE" in page and "IBAN DE99 ELSEWHERE" not in page


def test_pay_again_after_a_refund_opens_a_new_checkout_page(client, portal, fake_stripe, invoice):
    session, back = paid_at_checkout(fake_stripe, portal, invoice)
    portal.get(back)
    post_event(client, fake_stripe, fake_stripe.refund(fake_stripe.state.sessions[session]["payment_intent"]))
    assert pay(portal, invoice) != session
    keys = {key for method, path, key in fake_stripe.state.requests if path == "/v1/checkout/sessions"}
    assert len(keys) == 2


def test_billings_queries_do_not_grow_with_invoices_and_cards(portal, fake_stripe, site, other_site, tenant):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert portal.get(reverse("portal:billing")).status_code == 200
        return len(queries)

    open_invoice(site.location, tenant.customer)
    before = count()
    for location in (site.location, other_site.location):
        for _ in range(3):
            open_invoice(location, tenant.customer)
        SavedCard.objects.get_or_create(
            customer=tenant.customer, location=location, provider_customer="cus", provider_method="pm"
        )
    # One query more for the second location's keys, and the cards list once it has rows.
    assert count() <= before + 2
