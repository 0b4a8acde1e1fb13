"""Import tenants: Check first, the import in the background with its checkpoints, its report,
Send invites, and the files that cannot be imported."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from keyport.access.models import AccessGrant, GrantOrigin
from keyport.audit.models import AuditEntry
from keyport.billing.models import Invoice, InvoiceStatus
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact, Customer, PortalLink
from keyport.emails.models import OutgoingEmail
from keyport.imports import checking, services
from keyport.imports.models import ImportRow, ImportStatus, InvitesStatus, RowOutcome, RowPlan, TenantImport
from tests.factories import ContactFactory, CustomerFactory, UnitFactory, booking_of

pytestmark = pytest.mark.django_db

HEADER = "Customer name,E-Mail,Phone,Unit number,Move-in date,Move-out date,Monthly rent,Balance due\n"


def csv_file(text: str, name: str = "tenants.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def upload(client, location, text: str | bytes, *, contacts: str | None = None, capture=None):
    data = {
        "location": location.pk,
        "file": SimpleUploadedFile("tenants.csv", text if isinstance(text, bytes) else text.encode()),
    }
    if contacts is not None:
        data["contacts_file"] = SimpleUploadedFile("contacts.csv", contacts.encode())
    with capture(execute=True):
        return client.post(reverse("dashboard:import_list"), data)


def start(client, tenant_import, capture):
    with capture(execute=True):
        return client.post(reverse("dashboard:import_start", args=[tenant_import.pk]))


@pytest.fixture
def units(site):
    """A001–A003 of the site, and A004 and A005 free."""
    return {unit.number: unit for unit in [*site.units, UnitFactory(location=site.location, number="A004")]}


def plans(tenant_import):
    return {row.line: (row.plan, row.message) for row in tenant_import.rows.all()}


def test_check_first_reports_every_line_and_writes_nothing(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    existing = ContactFactory(email="known@example.com", customer=CustomerFactory(name="Known Customer"))
    booking_of(CustomerFactory(), [units["A003"]], dt.date(2025, 1, 1))
    text = HEADER + (
        "Ada Lovelace,ada@example.com,+49 30 1,A001,2025-02-01,,85.00,0\n"  # 2: new customer
        "Known Customer,KNOWN@example.com,,A002,01.03.2025,,90,\n"  # 3: matched by email
        "Bob Unknown,bob@example.com,,Z999,2025-02-01,,10,\n"  # 4: unknown unit
        "Carla Taken,carla@example.com,,A003,2025-02-01,,10,\n"  # 5: unit taken
        "Dan Date,dan@example.com,,A004,03/04/2025,,10,\n"  # 6: bad date
        "Ada Lovelace,ada@example.com,+49 30 1,A001,2025-02-01,,85.00,0\n"  # 7: duplicate of 2
        "Eve Twice,eve@example.com,,A001,2025-06-01,,10,\n"  # 8: A001 is line 2's then
    )
    customers, bookings, entries = (
        Customer.objects.count(),
        Booking.objects.count(),
        AuditEntry.objects.count(),
    )

    response = upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)

    tenant_import = TenantImport.objects.get()
    assert response.status_code == 302
    assert tenant_import.status == ImportStatus.CHECKED
    found = plans(tenant_import)
    assert found[2][0] == RowPlan.CREATE_CUSTOMER
    assert found[3][0] == RowPlan.MATCH_CUSTOMER and "Known Customer" in found[3][1]
    assert found[4] == (RowPlan.ERROR, f"unknown unit 'Z999': there is no such unit at {site.location.name}.")
    assert found[5] == (RowPlan.ERROR, "unit A003 is taken on those dates.")
    assert found[6][0] == RowPlan.ERROR and "bad move-in date '03/04/2025'" in found[6][1]
    assert found[7] == (RowPlan.ERROR, "duplicate line: the same as line 2.")
    assert found[8] == (RowPlan.ERROR, "unit A001 is taken on those dates: by line 2.")
    assert tenant_import.rows_total == 2 and tenant_import.errors_count == 5
    assert (Customer.objects.count(), Booking.objects.count()) == (customers, bookings)
    assert set(AuditEntry.objects.values_list("action", flat=True)[entries:]) <= {
        "import.uploaded",
        "import.checked",
    }
    page = owner_client.get(reverse("dashboard:import_detail", args=[tenant_import.pk])).content.decode()
    assert "Check first: what the import will do" in page
    assert 'data-total="error">5<' in page and 'data-total="create_customer">1<' in page
    assert existing.customer.bookings.count() == 0


def test_a_customer_on_two_lines_is_one_customer(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    text = (
        HEADER
        + "Ada Lovelace,ada@example.com,,A001,2025-02-01,,85,\n"
        + "Ada Lovelace,ada@example.com,,A002,2025-02-01,,85,\n"
    )
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()
    assert plans(tenant_import)[3] == (RowPlan.MATCH_CUSTOMER, "The same customer as line 2 (by email).")

    start(owner_client, tenant_import, django_capture_on_commit_callbacks)

    customer = Customer.objects.get(name="Ada Lovelace")
    assert customer.bookings.count() == 2


def test_headers_are_matched_leniently_and_an_unknown_one_asks_for_the_columns(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    lenient = " customer NAME ;EMAIL;Unit-Number;Move In Date\nAda;ada@example.com;A001;2025-02-01\n"
    upload(owner_client, site.location, lenient, capture=django_capture_on_commit_callbacks)
    assert TenantImport.objects.get().status == ImportStatus.CHECKED

    odd = "Mieter,Kontakt,Box,Seit\nAda,ada2@example.com,A002,2025-02-01\n"
    upload(owner_client, site.location, odd, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.first()
    assert tenant_import.status == ImportStatus.MAPPING and not tenant_import.rows.exists()
    page = owner_client.get(reverse("dashboard:import_detail", args=[tenant_import.pk])).content.decode()
    assert "Which column holds what?" in page

    url = reverse("dashboard:import_columns", args=[tenant_import.pk])
    refused = owner_client.post(url, {"name": "0", "email": "1", "unit": "2", "starts_on": "0"})
    tenant_import.refresh_from_db()
    assert refused.status_code == 400 and tenant_import.status == ImportStatus.MAPPING
    assert "Each column holds one field" in refused.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url, {"name": "0", "email": "1", "unit": "2", "starts_on": "3"})
    tenant_import.refresh_from_db()
    assert tenant_import.status == ImportStatus.CHECKED
    assert tenant_import.rows.get().plan == RowPlan.CREATE_CUSTOMER


def test_the_import_books_grants_doors_bills_the_balance_and_emails_nobody(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    text = HEADER + "Ada Lovelace,ada@example.com,+49 30 1,A001,2025-02-01,,85.00,120.50\n"
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()

    start(owner_client, tenant_import, django_capture_on_commit_callbacks)

    tenant_import.refresh_from_db()
    assert tenant_import.status == ImportStatus.DONE
    assert (tenant_import.rows_done, tenant_import.rows_total) == (1, 1)
    customer = Customer.objects.get(name="Ada Lovelace")
    contact = customer.contacts.get()
    assert (contact.email, contact.phone, contact.can_access_portal) == ("ada@example.com", "+49 30 1", True)
    booking = customer.bookings.get()
    assert booking.starts_on == dt.date(2025, 2, 1)
    assert booking.booking_units.get().monthly_rent == Decimal("85.00")
    # The doors of a Move in: A001's door and lock for the customer's portal person.
    grants = AccessGrant.objects.filter(booking=booking, origin=GrantOrigin.BOOKING)
    assert list(grants.values_list("unit__number", flat=True)) == ["A001"]
    invoice = Invoice.objects.get(customer=customer)
    assert (invoice.status, invoice.total, invoice.booking_id) == (
        InvoiceStatus.OPEN,
        Decimal("120.50"),
        booking.pk,
    )
    assert not mail.outbox and not OutgoingEmail.objects.exists() and not PortalLink.objects.exists()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "import.started",
        "import.finished",
        "customer.created",
        "booking.created",
        "invoice.issued",
    } <= actions
    row = tenant_import.rows.get()
    assert (row.outcome, row.customer, row.booking, row.invoice) == (
        RowOutcome.IMPORTED,
        customer,
        booking,
        invoice,
    )


def test_a_line_whose_unit_was_booked_after_the_check_is_not_imported(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    text = HEADER + "Ada Lovelace,ada@example.com,,A001,2025-02-01,,85,\n"
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()
    booking_of(CustomerFactory(), [units["A001"]], dt.date(2025, 1, 1))

    start(owner_client, tenant_import, django_capture_on_commit_callbacks)

    row = tenant_import.rows.get()
    assert row.outcome == RowOutcome.FAILED and "A001" in row.message
    assert not Customer.objects.filter(name="Ada Lovelace").exists(), (
        "the line's customer went with its booking"
    )


def test_an_import_killed_mid_chunk_resumes_and_imports_no_row_twice(
    owner_client, site, units, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.IMPORT_CHUNK_ROWS = 2
    settings.IMPORT_CHECK_CHUNK_LINES = 2
    for number in ("A005", "A006"):
        UnitFactory(location=site.location, number=number)
    lines = [f"Tenant {n},t{n}@example.com,,A00{n},2025-02-01,,50,10" for n in range(1, 7)]
    upload(
        owner_client,
        site.location,
        HEADER + "\n".join(lines) + "\n",
        capture=django_capture_on_commit_callbacks,
    )
    tenant_import = TenantImport.objects.get()
    assert tenant_import.rows_total == 6
    real = services.booking_create
    calls = []

    def dies_on_the_fourth(**kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("the worker is killed")
        return real(**kwargs)

    monkeypatch.setattr(services, "booking_create", dies_on_the_fourth)
    start(owner_client, tenant_import, django_capture_on_commit_callbacks)  # the task fails

    tenant_import.refresh_from_db()
    # The first chunk committed with its checkpoint; the second left nothing behind.
    assert (tenant_import.status, tenant_import.rows_done) == (ImportStatus.IMPORTING, 2)
    assert Booking.objects.filter(note__startswith="Imported").count() == 2
    assert Customer.objects.filter(name__startswith="Tenant").count() == 2
    assert Invoice.objects.count() == 2
    progress = owner_client.get(reverse("dashboard:import_detail", args=[tenant_import.pk])).content.decode()
    assert "2 of 6 rows done" in progress

    monkeypatch.setattr(services, "booking_create", real)
    services.tenant_import_run(import_id=tenant_import.pk)

    tenant_import.refresh_from_db()
    assert (tenant_import.status, tenant_import.rows_done) == (ImportStatus.DONE, 6)
    assert Customer.objects.filter(name__startswith="Tenant").count() == 6
    assert Booking.objects.filter(note__startswith="Imported").count() == 6
    assert Invoice.objects.count() == 6
    assert set(tenant_import.rows.values_list("outcome", flat=True)) == {RowOutcome.IMPORTED}
    # Run once more, as a requeued task would: nothing happens twice.
    services.tenant_import_run(import_id=tenant_import.pk)
    assert Booking.objects.filter(note__startswith="Imported").count() == 6


def test_a_check_killed_mid_chunk_resumes_without_checking_a_line_twice(
    owner_client, site, units, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.IMPORT_CHECK_CHUNK_LINES = 2
    lines = [f"Tenant {n},t{n}@example.com,,A00{n},2025-02-01,,50," for n in range(1, 5)]
    real = checking.fingerprint
    calls = []

    def dies_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker is killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(checking, "fingerprint", dies_on_the_third)
    # The check's task fails on the third line.
    upload(
        owner_client,
        site.location,
        HEADER + "\n".join(lines) + "\n",
        capture=django_capture_on_commit_callbacks,
    )
    tenant_import = TenantImport.objects.get()
    assert (tenant_import.status, tenant_import.lines_checked, tenant_import.rows.count()) == (
        ImportStatus.CHECKING,
        2,
        2,
    )

    checking.tenant_import_check_run(import_id=tenant_import.pk)

    tenant_import.refresh_from_db()
    assert tenant_import.status == ImportStatus.CHECKED
    assert sorted(tenant_import.rows.values_list("line", flat=True)) == [2, 3, 4, 5]


def test_additional_contacts_join_their_customer(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    contacts = (
        "Customer email,Contact name,Email,Phone\n"
        "ada@example.com,Charles Babbage,charles@example.com,+44 1\n"
        "nobody@example.com,Mary Nobody,mary@example.com,\n"
    )
    text = HEADER + "Ada Lovelace,ada@example.com,,A001,2025-02-01,,85,\n"
    upload(owner_client, site.location, text, contacts=contacts, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()
    rows = {(row.kind, row.line): row for row in tenant_import.rows.all()}
    assert rows[("contact", 2)].plan == RowPlan.ADD_CONTACT
    assert rows[("contact", 3)].plan == RowPlan.ERROR
    assert (
        rows[("contact", 3)].message
        == "no customer with the email nobody@example.com in the file nor in Keyport."
    )

    start(owner_client, tenant_import, django_capture_on_commit_callbacks)

    customer = Customer.objects.get(name="Ada Lovelace")
    charles = customer.contacts.get(is_primary=False)
    assert (charles.full_name, charles.email, charles.can_access_portal) == (
        "Charles Babbage",
        "charles@example.com",
        True,
    )
    assert AccessGrant.objects.filter(holder__contact=charles).exists(), (
        "a contact with portal access opens the doors"
    )


def test_send_invites_invites_the_people_the_import_added(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    known = ContactFactory(email="known@example.com")
    text = HEADER + (
        "Ada Lovelace,ada@example.com,,A001,2025-02-01,,85,\n"
        "Known,known@example.com,,A002,2025-02-01,,85,\n"
        "No Mail,,,A004,2025-02-01,,85,\n"
    )
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()
    start(owner_client, tenant_import, django_capture_on_commit_callbacks)
    assert not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("dashboard:import_invites", args=[tenant_import.pk]))

    tenant_import.refresh_from_db()
    assert (tenant_import.invites_status, tenant_import.invites_done, tenant_import.invites_total) == (
        InvitesStatus.SENT,
        1,
        1,
    )
    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
    assert not PortalLink.objects.filter(contact=known).exists()
    assert AuditEntry.objects.filter(action="import.invites_sent").exists()
    again = owner_client.post(reverse("dashboard:import_invites", args=[tenant_import.pk]))
    assert again.status_code == 302 and len(mail.outbox) == 1


def test_invites_go_a_batch_at_a_time_and_resume(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    lines = [f"Tenant {n},t{n}@example.com,,A00{n},2025-02-01,,50," for n in range(1, 4)]
    upload(
        owner_client,
        site.location,
        HEADER + "\n".join(lines) + "\n",
        capture=django_capture_on_commit_callbacks,
    )
    tenant_import = TenantImport.objects.get()
    start(owner_client, tenant_import, django_capture_on_commit_callbacks)
    tenant_import.refresh_from_db()
    owner = tenant_import.created_by
    services.tenant_import_invites_start(staff=owner, tenant_import=tenant_import)

    with django_capture_on_commit_callbacks(execute=True):
        left = services.tenant_import_invites_send(import_id=tenant_import.pk, limit=2)

    tenant_import.refresh_from_db()
    assert left == 1 and tenant_import.invites_done == 2 and len(mail.outbox) == 2
    assert tenant_import.invites_status == InvitesStatus.SENDING
    with django_capture_on_commit_callbacks(execute=True):
        assert services.tenant_import_invites_send(import_id=tenant_import.pk, limit=2) == 0
    tenant_import.refresh_from_db()
    assert tenant_import.invites_status == InvitesStatus.SENT and len(mail.outbox) == 3
    assert services.tenant_import_invites_send(import_id=tenant_import.pk, limit=2) == 0
    assert len(mail.outbox) == 3


def test_windows_1252_and_a_byte_order_mark_are_both_read(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    text = HEADER + "Jürgen Müller,jm@example.com,,A001,2025-02-01,,85,\n"
    upload(owner_client, site.location, text.encode("cp1252"), capture=django_capture_on_commit_callbacks)
    upload(owner_client, site.location, text.encode("utf-8-sig"), capture=django_capture_on_commit_callbacks)
    windows, bom = TenantImport.objects.order_by("pk")
    assert (windows.encoding, bom.encoding) == ("cp1252", "utf-8-sig")
    assert windows.rows.get().name == bom.rows.get().name == "Jürgen Müller"
    assert bom.headers[0] == "Customer name"


def test_a_semicolon_separated_file_with_decimal_commas(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    text = (
        "Kunde;E-Mail;Telefon;Einheit;Einzug;Auszug;Miete;Offen\n"
        "Jürgen Müller;jm@example.com;;A001;01.02.2025;31.12.2025;85,50;1.234,56\n"
    )
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    row = TenantImport.objects.get().rows.get()
    assert (row.plan, row.monthly_rent, row.balance_due) == (
        RowPlan.CREATE_CUSTOMER,
        Decimal("85.50"),
        Decimal("1234.56"),
    )
    assert (row.starts_on, row.ends_on) == (dt.date(2025, 2, 1), dt.date(2025, 12, 31))


def test_a_cell_of_10_mb_refuses_the_whole_file(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    text = (
        HEADER
        + "Ada,ada@example.com,,A001,2025-02-01,,85,\n"
        + "Bob,"
        + "x" * 10_000_000
        + ",,A002,2025-02-01,,85,\n"
    )
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()
    assert tenant_import.status == ImportStatus.REFUSED
    assert (
        tenant_import.problem == "The file cannot be read: Line 3: a cell is longer than 131072 characters."
    )
    assert not tenant_import.rows.exists()
    start(owner_client, tenant_import, django_capture_on_commit_callbacks)
    assert not Customer.objects.filter(name="Ada").exists()
    page = owner_client.get(reverse("dashboard:import_detail", args=[tenant_import.pk])).content.decode()
    assert "This file cannot be imported." in page


def test_two_million_lines_are_refused_beside_the_file(
    owner_client, site, django_capture_on_commit_callbacks
):
    text = HEADER.encode() + b"Ada,,,A001,2025-02-01,,,\n" * 2_000_000
    response = upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "more than 200,000 lines" in response.content.decode()
    assert not TenantImport.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\x81\x8d\x8f\x90\x9d\xff\xfe\x00", "The file is not text; save it as CSV (UTF-8)."),
        (b"\n\n", "The file is empty: its first line names the columns."),
    ],
)
def test_a_file_that_is_no_csv_is_refused_beside_the_file(
    owner_client, site, data, message, django_capture_on_commit_callbacks
):
    response = upload(owner_client, site.location, data, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400 and message in response.content.decode()
    assert not TenantImport.objects.exists()


def test_formulas_are_never_run_nor_written_back_as_formulas(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    formula = '=HYPERLINK("http://evil.example/","Click")'
    quoted = formula.replace('"', '""')
    text = (
        HEADER + f'"{quoted}",ada@example.com,,A001,2025-02-01,,85,\n+cmd,bob@example.com,,Z1,2025-02-01,,,\n'
    )
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()

    report = owner_client.get(reverse("dashboard:import_report", args=[tenant_import.pk]))
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert lines[1][5] == "'" + formula and lines[2][5] == "'+cmd"
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines[1:] for cell in line)
    page = owner_client.get(reverse("dashboard:import_detail", args=[tenant_import.pk])).content.decode()
    assert "=HYPERLINK(&quot;http://evil.example/&quot;" in page


def test_the_progress_bar_polls_while_running_and_reloads_on_a_new_phase(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    text = HEADER + "Ada Lovelace,ada@example.com,,A001,2025-02-01,,85,\n"
    upload(owner_client, site.location, text, capture=django_capture_on_commit_callbacks)
    tenant_import = TenantImport.objects.get()
    TenantImport.objects.filter(pk=tenant_import.pk).update(
        status=ImportStatus.IMPORTING, rows_done=0, rows_total=1
    )
    url = reverse("dashboard:import_progress", args=[tenant_import.pk])

    running = owner_client.get(url, {"shown": "importing/"})
    assert running.status_code == 200 and "HX-Refresh" not in running.headers
    body = running.content.decode()
    assert 'hx-trigger="every 2s"' in body and "0 of 1 rows done" in body and "<script" not in body

    TenantImport.objects.filter(pk=tenant_import.pk).update(status=ImportStatus.DONE, rows_done=1)
    done = owner_client.get(url, {"shown": "importing/"})
    assert done.headers["HX-Refresh"] == "true"
    assert "hx-trigger" not in done.content.decode()


@pytest.mark.parametrize("role_client", ["manager_client", "employee_client"])
def test_only_owners_import(request, role_client, owner, site, units, django_capture_on_commit_callbacks):
    client = request.getfixturevalue(role_client)
    tenant_import = TenantImport.objects.create(
        location=site.location,
        created_by=owner,
        file="imports/x.csv",
        file_name="x.csv",
        status=ImportStatus.CHECKED,
    )
    ImportRow.objects.create(
        tenant_import=tenant_import,
        line=2,
        plan=RowPlan.CREATE_CUSTOMER,
        fingerprint="x",
        name="Ada",
        unit=units["A001"],
    )
    TenantImport.objects.filter(pk=tenant_import.pk).update(rows_total=1)
    posted = upload(
        client,
        site.location,
        HEADER + "Ada,,,A001,2025-02-01,,,\n",
        capture=django_capture_on_commit_callbacks,
    )
    assert posted.status_code == 403
    for name in ("import_list", "import_detail", "import_progress", "import_report"):
        args = [] if name == "import_list" else [tenant_import.pk]
        assert client.get(reverse(f"dashboard:{name}", args=args)).status_code == 403
    for name in ("import_start", "import_invites", "import_columns"):
        assert client.post(reverse(f"dashboard:{name}", args=[tenant_import.pk])).status_code == 403
    tenant_import.refresh_from_db()
    assert TenantImport.objects.count() == 1 and tenant_import.status == ImportStatus.CHECKED
    assert not Booking.objects.exists()


def test_import_tenants_is_in_the_owners_navigation(owner_client, manager_client):
    assert reverse("dashboard:import_list") in owner_client.get(reverse("dashboard:home")).content.decode()
    assert (
        reverse("dashboard:import_list") not in manager_client.get(reverse("dashboard:home")).content.decode()
    )


def test_contact_rows_leave_existing_emails_alone(
    owner_client, site, units, django_capture_on_commit_callbacks
):
    ContactFactory(email="charles@example.com")
    contacts = "Customer email,Name,Email\nada@example.com,Charles Babbage,charles@example.com\n"
    text = HEADER + "Ada Lovelace,ada@example.com,,A001,2025-02-01,,85,\n"
    upload(owner_client, site.location, text, contacts=contacts, capture=django_capture_on_commit_callbacks)
    row = TenantImport.objects.get().rows.get(kind="contact")
    assert (row.plan, row.message) == (RowPlan.ERROR, "another contact already uses charles@example.com.")
    assert Contact.objects.filter(email="charles@example.com").count() == 1
