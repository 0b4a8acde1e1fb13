"""The Access points page in Chromium: the owner reaches it from the location page, issues the main
gate's device key and sees it once (the copy button copies it), the keypad asks with it, and the
list shows the keypad's last check. Each page is clean under axe-core.

With KEYPORT_SCREENSHOTS=1 the picture goes to docs/screenshots/dashboard-access-points.png."""

import pytest
from playwright.sync_api import expect

from keyport.access.models import DeviceKey
from keyport.demo.data import BERLIN, OWNER_EMAIL
from keyport.facilities.models import AccessPoint
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import audit, demo, folder, staff_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_issues_a_device_key_and_sees_it_once(live_server, browser, demo, audit, folder):  # noqa: F811
    base = live_server.url
    gate = AccessPoint.objects.get(external_id="BER-GATE-1")
    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.goto(f"{base}/dashboard/locations/{gate.location_id}/")
    page.get_by_role("link", name="Access points").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Access points · {BERLIN}")
    audit.check(page, "Access points")

    page.get_by_role("link", name="Main gate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Main gate")
    audit.check(page, "Access point")
    page.get_by_role("button", name="Issue device key").click()
    shown = page.get_by_test_id("device-key")
    expect(shown).to_be_visible()
    key = shown.inner_text().strip()
    assert key.startswith("kpd_") and DeviceKey.objects.get(access_point=gate).prefix == key[:10]
    expect(page.get_by_text("This is the only time the key is shown")).to_be_visible()
    audit.check(page, "Device key issued")
    page.get_by_role("button", name="Copy key").click()
    expect(page.get_by_text("Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key

    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Main gate")
    assert key not in page.content() and key[:10] in page.content()
    page.reload()
    assert key not in page.content()

    answer = page.request.post(
        f"{base}/api/v1/access/check",
        data={"access_point": "BER-GATE-1", "pin": "000000"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status == 200 and answer.json()["allowed"] is False
    page.get_by_role("link", name="Access points").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Main gate"))
    expect(row).to_contain_text("Refused a PIN nobody has")
    expect(row).to_contain_text(key[:10])
    page.screenshot(path=str(folder / "dashboard-access-points.png"))
