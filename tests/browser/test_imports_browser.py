"""Import tenants in Chromium: the owner uploads a CSV from the navigation's Import tenants, reads
Check first's report, imports, watches the progress bar (htmx polls it; the page reloads itself when
the import is done) and sends the invites. Each page is clean under axe-core.

With KEYPORT_SCREENSHOTS=1 the pictures go to docs/screenshots/."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from keyport.bookings.models import BookingUnit
from keyport.demo.data import BERLIN, OWNER_EMAIL
from keyport.facilities.models import Location
from keyport.imports import services
from keyport.imports.models import ImportStatus, TenantImport
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import audit, demo, folder, staff_page  # noqa: F401
from tests.factories import UnitFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_checks_imports_and_invites_tenants(live_server, browser, demo, audit, folder, tmp_path):  # noqa: F811
    berlin = Location.objects.get(name=BERLIN)
    for number in range(1, 7):
        UnitFactory(location=berlin, number=f"IMP-{number}")
    taken = BookingUnit.objects.filter(
        unit__location=berlin, is_cancelled=False, ends_on__isnull=True
    ).first()
    assert taken is not None
    csv_file = tmp_path / "tenants-export.csv"
    csv_file.write_text(
        "Kunde;E-Mail;Telefon;Einheit;Einzug;Auszug;Miete;Offen\n"
        "Jürgen Müller;juergen.mueller@example.com;+49 30 1;IMP-1;01.02.2025;;85,50;120,00\n"
        "Anna Schmidt;anna.schmidt@example.com;;IMP-2;2025-03-01;;69,00;\n"
        "Anna Schmidt;anna.schmidt@example.com;;IMP-3;2025-03-01;;49,00;\n"
        "Lena Vogel;lena.vogel@example.com;;IMP-99;2025-03-01;;49,00;\n"
        f"Tom Berger;tom.berger@example.com;;{taken.unit.number};2025-03-01;;49,00;\n"
        "Eva Braun;eva.braun@example.com;;IMP-4;03/01/2025;;49,00;\n"
        "Jürgen Müller;juergen.mueller@example.com;+49 30 1;IMP-1;01.02.2025;;85,50;120,00\n"
        "Paul Weiß;paul.weiss@example.com;;IMP-5;2024-11-15;2026-12-31;59,00;\n",
        encoding="cp1252",
    )
    base = live_server.url
    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.goto(f"{base}/dashboard/")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Import tenants").click()
    expect(page.get_by_role("heading", level=1, name="Import tenants")).to_be_visible()
    audit.check(page, "Import tenants")
    page.get_by_label("Location").select_option(label=BERLIN)
    page.get_by_label("Tenants (CSV)").set_input_files(str(csv_file))
    page.get_by_role("button", name="Check first").click()

    expect(page.get_by_role("heading", name="Check first: what the import will do")).to_be_visible()
    expect(page.locator('[data-total="create_customer"]')).to_have_text("3")
    expect(page.locator('[data-total="match_customer"]')).to_have_text("1")
    expect(page.locator('[data-total="error"]')).to_have_text("4")
    expect(page.locator('tr[data-line="5"]')).to_contain_text("unknown unit 'IMP-99'")
    expect(page.locator('tr[data-line="6"]')).to_contain_text("is taken on those dates")
    expect(page.locator('tr[data-line="8"]')).to_contain_text("duplicate line: the same as line 2.")
    expect(page.locator('tr[data-line="2"]').first).to_contain_text("Jürgen Müller")
    audit.check(page, "Check first report")
    page.screenshot(path=str(folder / "dashboard-import-check.png"), full_page=True)

    # The progress as the worker leaves it mid-import: two of four rows, a minute in.
    tenant_import = TenantImport.objects.get()
    TenantImport.objects.filter(pk=tenant_import.pk).update(
        status=ImportStatus.IMPORTING,
        rows_done=2,
        errors_count=0,
        import_started_at=timezone.now() - dt.timedelta(minutes=1),
    )
    page.reload()
    expect(page.get_by_text("Import: 2 of 4 rows done (50 %)")).to_be_visible()
    expect(page.get_by_text("About 1 minute left.", exact=False)).to_be_visible()
    audit.check(page, "Import progress")
    page.screenshot(path=str(folder / "dashboard-import-progress.png"), full_page=True)

    # The worker goes on from its checkpoint; htmx's next poll sees Imported and reloads the page.
    TenantImport.objects.filter(pk=tenant_import.pk).update(rows_done=0, errors_count=0)
    services.tenant_import_run(import_id=tenant_import.pk)
    expect(page.get_by_role("heading", name="What the import did")).to_be_visible(timeout=15_000)
    expect(page.locator('[data-total="imported"]')).to_have_text("4")
    expect(page.get_by_text("Import: 4 of 4 rows done (100 %)")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    report = download.value.path().read_text()
    assert "Jürgen Müller" in report and "imported" in report

    page.get_by_role("button", name="Send invites").click()
    expect(page.get_by_text("Every invite is sent.")).to_be_visible()
    expect(page.get_by_text("Invites: 3 of 3 sent")).to_be_visible()
    audit.check(page, "Import done, invites sent")
    audit.assert_clean()
