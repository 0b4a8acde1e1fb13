"""The API takes one small flat JSON object and nothing else; an unknown key hears 401 whatever it sends."""

import datetime as dt
import json

import pytest
import time_machine
from django.urls import URLPattern, reverse

from keyport.access.models import AccessEvent
from keyport.access.services import device_key_issue
from keyport.api import urls as api_urls
from keyport.api.openapi import MAX_BODY_BYTES
from keyport.audit.services import Actor
from keyport.facilities.models import AccessPoint
from tests import cast

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)

NESTED = {
    "a thousand [": "[" * 1000,
    "four thousand [": "[" * 4000,
    "nested objects": '{"a":' * 1000,
    "nested inside a field": '{"access_point": "x", "pin": ' + "[" * 2000 + "}",
}
NOT_ONE_FLAT_OBJECT = {
    **NESTED,
    "an array": '["DOOR", "123456"]',
    "a string": '"123456"',
    "a number": "123456",
    "null": "null",
    "an array value": '{"access_point": ["DOOR"], "pin": "123456"}',
    "an object value": '{"access_point": "DOOR", "pin": {"digits": "123456"}}',
    "cut off": '{"access_point": "DOOR", "pin": "1234',
    "two objects": '{"pin": "123456"}{"pin": "123456"}',
    "NaN": '{"access_point": "DOOR", "pin": "123456", "n": NaN}',
    "empty": "",
    "too large": '{"access_point": "DOOR", "pin": "123456"}' + " " * MAX_BODY_BYTES,
}


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site)


def post(client, key, body):
    data = body.encode() if isinstance(body, str) else body
    return client.post(
        "/api/v1/access/check",
        data,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


def nothing_changed(site) -> bool:
    door = AccessPoint.objects.get(pk=site.door.pk)
    return not AccessEvent.objects.exists() and door.wrong_pins == 0 and door.pins_blocked_until is None


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
def test_a_deeply_nested_body_with_an_unknown_key_is_refused_as_unknown(client, site, booking, body) -> None:
    response = post(client, "x", body)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_device_key"}
    assert nothing_changed(site)


@pytest.mark.parametrize("body", NOT_ONE_FLAT_OBJECT.values(), ids=NOT_ONE_FLAT_OBJECT.keys())
def test_a_body_that_is_not_one_flat_object_is_refused_with_a_400_and_changes_nothing(
    client, site, booking, body
) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    response = post(client, key, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] in {"bad_request", "body_too_large"} and answer["detail"]
    assert nothing_changed(site)
    # The same body with an unknown key tells nothing about the body.
    assert post(client, "kpd_unknown", body).status_code == 401


def test_a_body_that_is_not_utf8_is_refused(client, site, booking) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    response = post(client, key, b'{"access_point": "\xff", "pin": "123456"}')
    assert response.status_code == 400 and "UTF-8" in response.json()["detail"]
    assert nothing_changed(site)


def test_a_too_large_body_says_how_large_one_may_be(client, site, booking) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    answer = post(client, key, NOT_ONE_FLAT_OBJECT["too large"]).json()
    assert answer["error"] == "body_too_large" and str(MAX_BODY_BYTES) in answer["detail"]


@time_machine.travel(NOW, tick=False)
def test_brackets_and_quotes_inside_strings_are_only_text(client, site, tenant, booking) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = site.holder(tenant).pin
    body = {"access_point": site.door.external_id, "pin": pin, "note": 'a "[{" \\ ]}'}
    assert post(client, key, json.dumps(body)).json() == {"allowed": True, "reason": "ok"}
    elsewhere = json.dumps({"access_point": '[{"}]', "pin": pin})
    assert post(client, key, elsewhere).json() == {"error": "wrong_access_point"}


def test_every_api_endpoint_that_takes_a_post_refuses_a_nested_body_without_a_500(
    client, site, booking
) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    posted = 0
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        url = reverse(f"api:{pattern.name}")
        for header in (f"Bearer {key}", "Bearer x"):
            response = client.post(
                url, "[" * 4000, content_type="application/json", headers={"Authorization": header}
            )
            assert response.status_code in {400, 401, 405}, url
            posted += response.status_code != 405
    assert posted >= 2
    assert nothing_changed(site)
