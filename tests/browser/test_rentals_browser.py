"""Rentals in a browser: the demo's bookings with their phases, a search that narrows the list as
one types (htmx) and still works as a plain form, Move-ins today, and a clean axe-core audit.

With KEYPORT_SCREENSHOTS=1 the picture goes to docs/screenshots/dashboard-rentals.png."""

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from keyport.contacts.models import Contact
from keyport.demo.data import BERLIN, OWNER_EMAIL, TENANT_EMAIL
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import (  # noqa: F401 - fixtures, used by name
    audit,
    demo,
    folder,
    staff_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rentals_list_search_and_todays_move_ins_pass_axe(live_server, browser, demo, audit, folder):  # noqa: F811
    base = live_server.url
    tenant = Contact.objects.select_related("customer").get(email=TENANT_EMAIL)
    berlin = Location.objects.get(name=BERLIN)
    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))

    page.goto(f"{base}/dashboard/")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Rentals").click()
    table = page.get_by_role("table", name="Rentals")
    expect(table).to_contain_text(tenant.customer.name)
    expect(table).to_contain_text("Current")
    audit.check(page, "Rentals across locations")
    page.screenshot(path=str(folder / "dashboard-rentals.png"))

    page.goto(f"{base}/dashboard/locations/{berlin.pk}/rentals/")
    page.get_by_role("textbox", name="Search").fill(tenant.customer.name)
    # htmx swaps the results as one types; the address follows, so the search can be shared.
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(quote(tenant.customer.name))))
    rows = table.locator("tbody tr")
    expect(rows.first).to_contain_text(tenant.customer.name)
    for text in rows.all_inner_texts():
        assert tenant.customer.name in text
    audit.check(page, "Rentals of a location, searched")

    page.get_by_role("link", name="Move-ins today").click()
    expect(page.get_by_role("status").first).to_be_visible()
    audit.check(page, "Rentals: Move-ins today")

    page.goto(f"{base}/dashboard/locations/{berlin.pk}/rentals/?q={tenant.email}")
    table.get_by_role("link", name=tenant.customer.name).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(tenant.customer.name)
    audit.assert_clean()
