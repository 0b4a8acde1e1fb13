"""The Overview's numbers lead to the Units page, filtered; the Units, unit and unit type pages are
clean under axe-core; with KEYPORT_SCREENSHOTS=1 their pictures go to docs/screenshots/."""

import pytest
from playwright.sync_api import expect

from keyport.demo.data import BERLIN, OWNER_EMAIL
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import audit, demo, folder, staff_page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_overview_leads_to_the_units_filtered_by_state(live_server, browser, demo, audit, folder):  # noqa: F811
    base = live_server.url
    berlin = Location.objects.get(name=BERLIN)
    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.goto(f"{base}/dashboard/")
    row = page.locator(f"#location-{berlin.pk}")
    expect(page.locator(f"#occupancy-{berlin.pk} svg title")).to_have_text(
        f"Occupancy of {BERLIN} at each month-end"
    )
    audit.check(page, "Overview")
    page.screenshot(path=str(folder / "dashboard-overview.png"), full_page=True)

    occupied = row.get_by_role("link", name=f"occupied at {BERLIN}")
    count = int(occupied.inner_text())
    occupied.click()
    expect(page.get_by_role("heading", name=f"Units · {BERLIN}")).to_be_visible()
    expect(page.locator("#units-count")).to_contain_text(f"{count} unit")
    expect(page.locator("#id_state")).to_have_value("occupied")

    page.locator("#id_state").select_option("available")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("tbody tr").first.get_by_text("Available")).to_be_visible()
    audit.check(page, "Units, available")
    page.goto(f"{base}/dashboard/locations/{berlin.pk}/units/")
    page.screenshot(path=str(folder / "dashboard-units.png"))

    page.locator("tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Mapped access points")).to_be_visible()
    audit.check(page, "Unit")
    for path in ("unit-types/", "units/import/", "units/new/"):
        page.goto(f"{base}/dashboard/locations/{berlin.pk}/{path}")
        audit.check(page, path)
    audit.assert_clean()
