import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, AccessPointFactory, LocationFactory, StaffUserFactory, UnitFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_signs_in_and_sees_the_dashboard(live_server, page: Page):
    location = LocationFactory(name="Keyport Self Storage Berlin-Kreuzberg")
    unit = UnitFactory(location=location, number="A001")
    unit.access_points.add(AccessPointFactory(location=location, name="Main gate"))
    StaffUserFactory(email="owner@demo.keyport.test", full_name="Olivia Owner")

    page.goto(f"{live_server.url}/dashboard/")
    expect(page).to_have_url(f"{live_server.url}/dashboard/login/?next=/dashboard/")
    page.get_by_label("Email").fill("owner@demo.keyport.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("Olivia Owner")).to_be_visible()
    site = page.get_by_role("link", name="Keyport Self Storage Berlin-Kreuzberg", exact=True)
    expect(site).to_be_visible()

    site.click()
    page.get_by_role("link", name="Units", exact=True).click()
    expect(page.get_by_role("cell", name="A001 Storage unit")).to_be_visible()
    expect(page.get_by_text("Main gate")).to_be_visible()


def test_wrong_password_is_told_beside_the_form(live_server, page: Page):
    StaffUserFactory(email="owner@demo.keyport.test")
    page.goto(f"{live_server.url}/dashboard/login/")
    page.get_by_label("Email").fill("owner@demo.keyport.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct email and password")
