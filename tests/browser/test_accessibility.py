"""Every page is clean under axe-core's WCAG 2 A/AA rules (2.0 and 2.1), for each audience: the owner's
dashboard, a Full tenant's portal, a ticket-only person, a shared-access guest's key page and the
public sign-in pages; with the pages of the door-access confirmations, Why can't they get in? and a
keypad block. Each audience's pages are found by following links from its navigation.

axe-core comes from the npm registry (package.json at the top; `make test-browser` runs `npm ci`).
With KEYPORT_SCREENSHOTS=1 the pictures of those pages go to docs/screenshots/."""

import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.template import loader
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import Browser, Page, ViewportSize, expect

from keyport.access.models import AccessHolder
from keyport.access.services import access_decide
from keyport.access.services.doors import Door
from keyport.contacts.models import Contact
from keyport.demo.data import BERLIN, GUEST_EMAIL, OWNER_EMAIL, TENANT_EMAIL, seed_demo
from keyport.facilities.models import AccessPoint, Location
from keyport.staff.models import StaffUser
from tests.portal_helpers import sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
# WCAG 2.0 and 2.1, levels A and AA: the project's rule. Best practices and AAA are not asked.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Mid-morning in Berlin, inside the demo's opening hours (6:00 to 22:00).
MORNING = dt.datetime(2026, 12, 2, 10, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
KEY_PATH = re.compile(r"/key/[A-Za-z0-9_-]+/")
SIGN_IN_PATH = re.compile(r"/login/link/[A-Za-z0-9_-]+/")


class Audit:
    """Runs axe-core on pages and keeps what it found, so one run reports every page at once."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.checked: list[str] = []

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            WCAG_TAGS,
        )
        where = f"{name} ({urlsplit(page.url).path})"
        self.checked.append(where)
        for violation in result["violations"]:
            nodes = violation["nodes"]
            targets = "; ".join(" ".join(node["target"]) for node in nodes[:5])
            # The first element's own words say what is wrong (a contrast ratio, a missing name).
            why = " ".join(nodes[0]["failureSummary"].split()) if nodes else ""
            self.found.setdefault(where, []).append(
                f"{violation['id']} [{violation['impact']}] {violation['help']}: {targets} ({why})"
            )

    def assert_clean(self) -> None:
        print(f"axe-core checked {len(self.checked)} pages:", *self.checked, sep="\n  ")
        report = "\n".join(
            f"{where}:\n" + "\n".join(f"  - {line}" for line in lines) for where, lines in self.found.items()
        )
        summary = (
            f"axe-core found WCAG A/AA violations on {len(self.found)} of {len(self.checked)} pages checked"
        )
        assert not self.found, f"{summary}:\n{report}"


@pytest.fixture
def audit() -> Audit:
    if not AXE.exists():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `npm ci` (make test-browser does)")
    return Audit()


@pytest.fixture
def demo() -> Iterator[None]:
    """The demo facility on a weekday morning in Berlin, with the clock running from there."""
    with time_machine.travel(MORNING, tick=True):
        seed_demo()
        yield


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return SCREENSHOTS if os.environ.get("KEYPORT_SCREENSHOTS") else tmp_path


def new_page(browser: Browser, base: str, session_cookie: str | None = None, *, phone: bool = False) -> Page:
    """A browser of its own; bypass_csp lets the test add axe-core's script to pages whose
    Content-Security-Policy allows only the project's own scripts."""
    size: ViewportSize = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=size, is_mobile=phone, bypass_csp=True)
    if session_cookie:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": base}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def staff_page(browser: Browser, base: str, user: StaffUser) -> Page:
    client = Client()
    client.force_login(user)
    return new_page(browser, base, client.cookies[settings.SESSION_COOKIE_NAME].value)


def portal_page(browser: Browser, base: str, contact: Contact) -> Page:
    client = Client()
    sign_in_as(client, contact)
    return new_page(browser, base, client.cookies[settings.SESSION_COOKIE_NAME].value, phone=True)


def view_name(path: str) -> str | None:
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


def links_under(page: Page, prefix: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    return [urlsplit(href).path for href in hrefs if urlsplit(href).path.startswith(prefix)]


def check_reachable_pages(page: Page, base: str, audit: Audit, starts: Iterable[str], prefix: str) -> None:
    """Check the start pages and, following their links, one page of every view reached this way
    (a second customer's page is the same template as the first). Files (PDFs, photos, CSV) are
    not pages and are left out."""
    seen: set[str | None] = set()
    queue = list(starts)
    while queue:
        path = queue.pop(0)
        name = view_name(path)
        if name in seen:
            continue
        seen.add(name)
        answer = page.request.get(base + path)
        if answer.status != 200 or not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        landed = view_name(urlsplit(answer.url).path)  # a redirect may land on a page checked already
        if landed != name and landed in seen:
            continue
        seen.add(landed)
        page.goto(base + path)
        audit.check(page, landed or path)
        queue.extend(link for link in links_under(page, prefix) if view_name(link) not in seen)


def block_the_main_gate() -> AccessPoint:
    """30 wrong PINs at the demo's main gate over the last two minutes: its keypad is blocked."""
    gate = AccessPoint.objects.select_related("location").get(external_id="BER-GATE-1")
    tenant_pin = AccessHolder.objects.get(location=gate.location, contact__email=TENANT_EMAIL).pin
    wrong = "0" * len(tenant_pin) if tenant_pin != "0" * len(tenant_pin) else "9" * len(tenant_pin)
    start = timezone.now() - dt.timedelta(minutes=2)
    for n in range(30):
        door = Door.of(AccessPoint.objects.select_related("location").get(pk=gate.pk))
        access_decide(door=door, pin=wrong, channel="device", when=start + dt.timedelta(seconds=4 * n))
    return gate


# The dashboard --------------------------------------------------------------------------------------


def test_the_owners_dashboard_pages_have_no_wcag_violations(live_server, browser, demo, audit, folder):
    base = live_server.url
    block_the_main_gate()
    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.goto(f"{base}/dashboard/")
    expect(page.get_by_role("alert").filter(has_text="Main gate")).to_contain_text("30 wrong PINs")
    audit.check(page, "Overview with a keypad block")
    page.screenshot(path=str(folder / "dashboard-keypad-block.png"))

    nav = page.eval_on_selector_all(
        "nav[aria-label=Dashboard] a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    tenant = Contact.objects.get(email=TENANT_EMAIL)
    customer_page = f"/dashboard/customers/{tenant.customer_id}/"
    check_reachable_pages(page, base, audit, [*nav, customer_page], "/dashboard/")

    page.goto(base + customer_page)
    page.get_by_role("button", name="Edit", exact=False).first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    audit.check(page, "Edit Contact dialog")

    page.goto(base + customer_page)
    why = page.get_by_role("form", name="Why can't they get in?")
    why.get_by_label("Person").select_option(label="Mara Schneider")
    gate = AccessPoint.objects.select_related("location").get(external_id="BER-GATE-1")
    why.get_by_label("Access point").select_option(label=f"{gate.location.name} · {gate.name}")
    why.get_by_role("button", name="Check").click()
    expect(page.locator("[data-why-answer]")).to_be_visible()
    audit.check(page, "Why can't they get in? with an answer")
    page.locator("#why-cant").scroll_into_view_if_needed()
    page.locator("#why-cant").screenshot(path=str(folder / "dashboard-why-cant.png"))

    page.goto(base + customer_page)
    page.get_by_role("button", name="Set Inactive").click()
    expect(page.get_by_role("heading", name=re.compile("Set .* Inactive"))).to_be_visible()
    audit.check(page, "Set Inactive confirmation")
    page.screenshot(path=str(folder / "dashboard-confirm-set-inactive.png"))

    page.goto(base + customer_page)
    page.get_by_label("Reason").first.fill("Payment overdue")
    page.get_by_role("button", name=re.compile("Revoke access to booking")).first.click()
    expect(page.get_by_role("heading", name=re.compile("Revoke access of booking"))).to_be_visible()
    audit.check(page, "Revoke access confirmation")

    employee = staff_page(browser, base, StaffUser.objects.get(email="employee@demo.keyport.test"))
    employee.goto(f"{base}/dashboard/customer-app/")  # the owner's alone
    expect(employee.get_by_role("heading", name="This is not yours to do")).to_be_visible()
    audit.check(employee, "Not allowed (403)")
    audit.assert_clean()


# The portal -----------------------------------------------------------------------------------------


def test_a_full_tenants_portal_pages_have_no_wcag_violations(live_server, browser, demo, audit, folder):
    base = live_server.url
    tenant = Contact.objects.get(email=TENANT_EMAIL)
    page = portal_page(browser, base, tenant)
    page.goto(f"{base}/portal/")
    tabs = page.eval_on_selector_all(
        "nav[aria-label='Portal sections'] a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(tabs) > 3, tabs
    check_reachable_pages(page, base, audit, tabs, "/portal/")

    page.goto(f"{base}/portal/")
    page.get_by_role("link", name="Manage Access").first.click()
    page.get_by_role("button", name="Delete shared access for friend@example.com").click()
    expect(page.locator("[data-access-loss]")).to_contain_text("stop opening your doors now")
    audit.check(page, "Delete shared access confirmation")
    page.screenshot(path=str(folder / "portal-confirm-share-delete.png"), full_page=True)
    audit.assert_clean()


def test_a_ticket_only_persons_portal_has_no_wcag_violations(live_server, browser, demo, audit):
    base = live_server.url
    page = portal_page(browser, base, Contact.objects.get(email=GUEST_EMAIL))
    page.goto(f"{base}/portal/")
    expect(page.get_by_role("link", name="Your tickets")).to_be_visible()
    check_reachable_pages(page, base, audit, [urlsplit(page.url).path], "/portal/")
    page.goto(f"{base}/portal/cars/")  # not theirs: the page that says so
    audit.check(page, "A section not in a ticket-only portal")
    audit.assert_clean()


def test_a_shared_access_guests_key_page_has_no_wcag_violations(live_server, browser, audit):
    with time_machine.travel(MORNING, tick=True):
        mail.outbox.clear()
        seed_demo()
        [key] = {match.group(0) for m in mail.outbox for match in KEY_PATH.finditer(str(m.body))}
        page = new_page(browser, live_server.url, phone=True)
        page.goto(live_server.url + key)
        expect(page.locator("#guest-pin")).to_be_visible()
        audit.check(page, "Guest key page")
        audit.assert_clean()


# Signing in -----------------------------------------------------------------------------------------


def test_the_public_sign_in_pages_have_no_wcag_violations(live_server, browser, demo, audit, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    base = live_server.url
    page = new_page(browser, base, phone=True)
    page.goto(f"{base}/login/")
    audit.check(page, "Portal sign-in")
    mail.outbox.clear()
    page.get_by_label("Email").fill(TENANT_EMAIL)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("status")).to_contain_text("we sent a sign-in link")
    audit.check(page, "Portal sign-in link sent")
    [link] = {match.group(0) for m in mail.outbox for match in SIGN_IN_PATH.finditer(str(m.body))}
    page.goto(base + link)
    expect(page.get_by_role("button", name="Continue")).to_be_visible()
    audit.check(page, "Portal sign-in Continue")
    page.goto(f"{base}/login/link/not-a-real-token/")
    audit.check(page, "Portal sign-in link expired")

    berlin = Location.objects.get(name=BERLIN)
    page.goto(f"{base}/portal/interest/{berlin.pk}/")
    audit.check(page, "Register interest")
    page.get_by_role("button", name="Register interest").click()  # nothing filled in
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    audit.check(page, "Register interest with errors")
    page.get_by_label("First name").fill("Lena")
    page.get_by_label("Last name").fill("Vogel")
    page.get_by_label("Email").fill("lena@example.com")
    page.get_by_role("button", name="Register interest").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    audit.check(page, "Register interest thanks")

    for error_page in ("500.html", "503.html"):  # rendered without a request, as handler500 does
        page.set_content(loader.render_to_string(error_page))  # on the server's origin: its CSS loads
        audit.check(page, f"Server error page {error_page}")

    staff = new_page(browser, base)
    staff.goto(f"{base}/dashboard/login/")
    audit.check(staff, "Dashboard sign-in")
    staff.get_by_label("Email").fill(OWNER_EMAIL)
    staff.get_by_label("Password").fill("not the password")
    staff.get_by_role("button", name="Sign in").click()
    audit.check(staff, "Dashboard sign-in refused")
    audit.assert_clean()


# The check itself -----------------------------------------------------------------------------------


def test_the_audit_names_a_field_without_a_label_and_a_grey_on_grey_button(page: Page, audit: Audit) -> None:
    page.set_content(
        '<!doctype html><html lang="en"><head><title>A form</title></head><body><main><h1>A form</h1>'
        '<input id="nameless"><button style="color:#6c757d;background:#f8f9fa">Sign out</button>'
        "</main></body></html>"
    )
    audit.check(page, "A form")
    [lines] = audit.found.values()
    assert [line.split(" ")[0] for line in lines] == ["color-contrast", "label"]
    assert "#nameless" in lines[1] and "4.44" in lines[0]
    with pytest.raises(AssertionError, match="violations on 1 of 1 pages checked"):
        audit.assert_clean()
