"""Keyport's URLs plus a no-op view: the baseline the access check is compared with."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from keyport.urls import urlpatterns as keyport_urlpatterns


@csrf_exempt
def noop(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"allowed": False, "reason": "noop"})


urlpatterns = [path("noop", noop), *keyport_urlpatterns]
