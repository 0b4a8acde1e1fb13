"""Share Access in a browser: a tenant shares a unit with a friend for a week; the friend's PIN
opens the door inside the window; the tenant deletes the share; the same PIN is denied."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from keyport.access.models import AccessEvent
from keyport.access.services import device_key_issue
from keyport.audit.services import Actor
from tests import cast
from tests.portal_helpers import sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
KEY = re.compile(r"https?://[^\s]+/key/[A-Za-z0-9_-]+/")


def portal_page(browser: Browser, base: str, contact) -> Page:
    client = Client()
    sign_in_as(client, contact)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def test_a_tenant_shares_a_unit_with_a_friend_for_a_week(
    live_server, browser: Browser, settings, site, tenant
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    today = timezone.localdate()
    site.set(time_zone="UTC")
    cast.book(tenant, site, starts_on=today - dt.timedelta(days=30))
    device_key = device_key_issue(actor=Actor.system("browser test"), access_point=site.door)
    tenant_page = portal_page(browser, live_server.url, tenant)

    tenant_page.goto(f"{live_server.url}/portal/")
    tenant_page.get_by_role("link", name="Manage Access").click()
    expect(tenant_page.get_by_role("heading", name="Manage Access")).to_be_visible()
    tenant_page.get_by_label("Email addresses").fill("friend@example.com")
    tenant_page.get_by_label("Storage unit A001").check()
    tenant_page.get_by_label("Start date").fill(today.isoformat())
    tenant_page.get_by_label("End date").fill((today + dt.timedelta(days=6)).isoformat())
    tenant_page.get_by_role("button", name="Share Access").click()
    expect(tenant_page.get_by_role("status").first).to_contain_text("Access shared with friend@example.com")

    [email] = [m for m in mail.outbox if m.to == ["friend@example.com"]]
    key_link = KEY.search(email.body).group(0)
    friend = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    friend.goto(key_link)
    pin = friend.locator("#guest-pin").inner_text().strip()
    friend.get_by_role("button", name="Open Main door").click()
    expect(friend.locator("#open-result")).to_contain_text("Main door is open")
    friend.reload()  # the Open button answered with a redirect, so a refresh does not open again
    expect(friend.locator("#open-result")).to_have_count(0)
    assert AccessEvent.objects.filter(channel="guest").count() == 1

    def check(pin: str) -> dict:
        response = tenant_page.request.post(
            f"{live_server.url}/api/v1/access/check",
            data={"access_point": site.door.external_id, "pin": pin},
            headers={"Authorization": f"Bearer {device_key}"},
        )
        assert response.status == 200
        return response.json()

    assert check(pin) == {"allowed": True, "reason": "ok"}
    tenant_page.get_by_role("button", name="Delete shared access for friend@example.com").click()
    expect(tenant_page.locator("[data-access-loss]")).to_contain_text("stop opening your doors now")
    assert check(pin) == {"allowed": True, "reason": "ok"}  # asking changed nothing
    tenant_page.get_by_role("button", name="Delete shared access", exact=True).click()
    expect(tenant_page.get_by_role("status").first).to_contain_text("deleted")
    assert check(pin) == {"allowed": False, "reason": "revoked"}
    friend.reload()
    expect(friend.get_by_text("This shared access was withdrawn")).to_be_visible()
