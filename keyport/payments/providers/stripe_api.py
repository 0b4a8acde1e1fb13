"""The Stripe adapter, through the official `stripe` library: Checkout sessions, payment intents
(an off-session charge of a saved card), cards, and the signature check of webhooks.

Calls go to STRIPE_API_BASE when it is set (the local fake in tests and development), else to
Stripe. The library does not retry here (max_network_retries=0): a tenant's Pay click answers at
once and can be clicked again, and the automatic payment task retries on its own schedule with the
same idempotency key, so a charge whose answer was lost is never made twice. Never through an HTTP
proxy of the environment, and the secret key never reaches a log line (keyport.lib.log_redaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
import stripe

# Seconds to connect and to wait for an answer: a tenant is waiting on the Pay button.
TIMEOUT = (5.0, 20.0)
# Currencies Stripe counts in whole units, not cents (its "zero-decimal currencies").
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str
    webhook_secret: str
    api_base: str = ""

    def __repr__(self) -> str:
        return f"StripeKeys(api_base={self.api_base!r})"


class PaymentServiceDown(Exception):
    """Stripe did not answer, or answered with an error of its own (5xx) or of ours (4xx)."""


class CardDeclined(Exception):
    """The card was refused; `intent` is the payment intent Stripe made for the attempt."""

    def __init__(self, message: str, intent: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.intent = intent


def _client(keys: StripeKeys) -> stripe.StripeClient:
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment
    return stripe.StripeClient(
        keys.secret_key,
        base_addresses={"api": keys.api_base} if keys.api_base else None,
        http_client=stripe.RequestsClient(timeout=TIMEOUT, session=session),
        max_network_retries=0,
    )


def _plain(obj: Any) -> dict[str, Any]:
    return dict(obj.to_dict(recursive=True))


def _call(keys: StripeKeys, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return _plain(call(*args, **kwargs))
    except stripe.CardError as error:
        body = error.json_body if isinstance(error.json_body, dict) else {}
        intent = (body.get("error") or {}).get("payment_intent") or {}
        raise CardDeclined(error.user_message or "The card was declined.", intent) from error
    except stripe.StripeError as error:
        raise PaymentServiceDown(f"Stripe answered {error.http_status or 'nothing'}") from None


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount of money as Stripe counts it: cents, or whole units of a zero-decimal currency."""
    return int(amount) if currency.upper() in ZERO_DECIMAL else int(amount * 100)


def from_minor(amount: int, currency: str) -> Decimal:
    if currency.upper() in ZERO_DECIMAL:
        return Decimal(amount)
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def checkout_session_create(
    keys: StripeKeys,
    *,
    amount: int,
    currency: str,
    description: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    email: str,
    customer: str | None,
    save_card: bool,
    idempotency_key: str,
) -> dict[str, Any]:
    """A hosted Checkout page for one amount; with save_card the card stays with a Stripe customer
    for off-session payments later."""
    intent_data: dict[str, Any] = {"metadata": metadata, "description": description}
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount,
                    "product_data": {"name": description},
                },
            }
        ],
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "payment_intent_data": intent_data,
    }
    if save_card:
        intent_data["setup_future_usage"] = "off_session"
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = email
        if save_card:
            params["customer_creation"] = "always"
    client = _client(keys)
    return _call(
        keys, client.v1.checkout.sessions.create, params=params, options={"idempotency_key": idempotency_key}
    )


def checkout_session_get(keys: StripeKeys, session_id: str) -> dict[str, Any]:
    return _call(keys, _client(keys).v1.checkout.sessions.retrieve, session_id)


def payment_intent_get(keys: StripeKeys, intent_id: str) -> dict[str, Any]:
    return _call(keys, _client(keys).v1.payment_intents.retrieve, intent_id)


def payment_method_get(keys: StripeKeys, method_id: str) -> dict[str, Any]:
    return _call(keys, _client(keys).v1.payment_methods.retrieve, method_id)


def payment_method_detach(keys: StripeKeys, method_id: str) -> dict[str, Any]:
    return _call(keys, _client(keys).v1.payment_methods.detach, method_id)


def off_session_charge(
    keys: StripeKeys,
    *,
    amount: int,
    currency: str,
    customer: str,
    payment_method: str,
    description: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> dict[str, Any]:
    """Charge a saved card with nobody at the screen; CardDeclined when the bank says no."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "customer": customer,
        "payment_method": payment_method,
        "off_session": True,
        "confirm": True,
        "description": description,
        "metadata": metadata,
    }
    client = _client(keys)
    return _call(
        keys, client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
    )


class BadSignature(Exception):
    """A webhook whose body or Stripe-Signature header does not check out."""


def webhook_event(payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """The event of a webhook, once its signature checks out with the endpoint's secret."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise BadSignature(str(error)) from None
    return _plain(event)
