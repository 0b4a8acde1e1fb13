"""The access check API for doors and keypads, and its OpenAPI document."""

import json
import re

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from keyport.access.services import DeviceRefused, device_access_decide, door_for_device
from keyport.api.openapi import OPENAPI, PIN_PATTERN

MAX_BODY = 4096
_PIN = re.compile(PIN_PATTERN, re.ASCII)


def _device_key(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer ") and len(header) > 7:
        return header[7:].strip()
    return None


@csrf_exempt  # devices authenticate with their key, not a session cookie
@require_POST
def access_check(request: HttpRequest) -> JsonResponse:
    key = _device_key(request)
    if key is None:
        return _unauthorized("missing_device_key")
    asked = _question(request)
    if isinstance(asked, JsonResponse):
        # A bad body from an unknown key is refused as unknown first.
        return _unauthorized("invalid_device_key") if door_for_device(key) is None else asked
    access_point_ref, pin = asked
    try:
        decision = device_access_decide(key=key, access_point_ref=access_point_ref, pin=pin)
    except DeviceRefused as refused:
        if refused.error == "invalid_device_key":
            return _unauthorized(refused.error)
        return JsonResponse({"error": refused.error}, status=403)
    answer: dict[str, object] = {"allowed": decision.allowed, "reason": decision.reason}
    if decision.retry_after is not None:
        answer["retry_after"] = decision.retry_after
    return JsonResponse(answer)


def _question(request: HttpRequest) -> tuple[str, str] | JsonResponse:
    """The access point and the PIN a device asks about, or the answer to a body that is not one."""
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "body_too_large"}, status=413)
    try:
        body = json.loads(request.body)
        access_point_ref, pin = body["access_point"], body["pin"]
        if not isinstance(access_point_ref, str) or not isinstance(pin, str) or not _PIN.fullmatch(pin):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": "bad_request", "detail": 'Send {"access_point": "<external id>", "pin": "<digits>"}.'},
            status=400,
        )
    return access_point_ref, pin


def _unauthorized(error: str) -> JsonResponse:
    return JsonResponse({"error": error}, status=401, headers={"WWW-Authenticate": "Bearer"})


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(OPENAPI)
