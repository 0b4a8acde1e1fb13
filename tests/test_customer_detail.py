"""The customer page: Personal & Contact, Contacts, Bookings with their access and
shares, Cars, Documents, Billing, CRM Information, Activity, Portal check; roles and scope."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyport.access.models import AccessGrant, GrantState, SharedAccess, ShareState, SyncState
from keyport.access.services import ShareRequest, share_create
from keyport.audit.models import ActorKind, AuditEntry
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.contacts.models import Contact, Customer
from keyport.contacts.services import invite_send
from keyport.documents.models import Document
from keyport.facilities.models import AccessPoint, Location, UnitAccessPoint, UnitKind
from keyport.frontdesk.services import booking_create
from keyport.staff.models import Role
from tests.factories import (
    AccessPointFactory,
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def berlin() -> Location:
    return LocationFactory(name="Lager Kreuzberg", time_zone="Europe/Berlin", street="Köpenicker Str. 1")


@pytest.fixture
def tenant(berlin) -> Contact:
    """Mara, the primary contact of a storage tenant at Lager Kreuzberg."""
    customer = CustomerFactory(name="Mara Schneider", home_location=berlin)
    return ContactFactory(
        customer=customer,
        first_name="Mara",
        last_name="Schneider",
        email="mara@example.com",
        phone="+49 30 5550 1010",
    )


@pytest.fixture
def partner(tenant) -> Contact:
    """Jonas, Mara's additional contact."""
    return ContactFactory(
        customer=tenant.customer,
        is_primary=False,
        first_name="Jonas",
        last_name="Schneider",
        email="jonas@example.com",
    )


def book(customer: Customer, location: Location, numbers: list[str], starts_on: dt.date):
    """A booking of new units, each mapped to the location's door so that it can be shared."""
    door = AccessPoint.objects.filter(location=location).first() or AccessPointFactory(location=location)
    units = [UnitFactory(location=location, number=number) for number in numbers]
    for unit in units:
        UnitAccessPoint.objects.create(unit=unit, access_point=door)
    return booking_create(actor=SYSTEM, customer=customer, units=units, starts_on=starts_on)


def share(booking, shared_by: Contact, email: str, starts_on: dt.date, ends_on: dt.date) -> SharedAccess:
    request = ShareRequest(
        emails=[email], units=list(booking.units.all())[:1], starts_on=starts_on, ends_on=ends_on
    )
    return share_create(actor=SYSTEM, booking=booking, shared_by=shared_by, request=request)[0]


@pytest.fixture
def booking(tenant, berlin):
    """Mara's booking of A010 and A011 since 1 March, shared with a friend for a week."""
    booking = book(tenant.customer, berlin, ["A010", "A011"], dt.date(2026, 3, 1))
    share(booking, tenant, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 10))
    return booking


def signed_in(client, role=Role.OWNER, location=None):
    user = StaffUserFactory(role=role)
    if location is not None:
        user.locations.add(location)
    client.force_login(user)
    return user


def page_of(client, customer: Customer) -> str:
    response = client.get(reverse("dashboard:customer_detail", args=[customer.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(page: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by this heading."""
    start = page.index(f'aria-labelledby="{heading_id}"')
    return page[start : page.index("</section>", start)]


def booking_block(page: str, booking) -> str:
    start = page.index(f'data-booking="{booking.pk}"')
    return page[start : page.index("</article>", start)]


# Personal & Contact, Contacts ------------------------------------------------------------------------


def test_personal_and_contact_shows_the_primary_contacts_details(client, tenant, partner):
    signed_in(client)
    personal = section(page_of(client, tenant.customer), "personal-heading")
    assert "Personal &amp; Contact" in personal
    assert "Mara Schneider" in personal
    assert 'href="mailto:mara@example.com"' in personal
    assert "+49 30 5550 1010" in personal
    assert "Customer since" in personal and tenant.customer.created_at.strftime("%Y-%m-%d") in personal
    assert "Lager Kreuzberg" in personal and "Köpenicker Str. 1" in personal
    assert "jonas@example.com" not in personal


def test_contacts_lists_additional_contacts_each_with_an_edit_contact_dialog(client, tenant, partner):
    signed_in(client)
    page = page_of(client, tenant.customer)
    contacts = section(page, "contacts-heading")
    assert "Jonas Schneider" in contacts and "Additional contact" in contacts
    assert f'data-bs-target="#edit-contact-{partner.pk}"' in contacts
    assert f'id="edit-contact-{partner.pk}"' in page and "Edit Contact" in page


# Bookings --------------------------------------------------------------------------------------------


def test_a_booking_shows_units_dates_status_and_its_shares_in_the_locations_time_zone(
    client, tenant, booking
):
    signed_in(client)
    block = booking_block(page_of(client, tenant.customer), booking)
    assert f"Booking #{booking.pk}" in block and "A010, A011" in block
    assert "from 2026-03-01, open-ended" in block and "Current" in block
    assert "windows in Europe/Berlin" in block
    assert "friend@example.com" in block and "2026-03-04 – 2026-03-10" in block
    assert "Revoke access" in block and "Active" in block


def test_a_booking_shows_its_grants_provider_sync_state_and_last_error(client, tenant, booking):
    grants = list(AccessGrant.objects.filter(booking=booking).order_by("pk"))
    AccessGrant.objects.filter(pk=grants[0].pk).update(
        sync_state=SyncState.FAILED, sync_error="Sensorberg answered 503"
    )
    AccessGrant.objects.filter(pk=grants[1].pk).update(sync_state=SyncState.PENDING)
    signed_in(client)
    block = booking_block(page_of(client, tenant.customer), booking)
    assert "1 Failed" in block and "1 Pending" in block and f"{len(grants) - 2} Synced" in block
    assert "Sensorberg answered 503" in block
    assert block.index("1 Failed") < block.index("1 Pending") < block.index("Synced")


def test_revoke_access_from_the_customer_page_revokes_grants_and_shares_and_comes_back(
    client, tenant, booking
):
    signed_in(client)
    customer_page = reverse("dashboard:customer_detail", args=[tenant.customer_id])
    back = f"{customer_page}#booking-{booking.pk}"
    response = client.post(
        reverse("dashboard:booking_revoke", args=[booking.pk]),
        {"reason": "Payment overdue", "next": back, "confirm": "1"},
    )
    assert response.status_code == 302 and response.headers["Location"] == back
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()
    assert SharedAccess.objects.get(booking=booking).state == ShareState.REVOKED
    block = booking_block(page_of(client, tenant.customer), booking)
    assert "Revoked" in block and "Payment overdue" in block and "Restore access" in block
    assert "Revoke access" not in block

    response = client.post(reverse("dashboard:booking_restore", args=[booking.pk]), {"next": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    assert AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()
    assert SharedAccess.objects.get(booking=booking).state == ShareState.ACTIVE


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_revoke_and_restore_never_follow_a_next_that_leaves_the_site(client, tenant, booking, next_url):
    signed_in(client)
    booking_page = reverse("dashboard:booking_detail", args=[booking.pk])
    revoke = client.post(
        reverse("dashboard:booking_revoke", args=[booking.pk]),
        {"reason": "Moved out", "next": next_url, "confirm": "1"},
    )
    assert revoke.headers["Location"] == booking_page
    restore = client.post(reverse("dashboard:booking_restore", args=[booking.pk]), {"next": next_url})
    assert restore.headers["Location"] == booking_page


def test_revoke_without_a_reason_is_refused_beside_the_field(client, tenant, booking):
    signed_in(client)
    response = client.post(
        reverse("dashboard:booking_revoke", args=[booking.pk]), {"reason": " ", "next": "/dashboard/"}
    )
    assert response.status_code == 400 and "is-invalid" in response.content.decode()
    assert AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()


# Cars, Documents, Billing ----------------------------------------------------------------------------


def test_cars_lists_the_customers_cars_with_their_bays(client, tenant, berlin):
    bay = UnitFactory(location=berlin, number="P007", kind=UnitKind.PARKING_BAY)
    car = CarFactory(customer=tenant.customer, make="Volvo", model="P1800", plate="B MS 1800", bay=bay)
    CarFactory(customer=CustomerFactory(), make="Jaguar", model="E-Type")
    signed_in(client)
    cars = section(page_of(client, tenant.customer), "cars-heading")
    assert "Volvo P1800 (B MS 1800)" in cars and "bay P007 at Lager Kreuzberg" in cars
    assert reverse("dashboard:car_detail", args=[car.pk]) in cars
    assert "Jaguar" not in cars


def test_documents_lists_the_customers_documents_with_their_visibility(client, tenant):
    lease = Document.objects.create(
        customer=tenant.customer,
        title="Lease 2026",
        file="documents/lease.pdf",
        original_name="lease.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by="tests",
        visible_to_customer=True,
    )
    Document.objects.create(
        customer=tenant.customer,
        title="ID copy",
        file="documents/id.pdf",
        original_name="id.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by="tests",
    )
    signed_in(client)
    documents = section(page_of(client, tenant.customer), "documents-heading")
    assert "Lease 2026" in documents and "Customer sees it" in documents
    assert "ID copy" in documents and "Staff only" in documents
    assert reverse("dashboard:document_download", args=[tenant.customer_id, lease.pk]) in documents
    assert reverse("dashboard:customer_documents", args=[tenant.customer_id]) in documents


def invoice(booking, amount: str, due_on: dt.date):
    draft = billing.invoice_create(
        actor=SYSTEM,
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        due_on=due_on,
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal(amount))],
    )
    return billing.invoice_issue(actor=SYSTEM, invoice=draft)


def test_billing_shows_the_balance_and_open_invoices_marking_the_overdue(client, tenant, booking):
    overdue = invoice(booking, "89.90", dt.date(2026, 2, 1))
    upcoming = invoice(booking, "10.10", dt.date(2026, 4, 1))
    paid = invoice(booking, "50.00", dt.date(2026, 1, 1))
    billing.payment_record(
        actor=SYSTEM, invoice=paid, amount=Decimal("50.00"), received_on=dt.date(2026, 1, 2)
    )
    signed_in(client)
    panel = section(page_of(client, tenant.customer), "billing-heading")
    assert "100.00 EUR" in panel
    assert reverse("dashboard:invoice_detail", args=[overdue.pk]) in panel
    assert reverse("dashboard:invoice_detail", args=[upcoming.pk]) in panel
    assert reverse("dashboard:invoice_detail", args=[paid.pk]) not in panel

    def row(invoice):
        start = panel.index(f'data-invoice="{invoice.pk}"')
        return panel[start : panel.index("</tr>", start)]

    assert "Overdue" in row(overdue) and "Overdue" not in row(upcoming)


# CRM Information, Activity, Portal check --------------------------------------------------------------


def test_crm_information_has_the_active_inactive_switch(client, tenant):
    signed_in(client)
    crm = section(page_of(client, tenant.customer), "crm-heading")
    assert "Active / Inactive" in crm and "Set Inactive" in crm
    client.post(
        reverse("dashboard:customer_active", args=[tenant.customer_id]),
        {"is_active": "false", "confirm": "1"},
    )
    crm = section(page_of(client, tenant.customer), "crm-heading")
    assert "Set Active" in crm


def test_activity_lists_changes_of_the_customer_contacts_bookings_and_shares_newest_first(
    client, tenant, partner, booking
):
    grant = AccessGrant.objects.filter(booking=booking).first()
    assert grant is not None
    # An entry about a grant names no customer (the sync retry): it is found by its target.
    AuditEntry.objects.create(
        created_at=NOW + dt.timedelta(minutes=5),
        actor_kind=ActorKind.STAFF,
        actor_label="olga@keyport.test",
        action="access.sync_retried",
        target_type="access.accessgrant",
        target_id=grant.pk,
        target_label=str(grant),
    )
    other = ContactFactory(first_name="Otto")
    AuditEntry.objects.create(
        actor_kind=ActorKind.SYSTEM,
        actor_label="tests",
        action="contact.updated",
        target_type="contacts.contact",
        target_id=other.pk,
        target_label="Otto",
    )
    signed_in(client)
    activity = section(page_of(client, tenant.customer), "activity-heading")
    assert 'data-audit="booking.created"' in activity and 'data-audit="access.shared"' in activity
    assert activity.index('data-audit="access.sync_retried"') < activity.index('data-audit="booking.created"')
    assert ">Otto<" not in activity


def test_activity_shows_the_newest_fifty_entries(client, tenant):
    AuditEntry.objects.bulk_create(
        AuditEntry(
            created_at=NOW - dt.timedelta(minutes=n),
            actor_kind=ActorKind.SYSTEM,
            actor_label="tests",
            action=f"test.entry_{n}",
            target_type="contacts.customer",
            target_id=tenant.customer_id,
            target_label=tenant.customer.name,
        )
        for n in range(60)
    )
    signed_in(client)
    activity = section(page_of(client, tenant.customer), "activity-heading")
    assert activity.count("data-audit=") == 50
    assert 'data-audit="test.entry_0"' in activity and 'data-audit="test.entry_59"' not in activity


def test_activity_lists_the_emails_sent_to_the_customers_people(client, tenant, partner):
    invite_send(actor=SYSTEM, contact=partner)
    signed_in(client)
    activity = section(page_of(client, tenant.customer), "activity-heading")
    assert "Emails sent" in activity
    assert "jonas@example.com" in activity and "portal_invite" in activity


def test_the_portal_check_names_each_persons_next_action(client, tenant, partner):
    signed_in(client)
    check = section(page_of(client, tenant.customer), "check-heading")
    assert f'data-portal-check="{partner.pk}"' in check
    assert "Send Invite, or walk them through the login page." in check


def test_a_customer_with_nothing_linked_explains_each_empty_section(client):
    lonely = CustomerFactory(name="Nobody Yet")
    signed_in(client)
    page = page_of(client, lonely)
    assert "None yet: add a contact" in page
    assert "No bookings." in page and "No cars." in page and "No documents yet" in page
    assert "No open invoices" in page and "Nothing recorded yet." in page


# Roles and scope -------------------------------------------------------------------------------------


def test_an_employee_reads_and_invites_but_sees_no_revoke_restore_or_edit_buttons(
    client, tenant, partner, booking, berlin
):
    signed_in(client, Role.EMPLOYEE, berlin)
    page = page_of(client, tenant.customer)
    assert "friend@example.com" in page and "Send Invite" in page
    for button in ("Revoke access", "Restore access", "Add Contact", "Set Inactive", "Add a car"):
        assert button not in page
    assert f'data-bs-target="#edit-contact-{partner.pk}"' not in page
    revoke = client.post(
        reverse("dashboard:booking_revoke", args=[booking.pk]), {"reason": "x", "confirm": "1"}
    )
    restore = client.post(reverse("dashboard:booking_restore", args=[booking.pk]))
    assert revoke.status_code == 403 and restore.status_code == 403
    assert AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()


def test_a_manager_of_the_location_may_revoke_from_the_customer_page(client, tenant, booking, berlin):
    signed_in(client, Role.MANAGER, berlin)
    assert "Revoke access" in booking_block(page_of(client, tenant.customer), booking)


def test_staff_of_another_location_get_404(client, tenant, booking):
    signed_in(client, Role.MANAGER, LocationFactory(name="Elsewhere"))
    response = client.get(reverse("dashboard:customer_detail", args=[tenant.customer_id]))
    assert response.status_code == 404


def test_scoped_staff_see_only_the_bookings_and_activity_of_their_locations(client, tenant, booking, berlin):
    hamburg = LocationFactory(name="Lager Hamburg")
    there = book(tenant.customer, hamburg, ["H001"], dt.date(2026, 3, 1))
    signed_in(client, Role.MANAGER, berlin)
    page = page_of(client, tenant.customer)
    assert f'data-booking="{booking.pk}"' in page
    assert f'data-booking="{there.pk}"' not in page and "H001" not in page
    assert f"Booking #{there.pk}" not in section(page, "activity-heading")
    assert f"Booking #{booking.pk}" in section(page, "activity-heading")


def document_of(customer: Customer, title: str, booking=None) -> Document:
    return Document.objects.create(
        customer=customer,
        booking=booking,
        title=title,
        file=f"documents/{title}.pdf",
        original_name=f"{title}.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by="tests",
    )


def test_scoped_staff_see_no_documents_or_cars_of_another_location(client, tenant, booking, berlin):
    hamburg = LocationFactory(name="Lager Hamburg")
    there = book(tenant.customer, hamburg, ["H001"], dt.date(2026, 3, 1))
    document_of(tenant.customer, "Hamburg lease", booking=there)
    document_of(tenant.customer, "Berlin lease", booking=booking)
    document_of(tenant.customer, "ID copy")
    hamburg_bay = UnitFactory(location=hamburg, number="HP01", kind=UnitKind.PARKING_BAY)
    berlin_bay = UnitFactory(location=berlin, number="P007", kind=UnitKind.PARKING_BAY)
    CarFactory(customer=tenant.customer, make="Jaguar", model="E-Type", bay=hamburg_bay)
    CarFactory(customer=tenant.customer, make="Volvo", model="P1800", bay=berlin_bay)
    CarFactory(customer=tenant.customer, make="Citroën", model="DS", bay=None)
    signed_in(client, Role.MANAGER, berlin)
    page = page_of(client, tenant.customer)
    documents = section(page, "documents-heading")
    assert "Berlin lease" in documents and "ID copy" in documents
    assert "Hamburg lease" not in documents
    cars = section(page, "cars-heading")
    assert "Volvo P1800" in cars and "Citroën DS" in cars
    assert "Jaguar" not in cars and "HP01" not in cars


def test_scoped_staff_cannot_list_or_open_a_document_of_another_location(client, tenant, booking, berlin):
    hamburg = LocationFactory(name="Lager Hamburg")
    there = book(tenant.customer, hamburg, ["H001"], dt.date(2026, 3, 1))
    elsewhere = document_of(tenant.customer, "Hamburg lease", booking=there)
    document_of(tenant.customer, "Berlin lease", booking=booking)
    signed_in(client, Role.MANAGER, berlin)
    listing = client.get(reverse("dashboard:customer_documents", args=[tenant.customer.pk])).content.decode()
    assert "Berlin lease" in listing and "Hamburg lease" not in listing
    for name in ("document_download", "document_delete"):
        url = reverse(f"dashboard:{name}", args=[tenant.customer.pk, elsewhere.pk])
        assert client.get(url).status_code == 404
    hide = reverse("dashboard:document_visibility", args=[tenant.customer.pk, elsewhere.pk])
    assert client.post(hide, {"visible": "1"}).status_code == 404
    assert Document.objects.filter(pk=elsewhere.pk, visible_to_customer=False).exists()


def test_scoped_staff_see_no_invoices_or_balance_of_another_location(client, tenant, booking, berlin):
    hamburg = LocationFactory(name="Lager Hamburg")
    there = book(tenant.customer, hamburg, ["H001"], dt.date(2026, 3, 1))
    here = invoice(booking, "89.90", dt.date(2026, 4, 1))
    elsewhere = invoice(there, "10.10", dt.date(2026, 4, 1))
    signed_in(client, Role.MANAGER, berlin)
    panel = section(page_of(client, tenant.customer), "billing-heading")
    assert reverse("dashboard:invoice_detail", args=[here.pk]) in panel
    assert reverse("dashboard:invoice_detail", args=[elsewhere.pk]) not in panel
    assert "89.90 EUR" in panel and "100.00 EUR" not in panel


def test_the_page_makes_the_same_number_of_queries_for_one_booking_or_many(client, berlin):
    def customer_with(name: str, *, bookings: int, shares: int, contacts: int) -> Customer:
        primary = ContactFactory(customer=CustomerFactory(name=name, home_location=berlin))
        for _ in range(contacts):
            ContactFactory(customer=primary.customer, is_primary=False)
        for n in range(bookings):
            made = book(primary.customer, berlin, [f"{name}-{n}a", f"{name}-{n}b"], dt.date(2026, 3, 1))
            for s in range(shares):
                share(made, primary, f"{name.lower()}{n}.{s}@example.com", NOW.date(), NOW.date())
        return primary.customer

    small = customer_with("Small", bookings=1, shares=1, contacts=0)
    large = customer_with("Large", bookings=5, shares=3, contacts=4)
    signed_in(client, Role.MANAGER, berlin)
    counts = []
    for customer in (small, large):
        with CaptureQueriesContext(connection) as queries:
            page_of(client, customer)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 30
