"""The staff pages of billing, documents, events and cars, through real URLs."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from keyport.audit.models import AuditEntry
from keyport.billing.models import BillingProfile, BillingSettings, Invoice, InvoiceStatus
from keyport.cars.models import Car
from keyport.contacts.models import CustomerKind
from keyport.documents.models import Document
from keyport.events.models import Event, Ticket, TicketStatus
from keyport.facilities.models import UnitKind
from keyport.staff.models import Role
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def location():
    return LocationFactory(name="Berlin", time_zone="Europe/Berlin")


@pytest.fixture
def customer(location):
    return CustomerFactory(home_location=location, name="Mara Schneider")


def open_day(location):
    return Event.objects.create(
        location=location,
        title="Open day",
        starts_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
        place="Yard",
        capacity=5,
    )


def test_invoice_from_draft_to_paid(location, customer, staff_client):
    client = staff_client(Role.MANAGER, location)
    booking = booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 1, 1))
    response = client.post(
        reverse("dashboard:invoice_create", args=[location.pk]),
        {
            "customer": customer.pk,
            "booking": booking.pk,
            "due_on": "2026-03-01",
            "lines-TOTAL_FORMS": "3",
            "lines-INITIAL_FORMS": "0",
            "lines-0-description": "Unit rent, March",
            "lines-0-quantity": "1",
            "lines-0-unit_price": "100.00",
            "lines-0-tax_rate": "19",
            "lines-1-quantity": "1",
            "lines-1-tax_rate": "0",
            "lines-2-quantity": "1",
            "lines-2-tax_rate": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()
    invoice = Invoice.objects.get()
    assert invoice.total == Decimal("119.00") and invoice.booking == booking
    client.post(reverse("dashboard:invoice_issue", args=[invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.number == "INV-00001"
    client.post(
        reverse("dashboard:payment_record", args=[invoice.pk]),
        {"amount": "119.00", "received_on": "2026-02-20", "method": "card"},
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    page = client.get(reverse("dashboard:invoice_detail", args=[invoice.pk])).content.decode()
    assert "Paid" in page and "119.00 EUR" in page
    pdf = client.get(reverse("dashboard:invoice_pdf", args=[invoice.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")


def test_employees_read_invoices_but_record_no_payments(location, customer, staff_client):
    from keyport.audit.services import Actor
    from keyport.billing.services import LineInput, invoice_create, invoice_issue

    actor = Actor.system("tests")
    invoice = invoice_create(
        actor=actor,
        location=location,
        customer=customer,
        due_on=dt.date(2026, 3, 1),
        lines=[LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("10"))],
    )
    invoice_issue(actor=actor, invoice=invoice)
    client = staff_client(Role.EMPLOYEE, location)
    assert client.get(reverse("dashboard:invoice_detail", args=[invoice.pk])).status_code == 200
    url = reverse("dashboard:payment_record", args=[invoice.pk])
    assert (
        client.post(url, {"amount": "10.00", "received_on": "2026-02-20", "method": "card"}).status_code
        == 403
    )
    assert (
        client.post(
            reverse("dashboard:customer_lockout_exempt", args=[customer.pk]), {"exempt": "1"}
        ).status_code
        == 403
    )
    assert not BillingProfile.objects.exists()


def test_only_owners_change_billing_settings(location, staff_client):
    client = staff_client(Role.MANAGER, location)
    assert client.get(reverse("dashboard:billing_settings", args=[location.pk])).status_code == 403
    client = staff_client(Role.OWNER)
    response = client.post(
        reverse("dashboard:billing_settings", args=[location.pk]),
        {
            **RENT_RULES,
            "currency": "eur",
            "invoice_prefix": "BER",
            "grace_days": "7",
            "lockout_enabled": "on",
        },
    )
    assert response.status_code == 302
    assert location.billing_settings.grace_days == 7


RENT_RULES = {
    "vat_rate": "19",
    "billing_anchor": "first_of_month",
    "issue_days_before": "10",
    "reminder_days_after": "5",
    "lock_warning_days": "4",
}


def test_owners_set_how_rent_is_billed_and_a_wrong_rate_changes_nothing(location, staff_client):
    client = staff_client(Role.OWNER)
    url = reverse("dashboard:billing_settings", args=[location.pk])
    form = {"currency": "EUR", "invoice_prefix": "BER", "grace_days": "14", "lockout_enabled": "on"}
    assert client.post(url, {**form, **RENT_RULES}).status_code == 302
    rules = BillingSettings.objects.get(location=location)
    assert (rules.vat_rate, rules.billing_anchor, rules.issue_days_before) == (
        Decimal("19"),
        "first_of_month",
        10,
    )
    assert (rules.reminder_days_after, rules.lock_warning_days) == (5, 4)
    assert AuditEntry.objects.filter(action="billing.settings_updated").exists()
    refused = client.post(url, {**form, **RENT_RULES, "vat_rate": "150", "issue_days_before": "7"})
    assert refused.status_code == 400
    assert "Ensure this value is less than or equal to 100" in refused.content.decode()
    rules.refresh_from_db()
    assert (rules.vat_rate, rules.issue_days_before) == (Decimal("19"), 10)


def test_document_upload_and_download_for_staff(location, customer, staff_client):
    client = staff_client(Role.MANAGER, location)
    url = reverse("dashboard:customer_documents", args=[customer.pk])
    pdf = SimpleUploadedFile("lease.pdf", b"%PDF-1.7 lease", content_type="application/pdf")
    response = client.post(url, {"file": pdf, "title": "Lease", "visible_to_customer": "on"})
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.visible_to_customer
    download = client.get(reverse("dashboard:document_download", args=[customer.pk, document.pk]))
    assert b"".join(download.streaming_content) == b"%PDF-1.7 lease"
    assert "attachment" in download["Content-Disposition"]
    fake = SimpleUploadedFile("evil.pdf", b"<html><script>", content_type="application/pdf")
    refused = client.post(url, {"file": fake})
    assert refused.status_code == 400 and "Only PDF" in refused.content.decode()


def test_employees_cannot_upload_documents(location, customer, staff_client):
    client = staff_client(Role.EMPLOYEE, location)
    pdf = SimpleUploadedFile("lease.pdf", b"%PDF-1.7 lease", content_type="application/pdf")
    response = client.post(reverse("dashboard:customer_documents", args=[customer.pk]), {"file": pdf})
    assert response.status_code == 403
    assert not Document.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="document.").exists()


def test_event_created_in_the_locations_time_zone(location, staff_client):
    client = staff_client(Role.MANAGER, location)
    response = client.post(
        reverse("dashboard:event_create"),
        {
            "location": location.pk,
            "title": "Open day",
            "starts_at": "2026-07-04T10:00",
            "place": "Yard",
            "capacity": "20",
            "rsvp_deadline": "2026-07-03T18:00",
        },
    )
    assert response.status_code == 302
    event = Event.objects.get()
    assert event.starts_at == dt.datetime(2026, 7, 4, 8, 0, tzinfo=dt.UTC)  # 10:00 in Berlin, summer time


def test_employees_may_invite_but_not_check_in(location, django_capture_on_commit_callbacks, staff_client):
    event = open_day(location)
    client = staff_client(Role.EMPLOYEE, location)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("dashboard:event_invite", args=[event.pk]), {"emails": "ann@example.com, bo@example.com"}
        )
    assert Ticket.objects.count() == 2
    ticket = Ticket.objects.first()
    assert ticket is not None
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.GOING)
    url = reverse("dashboard:ticket_check_in", args=[event.pk, ticket.pk])
    assert client.post(url).status_code == 403
    client = staff_client(Role.MANAGER, location)
    client.post(reverse("dashboard:ticket_check_in_by_code", args=[event.pk]), {"code": ticket.code})
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None
    page = client.get(reverse("dashboard:event_detail", args=[event.pk])).content.decode()
    assert "ann@example.com" in page and "Ticket-only (lead)" in page


def test_invitations_read_addresses_as_share_access_does_and_a_bad_one_invites_nobody(location, staff_client):
    event = open_day(location)
    client = staff_client(Role.EMPLOYEE, location)
    url = reverse("dashboard:event_invite", args=[event.pk])
    response = client.post(url, {"emails": "ann@example.com; nope, bo@example.com"}, follow=True)
    assert "Not a valid email address: nope." in response.content.decode()
    assert not Ticket.objects.exists()

    client.post(url, {"emails": "Ann@Example.com; bo@example.com\nann@example.com"})
    assert sorted(Ticket.objects.values_list("contact__email", flat=True)) == [
        "ann@example.com",
        "bo@example.com",
    ]


def test_a_search_or_ticket_code_with_a_nul_character_is_refused_not_a_server_error(
    location, customer, staff_client
):
    # PostgreSQL refuses text with NUL in it: such input must not reach the database.
    event = open_day(location)
    client = staff_client(Role.MANAGER, location)
    response = client.post(reverse("dashboard:ticket_check_in_by_code", args=[event.pk]), {"code": "A\x00"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).content.decode()
    assert "No ticket of this event has that code." in page
    CarFactory(customer=customer, plate="B XY 12")
    assert "B XY 12" in client.get(reverse("dashboard:car_list"), {"q": " xy "}).content.decode()
    assert client.get(reverse("dashboard:car_list"), {"q": "B\x00"}).status_code == 200


def test_staff_convert_a_lead(location, staff_client):
    lead = CustomerFactory(home_location=location, kind=CustomerKind.LEAD)
    ContactFactory(customer=lead)
    client = staff_client(Role.MANAGER, location)
    assert lead.name in client.get(reverse("dashboard:lead_list")).content.decode()
    client.post(reverse("dashboard:lead_convert", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.kind == CustomerKind.STORAGE


STAFF_KINDS = [
    pytest.param(Role.OWNER, False, True, id="owner"),
    pytest.param(Role.MANAGER, False, True, id="manager-of-the-location"),
    pytest.param(Role.MANAGER, True, True, id="manager-of-all-locations"),
    pytest.param(Role.EMPLOYEE, False, False, id="employee-of-the-location"),
    pytest.param(Role.EMPLOYEE, True, False, id="employee-of-all-locations"),
]


def _signed_in(client, location, role, all_locations):
    user = StaffUserFactory(role=role, all_locations=all_locations)
    if role != Role.OWNER and not all_locations:
        user.locations.add(location)
    client.force_login(user)
    return user


@pytest.mark.parametrize(("role", "all_locations", "may_convert"), STAFF_KINDS)
def test_the_convert_button_shows_exactly_to_those_whose_convert_is_allowed(
    client, location, role, all_locations, may_convert
):
    lead = CustomerFactory(home_location=location, kind=CustomerKind.LEAD)
    ContactFactory(customer=lead)
    _signed_in(client, location, role, all_locations)
    page = client.get(reverse("dashboard:lead_list")).content.decode()
    assert lead.name in page
    assert ("Convert to customer" in page) is may_convert
    response = client.post(reverse("dashboard:lead_convert", args=[lead.pk]))
    lead.refresh_from_db()
    if may_convert:
        assert response.status_code == 302
        assert lead.kind == CustomerKind.STORAGE
    else:
        assert response.status_code == 403
        assert lead.kind == CustomerKind.LEAD
        assert not AuditEntry.objects.filter(action="lead.converted").exists()


def test_an_owner_is_offered_no_convert_for_a_lead_whose_location_is_gone(client, location):
    """Convert needs the lead's home location: one at home nowhere is neither listed nor converted."""
    gone = CustomerFactory(home_location=None, kind=CustomerKind.LEAD, name="Nowhere Lead")
    _signed_in(client, location, Role.OWNER, False)
    page = client.get(reverse("dashboard:lead_list")).content.decode()
    assert "Nowhere Lead" not in page
    assert "Convert to customer" not in page
    assert client.post(reverse("dashboard:lead_convert", args=[gone.pk])).status_code == 404
    gone.refresh_from_db()
    assert gone.kind == CustomerKind.LEAD


@pytest.mark.parametrize(("role", "all_locations", "may_invoice"), STAFF_KINDS)
def test_the_invoice_list_offers_new_invoice_and_billing_settings_exactly_where_allowed(
    client, location, role, all_locations, may_invoice
):
    _signed_in(client, location, role, all_locations)
    page = client.get(reverse("dashboard:invoice_list")).content.decode()
    create = client.get(reverse("dashboard:invoice_create", args=[location.pk]))
    settings_page = client.get(reverse("dashboard:billing_settings", args=[location.pk]))
    assert ("New invoice · Berlin" in page) is may_invoice is (create.status_code == 200)
    assert ("Billing settings · Berlin" in page) is (role == Role.OWNER) is (settings_page.status_code == 200)


def test_assign_car_and_move_vehicle_from_the_list(location, customer, staff_client):
    first = UnitFactory(location=location, kind=UnitKind.PARKING_BAY, number="P001")
    second = UnitFactory(location=location, kind=UnitKind.PARKING_BAY, number="P002")
    car = CarFactory(customer=customer)
    client = staff_client(Role.MANAGER, location)
    page = client.get(reverse("dashboard:car_list")).content.decode()
    assert "Assign Car" in page
    client.post(reverse("dashboard:car_assign", args=[car.pk]), {"bay": first.pk})
    assert Car.objects.get().bay == first
    assert "Move Vehicle" in client.get(reverse("dashboard:car_list")).content.decode()
    client.post(reverse("dashboard:car_move", args=[car.pk]), {"bay": second.pk})
    assert Car.objects.get().bay == second


def test_car_list_query_count_does_not_grow(location, customer, django_assert_num_queries, staff_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = staff_client(Role.MANAGER, location)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("dashboard:car_list")).status_code == 200
        return len(queries)

    CarFactory(customer=customer, bay=UnitFactory(location=location, kind=UnitKind.PARKING_BAY))
    few = count()
    for _ in range(10):
        CarFactory(customer=customer, bay=UnitFactory(location=location, kind=UnitKind.PARKING_BAY))
    assert count() == few


def test_car_photos_are_served_only_through_the_view(location, customer, staff_client):
    car = CarFactory(customer=customer)
    client = staff_client(Role.MANAGER, location)
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "blue").save(buffer, format="PNG")
    client.post(
        reverse("dashboard:car_photo_add", args=[car.pk]),
        {"image": SimpleUploadedFile("car.png", buffer.getvalue(), content_type="image/png")},
    )
    photo = car.photos.get()
    response = client.get(reverse("dashboard:car_photo", args=[car.pk, photo.pk]) + "?size=thumbnail")
    assert response["Content-Type"] == "image/jpeg"
    other = CarFactory(customer=customer)
    assert client.get(reverse("dashboard:car_photo", args=[other.pk, photo.pk])).status_code == 404


def test_staff_add_a_car_with_a_vin_and_see_the_check_digit_warning(location, customer, staff_client):
    client = staff_client(Role.MANAGER, location)
    url = reverse("dashboard:car_create", args=[customer.pk])
    refused = client.post(url, {"make": "Ford", "model": "T", "plate": "B X 1", "vin": "1M8GDM9AXKP04278O"})
    assert refused.status_code == 400 and "I, O and Q" in refused.content.decode()
    response = client.post(
        url, {"make": "Ford", "model": "T", "plate": "B X 1", "vin": "1M8GDM9A1KP042788"}, follow=True
    )
    assert "check digit does not match" in response.content.decode()
    assert Car.objects.get().vin == "1M8GDM9A1KP042788"


def test_employees_add_no_cars(location, customer, staff_client):
    client = staff_client(Role.EMPLOYEE, location)
    response = client.post(
        reverse("dashboard:car_create", args=[customer.pk]), {"make": "A", "model": "B", "plate": "C"}
    )
    assert response.status_code == 403
    assert not Car.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="car.").exists()


def test_a_payment_is_received_today_in_the_invoices_location(customer, staff_client):
    from keyport.audit.services import Actor
    from keyport.billing.services import LineInput, invoice_create, invoice_issue

    tokyo = LocationFactory(name="Tokyo", time_zone="Asia/Tokyo")
    client = staff_client(Role.MANAGER, tokyo)
    actor = Actor.system("tests")
    rent = LineInput(
        description="Rent", quantity=Decimal("1"), unit_price=Decimal("50"), tax_rate=Decimal("0")
    )
    invoice = invoice_issue(
        actor=actor,
        invoice=invoice_create(
            actor=actor, location=tokyo, customer=customer, due_on=dt.date(2026, 3, 31), lines=[rent]
        ),
    )
    with time_machine.travel(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), tick=False):  # 2 March in Tokyo
        page = client.get(reverse("dashboard:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'name="received_on" value="2026-03-02"' in page


def test_the_upload_form_offers_only_bookings_at_the_staff_members_locations(
    location, customer, staff_client
):
    client = staff_client(Role.MANAGER, location)
    here = booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 1, 1))
    elsewhere = booking_of(customer, [UnitFactory(location=LocationFactory())], dt.date(2026, 1, 1))
    url = reverse("dashboard:customer_documents", args=[customer.pk])
    page = client.get(url).content.decode()
    assert f'value="{here.pk}"' in page and f'value="{elsewhere.pk}"' not in page
    pdf = SimpleUploadedFile("lease.pdf", b"%PDF-1.7 lease", content_type="application/pdf")
    refused = client.post(url, {"file": pdf, "booking": elsewhere.pk})
    assert refused.status_code == 400 and not Document.objects.exists()
