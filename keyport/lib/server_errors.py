"""The server-error page, which tells a lost database from a fault: the first is a 503 to wait out."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext

# Seconds a client is asked to wait before trying again while the database is out of reach.
RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 with Retry-After while the database cannot be reached, else a plain 500.

    The page is rendered without the request's context: its processors would ask the database again.
    """
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return HttpResponse(loader.render_to_string("500.html"), status=500)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"error": "unavailable", "detail": gettext("The database cannot be reached; try again shortly.")},
            status=503,
        )
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
