from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_page_asked_while_the_database_is_unreachable_is_a_503_to_wait_out(settings) -> None:
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    with mock.patch("keyport.portal.sign_in_views.render", side_effect=OperationalError("gone")):
        response = client.get("/login/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "reach its database right now" in response.content.decode()


def test_the_api_answers_json_while_the_database_is_unreachable(settings) -> None:
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    with mock.patch("django.urls.resolvers.URLResolver.resolve", side_effect=OperationalError("gone")):
        response = client.post("/api/v1/access/check", data="{}", content_type="application/json")
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


def test_any_other_fault_is_still_a_500(settings) -> None:
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    with mock.patch("keyport.portal.sign_in_views.render", side_effect=ValueError("bug")):
        response = client.get("/login/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
