"""A fake Stripe: a real HTTP server in a thread that speaks the part of Stripe's API the payments
adapter uses, as the official `stripe` library sends it (form-encoded bodies with bracketed keys,
a Bearer secret key, JSON answers, errors as an `error` object), and Stripe's hosted Checkout page
as a plain HTML form with a **Pay** button.

    POST /v1/checkout/sessions            a session; its `url` is this server's /pay/<id>
    GET  /v1/checkout/sessions/<id>       the session (paid once the form was sent)
    GET  /v1/payment_intents/<id>         a payment intent
    POST /v1/payment_intents              an off-session charge of a saved card (402 when declined)
    GET  /v1/payment_methods/<id>         a card: brand, last four digits, expiry
    POST /v1/payment_methods/<id>/detach  the card no longer belongs to its customer
    GET  /pay/<id>                        the Checkout page: a card to choose and a Pay button
    POST /pay/<id>                        pay (or be declined), then 303 to the session's success_url

Every change makes the events Stripe would send (`events`), which `signed(event)` turns into the
body and Stripe-Signature header of a webhook, as Stripe signs them (HMAC-SHA256 of
"<timestamp>.<body>" with the webhook secret). It can misbehave: `fail_next(n, status)`
answers 5xx to the next API calls. A POST sent again with its Idempotency-Key gets the first
answer. `refund(payment_intent)` refunds a charge as the Stripe dashboard would.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_server import LocalFakeServer

SECRET_KEY = "sk_test_fake_never_logged_4f2a"
WEBHOOK_SECRET = "whsec_fake_never_logged_9c1d"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
_BRACKETS = re.compile(r"\[([^\]]*)\]")


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[invoice]=1`, `line_items[0][quantity]=1`) as nested
    dicts; lists stay dicts keyed by their index, which is all the fake needs."""
    nested: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        head = key.split("[", 1)[0]
        path = [head, *_BRACKETS.findall(key[len(head) :])]
        place = nested
        for part in path[:-1]:
            place = place.setdefault(part, {})
        place[path[-1]] = value
    return nested


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass
class FakeState:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, idempotency key
    authorizations: list[str] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    answered: dict[str, tuple[int, Any]] = field(default_factory=dict)  # idempotency key → answer
    lock: threading.Lock = field(default_factory=threading.Lock)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True


class FakeStripe(LocalFakeServer):
    def __init__(self, *, secret_key: str = SECRET_KEY, webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.state = FakeState()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, raw: bytes, content_type: str, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _json(self, status: int, body: Any) -> None:
                self._send(status, json.dumps(body).encode(), "application/json", {"Request-Id": _id("req")})

            def _error(self, status: int, kind: str, message: str, **more: Any) -> None:
                self._json(status, {"error": {"type": kind, "message": message, **more}})

            def _body(self) -> str:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()

            def _api_refused(self) -> bool:
                """Authentication and the scripted 5xx answers of API calls."""
                with fake.state.lock:
                    fake.state.requests.append(
                        (self.command, self.path, self.headers.get("Idempotency-Key", ""))
                    )
                    fake.state.authorizations.append(self.headers.get("Authorization", ""))
                    failure = fake.state.failures.pop(0) if fake.state.failures else 0
                if failure:
                    self._error(failure, "api_error", "Something went wrong on Stripe's end.")
                    return True
                if self.headers.get("Authorization") != f"Bearer {fake.secret_key}":
                    self._error(401, "invalid_request_error", "Invalid API Key provided.")
                    return True
                return False

            def do_GET(self) -> None:  # noqa: N802
                parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
                if parts[0] == "pay" and len(parts) == 2:
                    return self._checkout_page(parts[1])
                if self._api_refused():
                    return
                found = None
                with fake.state.lock:
                    if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4:
                        found = fake.state.sessions.get(parts[3])
                    elif parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
                        found = fake.state.payment_intents.get(parts[2])
                    elif parts[:2] == ["v1", "payment_methods"] and len(parts) == 3:
                        found = fake.state.payment_methods.get(parts[2])
                if found is None:
                    return self._error(
                        404, "invalid_request_error", "No such object.", code="resource_missing"
                    )
                self._json(200, found)

            def do_POST(self) -> None:  # noqa: N802
                body = self._body()
                parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
                if parts[0] == "pay" and len(parts) == 2:
                    return self._pay(parts[1], decode_form(body))
                if self._api_refused():
                    return
                form = decode_form(body)
                key = self.headers.get("Idempotency-Key", "")
                if key and key in fake.state.answered:  # as Stripe: the same key, the first answer
                    return self._json(*fake.state.answered[key])
                if parts == ["v1", "checkout", "sessions"]:
                    answer: tuple[int, Any] = (200, fake._session_create(form))
                elif parts == ["v1", "payment_intents"]:
                    answer = fake._off_session_charge(form)
                else:
                    answer = (0, None)
                if answer[0]:
                    if key:
                        fake.state.answered[key] = answer
                    return self._json(*answer)
                if parts[:2] == ["v1", "payment_methods"] and parts[3:] == ["detach"]:
                    with fake.state.lock:
                        method = fake.state.payment_methods.get(parts[2])
                        if method is not None:
                            method["customer"] = None
                    if method is None:
                        return self._error(404, "invalid_request_error", "No such PaymentMethod.")
                    return self._json(200, method)
                self._error(404, "invalid_request_error", "Unrecognized request URL.")

            def _checkout_page(self, session_id: str, problem: str = "", status: int = 200) -> None:
                session = fake.state.sessions.get(session_id)
                if session is None:
                    return self._send(404, b"No such checkout session.", "text/plain", {})
                amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
                page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Pay {html.escape(amount)}</title></head><body><main>
<h1>Pay {html.escape(amount)}</h1>
{f'<p role="alert">{html.escape(problem)}</p>' if problem else ""}
<form method="post" action="/pay/{session_id}">
<label for="card">Card number</label>
<select id="card" name="card"><option value="{GOOD_CARD}">4242 4242 4242 4242</option>
<option value="{DECLINED_CARD}">4000 0000 0000 0002 (declined)</option></select>
<button type="submit">Pay</button></form></main></body></html>"""
                self._send(status, page.encode(), "text/html; charset=utf-8", {})

            def _pay(self, session_id: str, form: dict[str, Any]) -> None:
                if session_id not in fake.state.sessions:
                    return self._send(404, b"No such checkout session.", "text/plain", {})
                if form.get("card") == DECLINED_CARD:
                    return self._checkout_page(session_id, "Your card was declined.", status=402)
                url = fake.complete(session_id, card=str(form.get("card") or GOOD_CARD))
                self._send(303, b"", "text/plain", {"Location": url})

        self._serve(_QuietServer(("127.0.0.1", 0), Handler))

    # What Stripe does.

    def _event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": _id("evt"),
            "object": "event",
            "api_version": "2025-01-01",
            "created": int(time.time()),
            "livemode": False,
            "type": kind,
            "data": {"object": json.loads(json.dumps(obj))},
        }
        self.state.events.append(event)
        return event

    def _session_create(self, form: dict[str, Any]) -> dict[str, Any]:
        line = form["line_items"]["0"]
        price = line["price_data"]
        session_id = _id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode", "payment"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(price["unit_amount"]) * int(line.get("quantity", "1")),
            "currency": price["currency"],
            "customer": form.get("customer"),
            "customer_creation": form.get("customer_creation"),
            "customer_email": form.get("customer_email"),
            "client_reference_id": form.get("client_reference_id"),
            "metadata": form.get("metadata", {}),
            "payment_intent": None,
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.base_url}/pay/{session_id}",
            "_intent_data": form.get("payment_intent_data", {}),
        }
        with self.state.lock:
            self.state.sessions[session_id] = session
        return session

    def _card(self, number: str, customer: str | None) -> dict[str, Any]:
        method = {
            "id": _id("pm"),
            "object": "payment_method",
            "type": "card",
            "customer": customer,
            "card": {"brand": "visa", "last4": number[-4:], "exp_month": 12, "exp_year": 2030},
        }
        self.state.payment_methods[method["id"]] = method
        return method

    def _intent(self, **fields: Any) -> dict[str, Any]:
        intent = {"id": _id("pi"), "object": "payment_intent", "latest_charge": None, **fields}
        self.state.payment_intents[intent["id"]] = intent
        return intent

    def _charge(self, intent: dict[str, Any]) -> dict[str, Any]:
        charge = {
            "id": _id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "refunded": False,
            "metadata": intent["metadata"],
        }
        self.state.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        return charge

    def complete(self, session_id: str, *, card: str = GOOD_CARD) -> str:
        """The Checkout form sent with a card that pays: the session is paid, its events are made,
        and the answer is the success_url to send the payer back to."""
        with self.state.lock:
            session = self.state.sessions[session_id]
            intent_data = session["_intent_data"]
            customer = session["customer"]
            saving = intent_data.get("setup_future_usage") == "off_session"
            if customer is None and (saving or session["customer_creation"] == "always"):
                customer = _id("cus")
            method = self._card(card, customer if saving else None)
            intent = self._intent(
                amount=session["amount_total"],
                currency=session["currency"],
                status="succeeded",
                customer=customer,
                payment_method=method["id"],
                setup_future_usage=intent_data.get("setup_future_usage"),
                metadata=intent_data.get("metadata", {}),
                last_payment_error=None,
            )
            self._charge(intent)
            session.update(
                status="complete", payment_status="paid", payment_intent=intent["id"], customer=customer
            )
            self._event("payment_intent.succeeded", intent)
            self._event("checkout.session.completed", self._public(session))
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)

    @staticmethod
    def _public(session: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in session.items() if not key.startswith("_")}

    def _off_session_charge(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.state.lock:
            method = self.state.payment_methods.get(form.get("payment_method", ""))
            if method is None or method["customer"] != form.get("customer"):
                return 400, {"error": {"type": "invalid_request_error", "message": "No such PaymentMethod."}}
            declined = method["card"]["last4"] == DECLINED_CARD[-4:]
            error = {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
            intent = self._intent(
                amount=int(form["amount"]),
                currency=form["currency"],
                status="requires_payment_method" if declined else "succeeded",
                customer=form["customer"],
                payment_method=method["id"],
                setup_future_usage=None,
                metadata=form.get("metadata", {}),
                last_payment_error=error if declined else None,
            )
            if declined:
                self._event("payment_intent.payment_failed", intent)
                return 402, {"error": {"type": "card_error", **error, "payment_intent": intent}}
            self._charge(intent)
            self._event("payment_intent.succeeded", intent)
            return 200, intent

    # Knobs.

    def fail_next(self, count: int, status: int = 500) -> None:
        self.state.failures.extend([status] * count)

    def save_declining_card(self, customer: str) -> dict[str, Any]:
        """A saved card that pays at Checkout but is declined when charged later (expired, blocked)."""
        with self.state.lock:
            return self._card(DECLINED_CARD, customer)

    def refund(self, payment_intent: str, amount: int | None = None) -> dict[str, Any]:
        """Refund (part of) a payment's charge, as staff would in the Stripe dashboard."""
        with self.state.lock:
            intent = self.state.payment_intents[payment_intent]
            charge = self.state.charges[intent["latest_charge"]]
            charge["amount_refunded"] += charge["amount"] if amount is None else amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            return self._event("charge.refunded", charge)

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.state.events if event["type"] == kind]

    def signed(
        self, event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None
    ) -> tuple[bytes, str]:
        """A webhook's body and Stripe-Signature header, as Stripe sends them."""
        payload = json.dumps(event).encode()
        moment = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(
            (secret or self.webhook_secret).encode(), f"{moment}.".encode() + payload, hashlib.sha256
        ).hexdigest()
        return payload, f"t={moment},v1={signature}"
