"""The access check API for doors and keypads, its OpenAPI document, and Stripe's webhooks."""

import re

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from keyport.access.services import DeviceRefused, device_access_decide, device_check_record
from keyport.access.services.doors import door_for_device
from keyport.access.templatetags.access_words import keypad_blocked_words
from keyport.api.bodies import BodyRefused, flat_json_object
from keyport.api.openapi import MAX_BODY_BYTES, OPENAPI, PIN_PATTERN
from keyport.payments.services import BadSignature, webhook_receive

_PIN = re.compile(PIN_PATTERN, re.ASCII)


def _device_key(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer ") and len(header) > 7:
        return header[7:].strip()
    return None


@csrf_exempt  # devices authenticate with their key, not a session cookie
@require_POST
def access_check(request: HttpRequest) -> JsonResponse:
    """May this PIN open this access point now?

    Only a small flat JSON object is ever parsed (`keyport.api.bodies`). Such a body is read before
    the key is looked up, because the key and the PIN are looked up together, in the check's one
    read; any other body is answered only once the key is known: 401 for an unknown key, whatever
    it sent, else 400.

    A known key's check is noted on it with its answer (`device_check_record`), at most once a
    minute, so that the Access points page shows a dead or misconfigured device.
    """
    key = _device_key(request)
    if key is None:
        return _unauthorized("missing_device_key")
    asked = _question(request)
    if isinstance(asked, BodyRefused):
        if door_for_device(key) is None:
            return _unauthorized("invalid_device_key")
        device_check_record(key=key, result=asked.error, when=timezone.now())
        return JsonResponse(asked.as_json(), status=400)
    access_point_ref, pin = asked
    try:
        decision = device_access_decide(key=key, access_point_ref=access_point_ref, pin=pin)
    except DeviceRefused as refused:
        if refused.error == "invalid_device_key":
            return _unauthorized(refused.error)
        device_check_record(key=key, result=refused.error, when=timezone.now())
        return JsonResponse({"error": refused.error}, status=403)
    device_check_record(key=key, result=decision.reason, when=timezone.now())
    answer: dict[str, object] = {"allowed": decision.allowed, "reason": decision.reason}
    if decision.retry_after is not None:
        answer["retry_after"] = decision.retry_after
    if decision.reason == "blocked":
        answer["message"] = keypad_blocked_words(decision.retry_after)
    return JsonResponse(answer)


def _question(request: HttpRequest) -> tuple[str, str] | BodyRefused:
    """The access point and the PIN a device asks about, or why the body is not such a question."""
    body = flat_json_object(request, max_bytes=MAX_BODY_BYTES)
    if isinstance(body, BodyRefused):
        return body
    access_point_ref, pin = body.get("access_point"), body.get("pin")
    if not isinstance(access_point_ref, str) or not isinstance(pin, str) or not _PIN.fullmatch(pin):
        return BodyRefused("bad_request", 'Send {"access_point": "<external id>", "pin": "<digits>"}.')
    return access_point_ref, pin


def _unauthorized(error: str) -> JsonResponse:
    return JsonResponse({"error": error}, status=401, headers={"WWW-Authenticate": "Bearer"})


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(OPENAPI)


@csrf_exempt  # Stripe signs its webhooks; there is no session
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's events (keyport.payments.services.webhook_receive): the install's endpoint, or a
    location's own with `?location=<id>`. 400 to a body or signature that does not check out."""
    location = request.GET.get("location", "")
    if location and not location.isdigit():
        return JsonResponse({"error": "unknown_location"}, status=400)
    try:
        outcome = webhook_receive(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
            location_id=int(location) if location else None,
        )
    except BadSignature:
        return JsonResponse({"error": "bad_signature"}, status=400)
    return JsonResponse({"received": outcome.what}, status=outcome.status)
