"""Move out on the booking's page in a browser: the form is clean under axe-core, with and without a
refusal beside its field; Move out now ends the booking's access. With KEYPORT_SCREENSHOTS=1 the
picture of the form goes to docs/screenshots/dashboard-move-out.png."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from keyport.access.models import AccessGrant, GrantState
from keyport.bookings.models import Booking
from tests import cast
from tests.browser.test_accessibility import (  # noqa: F401 - audit and folder are fixtures
    Audit,
    audit,
    folder,
    staff_page,
)
from tests.factories import StaffUserFactory, UnitFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_move_out_now_from_the_booking_page(
    live_server,
    browser: Browser,
    audit: Audit,  # noqa: F811
    folder,  # noqa: F811
    site,
    tenant,
) -> None:
    today = timezone.localdate()
    site.set(time_zone="UTC")
    booking = cast.book(tenant, site, starts_on=today - dt.timedelta(days=40))
    cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=6))
    UnitFactory(location=site.location, number="B001")
    page = staff_page(browser, live_server.url, StaffUserFactory())
    page.goto(f"{live_server.url}/dashboard/bookings/{booking.pk}/")

    form = page.locator("#move-out-form")
    expect(form.get_by_label("Move-out date")).to_have_value(today.isoformat())
    expect(form.get_by_label("At the end of the day")).to_be_checked()
    audit.check(page, "Booking with Move out")
    page.locator("#move-out-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(folder / "dashboard-move-out.png"), full_page=True)

    form.get_by_label("Move-out date").fill((today - dt.timedelta(days=1)).isoformat())
    form.get_by_role("button", name="Move out").click()
    expect(page.locator("#id_on-error")).to_have_text("The move-out cannot be in the past.")
    audit.check(page, "Move out refused beside its field")
    assert Booking.objects.get(pk=booking.pk).ends_on is None

    form = page.locator("#move-out-form")
    form.get_by_label("Move-out date").fill(today.isoformat())
    form.get_by_label("Now").check()
    form.get_by_role("button", name="Move out").click()
    expect(page.get_by_text("Moved out: access ended now")).to_be_visible()
    expect(page.locator("#move-out-form")).to_have_count(0)
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()
    audit.assert_clean()
    assert (folder / "dashboard-move-out.png").stat().st_size > 10_000
