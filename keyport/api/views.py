"""The access check API for doors and keypads, and its OpenAPI document."""

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from keyport.access.models import AccessEvent
from keyport.access.services import access_decide, door_for_device
from keyport.api.openapi import OPENAPI

MAX_BODY = 4096


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
        return JsonResponse(
            {"error": "missing_device_key"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    door = door_for_device(key)
    if door is None:
        return JsonResponse(
            {"error": "invalid_device_key"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "body_too_large"}, status=413)
    try:
        body = json.loads(request.body)
        access_point_ref, pin = body["access_point"], body["pin"]
        if not isinstance(access_point_ref, str) or not isinstance(pin, str) or not pin.isdigit():
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": "bad_request", "detail": 'Send {"access_point": "<external id>", "pin": "<digits>"}.'},
            status=400,
        )
    if access_point_ref != door.external_id:
        return JsonResponse({"error": "wrong_access_point"}, status=403)
    decision = access_decide(door=door, pin=pin, channel=AccessEvent.Channel.DEVICE)
    answer: dict[str, object] = {"allowed": decision.allowed, "reason": decision.reason}
    if decision.retry_after is not None:
        answer["retry_after"] = decision.retry_after
    return JsonResponse(answer)


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(OPENAPI)
