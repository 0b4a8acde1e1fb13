"""30 wrong PINs at the demo's main gate: the Overview names the gate, Lift block, the tenant's PIN opens."""

import datetime as dt
import json
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, expect

from keyport.access.models import AccessHolder
from keyport.access.services import access_decide, device_key_issue
from keyport.access.services.doors import Door
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.demo.data import OWNER_EMAIL, TENANT_EMAIL, seed_demo
from keyport.facilities.models import AccessPoint
from keyport.staff.models import StaffUser
from tests.browser.test_dashboard_browser import staff_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Mid-morning in Berlin, inside the demo's opening hours (6:00 to 22:00).
MORNING = dt.datetime(2026, 12, 2, 10, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))


def test_thirty_wrong_pins_at_the_main_gate_then_lift_block_and_the_tenants_pin_opens(
    live_server, browser: Browser
):
    with time_machine.travel(MORNING, tick=True):
        seed_demo()
        gate = AccessPoint.objects.select_related("location").get(external_id="BER-GATE-1")
        tenant_pin = AccessHolder.objects.get(location=gate.location, contact__email=TENANT_EMAIL).pin
        wrong = "0" * len(tenant_pin) if tenant_pin != "0" * len(tenant_pin) else "9" * len(tenant_pin)
        start = timezone.now() - dt.timedelta(minutes=2)
        for n in range(30):  # one every 4 s over the last two minutes
            door = Door.of(AccessPoint.objects.select_related("location").get(pk=gate.pk))
            access_decide(door=door, pin=wrong, channel="device", when=start + dt.timedelta(seconds=4 * n))

        page = staff_page(browser, live_server.url, StaffUser.objects.get(email=OWNER_EMAIL))
        page.goto(f"{live_server.url}/dashboard/")
        alert = page.get_by_role("alert").filter(has_text="Main gate")
        expect(alert).to_contain_text("Main gate: 30 wrong PINs in 2 minutes, blocked until")
        alert.get_by_role("button", name="Lift block").click()
        expect(page.get_by_text("Main gate: block lifted.")).to_be_visible()
        expect(page.get_by_role("alert").filter(has_text="wrong PINs")).to_have_count(0)
        assert AuditEntry.objects.filter(action="access.pin_block_lifted", target_id=gate.pk).count() == 1

        key = device_key_issue(actor=Actor.system("browser test"), access_point=gate)
        answer = Client().post(
            "/api/v1/access/check",
            json.dumps({"access_point": "BER-GATE-1", "pin": tenant_pin}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.json() == {"allowed": True, "reason": "ok"}
