"""The portal's Cars, Billing, Documents and Events sections, tickets and Register interest."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.cars.services import car_photo_add
from keyport.contacts.models import Contact, CustomerKind
from keyport.documents.services import document_upload
from keyport.events import services as events
from keyport.events.models import TicketStatus
from tests.portal_helpers import sign_in_as

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest")]
SYSTEM = Actor.system("tests")
LATER = dt.datetime(2099, 6, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def rent(site, tenant, customer=None, amount="100.00"):
    invoice = billing.invoice_create(
        actor=SYSTEM,
        location=site.location,
        customer=customer or tenant.customer,
        due_on=dt.date(2026, 3, 1),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal(amount))],
    )
    return billing.invoice_issue(actor=SYSTEM, invoice=invoice)


def test_billing_shows_issued_invoices_and_the_balance(client, site, tenant, partner):
    invoice = rent(site, tenant)
    billing.payment_record(
        actor=SYSTEM, invoice=invoice, amount=Decimal("40.00"), received_on=dt.date(2026, 3, 2)
    )
    billing.invoice_create(
        actor=SYSTEM,
        location=site.location,
        customer=tenant.customer,
        due_on=dt.date(2026, 4, 1),
        lines=[billing.LineInput(description="Draft", quantity=Decimal("1"), unit_price=Decimal("5"))],
    )
    sign_in_as(client, partner)
    page = client.get(reverse("portal:billing")).content.decode()
    assert invoice.number in page
    assert "60.00 EUR" in page
    assert "Draft" not in page
    pdf = client.get(reverse("portal:invoice_pdf", args=[invoice.pk]))
    assert pdf.content.startswith(b"%PDF-")


def test_billing_tells_an_invoice_past_its_due_date_is_overdue(client, site, tenant):
    import time_machine

    rent(site, tenant)  # due 1 March, in the location's time
    sign_in_as(client, tenant)
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        assert "Overdue" not in client.get(reverse("portal:billing")).content.decode()
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC), tick=False):
        sign_in_as(client, tenant)
        page = client.get(reverse("portal:billing")).content.decode()
    assert ">Overdue<" in page and "An invoice is overdue: please pay it" in page


def test_another_accounts_invoice_is_not_found(client, site, tenant, other_tenant):
    theirs = rent(site, tenant, customer=other_tenant.customer)
    sign_in_as(client, tenant)
    assert client.get(reverse("portal:invoice_pdf", args=[theirs.pk])).status_code == 404


def test_documents_list_and_download_only_own_visible_ones(client, tenant, other_tenant):
    pdf = b"%PDF-1.7 lease"
    mine = document_upload(
        actor=SYSTEM,
        customer=tenant.customer,
        title="Lease",
        upload=SimpleUploadedFile("lease.pdf", pdf),
        visible_to_customer=True,
    )
    hidden = document_upload(
        actor=SYSTEM,
        customer=tenant.customer,
        title="Internal note",
        upload=SimpleUploadedFile("n.pdf", pdf),
    )
    theirs = document_upload(
        actor=SYSTEM,
        customer=other_tenant.customer,
        title="Other lease",
        upload=SimpleUploadedFile("o.pdf", pdf),
        visible_to_customer=True,
    )
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:documents")).content.decode()
    assert "Lease" in page and "Internal note" not in page and "Other lease" not in page
    download = client.get(reverse("portal:document_download", args=[mine.pk]))
    assert b"".join(download.streaming_content) == pdf
    for document in (hidden, theirs):
        assert client.get(reverse("portal:document_download", args=[document.pk])).status_code == 404
    assert mine.file.name not in page  # no storage path reaches the page


def test_cars_show_photos_and_the_bay(client, tenant, other_tenant, partner, site):
    car = tenant.customer.cars.get()
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "green").save(buffer, format="JPEG")
    photo = car_photo_add(actor=SYSTEM, car=car, upload=SimpleUploadedFile("car.jpg", buffer.getvalue()))
    other_photo = car_photo_add(
        actor=SYSTEM,
        car=other_tenant.customer.cars.get(),
        upload=SimpleUploadedFile("x.jpg", buffer.getvalue()),
    )
    sign_in_as(client, partner)
    page = client.get(reverse("portal:cars")).content.decode()
    assert "Volvo P1800" in page and "P001" in page and site.location.name in page
    assert reverse("portal:car_photo", args=[photo.pk]) in page
    assert client.get(reverse("portal:car_photo", args=[other_photo.pk])).status_code == 404


def test_the_portal_gets_a_photos_resized_copy_never_the_original(client, tenant):
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), "green").save(buffer, format="PNG")
    car = tenant.customer.cars.get()
    photo = car_photo_add(actor=SYSTEM, car=car, upload=SimpleUploadedFile("car.png", buffer.getvalue()))
    sign_in_as(client, tenant)
    for query in ("", "?size=full", "?size=thumbnail"):
        response = client.get(reverse("portal:car_photo", args=[photo.pk]) + query)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        served = b"".join(response.streaming_content)
        with Image.open(io.BytesIO(served)) as image:
            assert image.size == (480, 360)
    assert "size=" not in client.get(reverse("portal:cars")).content.decode()


def invited(site, contact, capacity=5):
    event = events.event_create(
        actor=SYSTEM,
        location=site.location,
        title="Cars and coffee",
        starts_at=LATER,
        place="Yard",
        capacity=capacity,
    )
    (ticket,) = events.event_invite(actor=SYSTEM, event=event, emails=[contact.email])
    return ticket


def test_a_ticket_only_guest_answers_and_gets_a_qr_code(client, site, guest):
    ticket = invited(site, guest)
    sign_in_as(client, guest)
    page = client.get(reverse("portal:tickets")).content.decode()
    assert "Cars and coffee" in page and "Invited, no answer yet" in page
    assert "data:image/svg+xml" not in page
    client.post(reverse("portal:ticket_rsvp", args=[ticket.pk]), {"going": "1"})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.GOING
    page = client.get(reverse("portal:tickets")).content.decode()
    assert "data:image/svg+xml" in page and ticket.code in page


def test_a_full_event_says_so(client, site, guest):
    ticket = invited(site, guest, capacity=1)
    other = events.event_invite(actor=SYSTEM, event=ticket.event, emails=["first@example.com"])[0]
    events.ticket_respond(actor=SYSTEM, ticket=other, going=True)
    sign_in_as(client, guest)
    response = client.post(reverse("portal:ticket_rsvp", args=[ticket.pk]), {"going": "1"}, follow=True)
    assert "This event is full." in response.content.decode()


def test_nobody_answers_for_someone_else(client, site, tenant, partner):
    ticket = invited(site, tenant)
    sign_in_as(client, partner)
    assert client.post(reverse("portal:ticket_rsvp", args=[ticket.pk]), {"going": "1"}).status_code == 404


def test_the_ticket_shows_the_event_time_in_the_locations_zone(client, site, guest):
    invited(site, guest)  # 10:00 UTC on 1 June is noon in Berlin
    sign_in_as(client, guest)
    page = client.get(reverse("portal:tickets")).content.decode()
    assert "Monday 1 June 2099, 12:00" in page and "10:00" not in page


def test_full_customers_see_their_tickets_under_events(client, site, tenant):
    invited(site, tenant)
    sign_in_as(client, tenant)
    assert "Cars and coffee" in client.get(reverse("portal:events")).content.decode()


def test_register_interest_makes_a_lead_with_ticket_only_access(client, site):
    url = reverse("portal:register_interest", args=[site.location.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"first_name": "Lia", "last_name": "Lead", "email": "lia@example.com"})
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    lead = Contact.objects.get(email="lia@example.com")
    assert lead.customer.kind == CustomerKind.LEAD and lead.customer.home_location == site.location
    assert client.post(url, {"first_name": "", "email": "nope"}).status_code == 400


def test_register_interest_is_rate_limited(client, site):
    url = reverse("portal:register_interest", args=[site.location.pk])
    for number in range(10):
        client.post(url, {"first_name": "A", "last_name": "B", "email": f"a{number}@example.com"})
    assert (
        client.post(url, {"first_name": "A", "last_name": "B", "email": "z@example.com"}).status_code == 429
    )


def test_a_lead_sees_only_tickets_until_staff_convert_them_then_the_full_portal(client, guest):
    sign_in_as(client, guest)
    assert client.get(reverse("portal:tickets")).status_code == 200
    for section in ("cars", "billing", "documents"):
        assert client.get(reverse(f"portal:{section}")).status_code == 404, section
    events.lead_convert(actor=SYSTEM, customer=guest.customer)
    for section in ("cars", "billing", "documents", "events", "settings"):
        assert client.get(reverse(f"portal:{section}")).status_code == 200, section


def test_a_registered_lead_is_ticket_only_in_the_portal(client, site):
    client.post(
        reverse("portal:register_interest", args=[site.location.pk]),
        {"first_name": "Lia", "last_name": "Lead", "email": "lia@example.com"},
    )
    lead = Contact.objects.get(email="lia@example.com")
    sign_in_as(client, lead)
    assert client.get(reverse("portal:billing")).status_code == 404
    assert "Your tickets" in client.get(reverse("portal:tickets")).content.decode()


def test_the_additional_contact_sees_the_same_invoices_and_documents(client, site, tenant, partner):
    invoice = rent(site, tenant)
    document_upload(
        actor=SYSTEM,
        customer=tenant.customer,
        title="Lease",
        upload=SimpleUploadedFile("lease.pdf", b"%PDF-1.7 lease"),
        visible_to_customer=True,
    )
    sign_in_as(client, partner)
    assert invoice.number in client.get(reverse("portal:billing")).content.decode()
    assert "Lease" in client.get(reverse("portal:documents")).content.decode()


def test_stored_files_have_no_public_url(client, tenant, settings):
    document = document_upload(
        actor=SYSTEM,
        customer=tenant.customer,
        title="Lease",
        upload=SimpleUploadedFile("lease.pdf", b"%PDF-1.7 lease"),
        visible_to_customer=True,
    )
    for prefix in ("/media/", "/", settings.MEDIA_URL or "/"):
        assert client.get(prefix + document.file.name).status_code == 404
