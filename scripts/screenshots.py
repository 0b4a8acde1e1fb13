"""Take the screenshots in docs/screenshots/ from a running Keyport with the demo data.

make run            # in one terminal
.venv/bin/python scripts/screenshots.py [http://127.0.0.1:8000]
"""

import os
import re
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from keyport.emails.backends import read_message_file  # noqa: E402

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-sync",
]


def shoot(page: Page, path: str, name: str) -> None:
    page.goto(f"{BASE}{path}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print(f"docs/screenshots/{name}.png  ←  {path}")


MAIL = Path(os.environ.get("KEYPORT_VAR_DIR", Path(__file__).resolve().parent.parent / "var")) / "mail"
PORTAL_PAGES = [
    ("/portal/", "portal-home"),
    ("/portal/cars/", "portal-cars"),
    ("/portal/billing/", "portal-billing"),
    ("/portal/documents/", "portal-documents"),
    ("/portal/events/", "portal-events"),
    ("/portal/settings/", "portal-settings"),
]


def newest_link(to: str, since: float) -> str:
    """The sign-in link in the newest email to this address (the worker sends it within seconds)."""
    for _ in range(60):
        for path in sorted(MAIL.glob("*.eml"), reverse=True):
            if path.stat().st_mtime < since:
                break
            recipient, body = read_message_file(path)
            if to in recipient:
                match = re.search(r"https?://\S+/login/link/\S+/", body)
                if match:
                    return match[0]
        time.sleep(0.5)
    raise SystemExit(f"No sign-in email to {to} arrived in {MAIL}; is the worker running?")


def portal_sign_in(page: Page, to: str) -> None:
    page.goto(f"{BASE}/login/")
    started = time.time() - 1
    page.get_by_label("Email").fill(to)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_load_state("networkidle")
    link = newest_link(to, started)
    page.goto(BASE + link[link.index("/login/") :])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("networkidle")


def portal(browser: Browser) -> None:
    """The customer portal on a phone: the tenant's sections, the ticket-only guest's tickets."""
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}
    tenant = browser.new_page(**phone)
    portal_sign_in(tenant, "tenant@demo.keyport.test")
    for path, name in PORTAL_PAGES:
        shoot(tenant, path, name)
    guest = browser.new_page(**phone)
    portal_sign_in(guest, "guest@demo.keyport.test")
    shoot(guest, "/portal/tickets/", "portal-tickets-ticket-only")
    shoot(guest, "/portal/interest/1/", "portal-register-interest")


def sections_dashboard(page: Page) -> None:
    shoot(page, "/dashboard/billing/", "dashboard-invoices")
    page.get_by_role("link", name="BER-00003").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "dashboard-invoice.png"))
    print("docs/screenshots/dashboard-invoice.png")
    shoot(page, "/dashboard/events/", "dashboard-events")
    page.get_by_role("link", name="Cars & Coffee at the Austin lot").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "dashboard-event.png"))
    print("docs/screenshots/dashboard-event.png")
    shoot(page, "/dashboard/cars/", "dashboard-cars")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        shoot(page, "/dashboard/login/", "dashboard-sign-in")
        page.get_by_label("Email").fill("owner@demo.keyport.test")
        page.get_by_label("Password").fill("keyport-demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{BASE}/dashboard/")
        shoot(page, "/dashboard/", "dashboard-overview")
        page.get_by_role("link", name="Keyport Self Storage Berlin-Kreuzberg").click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / "dashboard-location.png"))
        print("docs/screenshots/dashboard-location.png")
        sections_dashboard(page)
        portal(browser)
        browser.close()


if __name__ == "__main__":
    main()
