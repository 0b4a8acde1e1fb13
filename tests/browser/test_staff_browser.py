"""The Staff page in Chromium: the owner invites a Berlin manager, the manager opens the email's
link, sets a password, is signed in and sees Berlin only; then turns on two-factor sign-in with the
QR code and signs in again with a code. Each page is clean under axe-core.

With KEYPORT_SCREENSHOTS=1 the pictures go to docs/screenshots/."""

import re

import pytest
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from keyport.demo.data import AUSTIN, BERLIN, OWNER_EMAIL
from keyport.staff.models import Role, StaffUser
from tests.browser.test_accessibility import audit, demo, folder, new_page, staff_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INVITE_LINK = re.compile(r"https?://\S+?(?P<path>/dashboard/invite/[A-Za-z0-9_-]+/)")
PASSWORD = "berlin-manager-passphrase-42"


def test_the_owner_invites_a_berlin_manager_who_sees_berlin_only(live_server, browser, demo, audit, folder):  # noqa: F811
    base = live_server.url
    owner = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    owner.goto(f"{base}/dashboard/")
    owner.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Staff", exact=True).click()
    expect(owner.get_by_role("heading", level=1, name="Staff")).to_be_visible()
    audit.check(owner, "Staff")

    owner.get_by_role("link", name="Invite staff member").click()
    owner.get_by_label("Name").fill("Jana Berger")
    owner.get_by_label("Email").fill("jana.berger@example.com")
    owner.get_by_label("Manager").check()
    owner.get_by_label(BERLIN).check()
    audit.check(owner, "Invite staff member")
    owner.screenshot(path=str(folder / "dashboard-staff-invite.png"), full_page=True)
    owner.get_by_role("button", name="Send invite").click()
    expect(owner.get_by_text("Invite sent to jana.berger@example.com")).to_be_visible()
    row = owner.locator('tr[data-member="jana.berger@example.com"]')
    expect(row).to_contain_text("Manager")
    expect(row).to_contain_text(BERLIN)
    expect(row).to_contain_text("Invited")

    [message] = [message for message in mail.outbox if message.to == ["jana.berger@example.com"]]
    link = INVITE_LINK.search(message.body)
    assert link, message.body
    manager = new_page(browser, base)
    manager.goto(base + link["path"])
    expect(manager.get_by_role("heading", name="Welcome, Jana Berger")).to_be_visible()
    audit.check(manager, "Set your password (invite)")
    manager.screenshot(path=str(folder / "dashboard-invite-set-password.png"), full_page=True)
    manager.get_by_label("New password", exact=True).fill(PASSWORD)
    manager.get_by_label("New password again").fill(PASSWORD)
    manager.get_by_role("button", name="Set password and sign in").click()

    expect(manager.get_by_role("heading", name="Overview")).to_be_visible()
    expect(manager.get_by_text("Jana Berger · Manager")).to_be_visible()
    expect(manager.get_by_role("link", name=BERLIN, exact=True).first).to_be_visible()
    expect(manager.get_by_text(AUSTIN)).to_have_count(0)
    member = StaffUser.objects.get(email="jana.berger@example.com")
    assert member.role == Role.MANAGER and [location.name for location in member.locations.all()] == [BERLIN]

    manager.goto(base + link["path"])  # the link worked once
    expect(manager.get_by_role("heading", name="This invite link no longer works")).to_be_visible()
    audit.check(manager, "Invite link used")

    manager.goto(f"{base}/dashboard/")
    manager.get_by_role("link", name="Two-factor sign-in").click()
    expect(manager.locator("svg.two-factor-qr")).to_be_visible()
    audit.check(manager, "Two-factor sign-in set-up")
    manager.screenshot(path=str(folder / "dashboard-two-factor-setup.png"), full_page=True)
    device = TOTPDevice.objects.get(user=member)
    manager.get_by_label("Code").fill(_code(device))
    manager.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(manager.locator("[data-recovery-code]")).to_have_count(10)
    audit.check(manager, "Recovery codes")

    manager.goto(f"{base}/dashboard/")
    manager.get_by_role("button", name="Sign out").click()
    manager.get_by_label("Email").fill("jana.berger@example.com")
    manager.get_by_label("Password").fill(PASSWORD)
    manager.get_by_role("button", name="Sign in").click()
    expect(manager.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    audit.check(manager, "Two-factor code at sign-in")
    manager.screenshot(path=str(folder / "dashboard-sign-in-code.png"))
    manager.get_by_label("Code").fill(_code(device, later=True))
    manager.get_by_role("button", name="Sign in").click()
    expect(manager.get_by_role("heading", name="Overview")).to_be_visible()

    owner.goto(f"{base}/dashboard/staff/")
    expect(owner.locator('tr[data-member="jana.berger@example.com"]')).to_contain_text("On")
    owner.screenshot(path=str(folder / "dashboard-staff.png"), full_page=True)
    owner.locator('tr[data-member="jana.berger@example.com"]').get_by_role("link").click()
    expect(owner.get_by_role("heading", level=1, name="Jana Berger")).to_be_visible()
    audit.check(owner, "Staff member")
    owner.screenshot(path=str(folder / "dashboard-staff-member.png"), full_page=True)
    owner.goto(f"{base}/dashboard/password-reset/")
    audit.check(owner, "Forgot password?")
    owner.screenshot(path=str(folder / "dashboard-forgot-password.png"))
    audit.assert_clean()


def _code(device: TOTPDevice, *, later: bool = False) -> str:
    """The app's code now (the next step's, for a second sign-in: a code works once)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if later:
        totp.time = totp.time + device.step
    return str(totp.token()).zfill(device.digits)
