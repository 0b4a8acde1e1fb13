"""Demo data of the portal sections: invoices (one overdue), documents, a car photo, an event with tickets.

Written as history where sending would mail someone: tickets are created without invitations,
so var/mail/ holds only what a visitor asks for.
"""

import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from fpdf import FPDF
from PIL import Image, ImageDraw

from keyport.audit.services import Actor
from keyport.billing.models import BillingSettings, Invoice
from keyport.billing.services import LineInput, invoice_create, invoice_issue, payment_record
from keyport.bookings.models import Booking
from keyport.cars.services import car_photo_add
from keyport.contacts.models import Contact, Customer
from keyport.documents.services import document_upload
from keyport.events.models import Ticket, TicketStatus
from keyport.events.services import event_create
from keyport.facilities.models import Location


def _pdf(title: str, lines: list[str]) -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _photo(colour: str, label: str) -> bytes:
    image = Image.new("RGB", (1200, 800), colour)
    ImageDraw.Draw(image).text((40, 40), label, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _invoice(
    actor: Actor, booking: Booking, *, month: str, amount: str, issued: dt.date, due: dt.date
) -> Invoice:
    invoice = invoice_create(
        actor=actor,
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        due_on=due,
        lines=[
            LineInput(
                description=f"Storage rent, {month}",
                quantity=Decimal("1"),
                unit_price=Decimal(amount),
                tax_rate=Decimal("19"),
            ),
            LineInput(description="Insurance", quantity=Decimal("1"), unit_price=Decimal("6.50")),
        ],
    )
    return invoice_issue(actor=actor, invoice=invoice, issued_on=issued)


def seed_sections(
    *, actor: Actor, berlin: Location, austin: Location, tenant: Customer, guest: Contact
) -> None:
    today = berlin.local_now().date()
    BillingSettings.objects.create(location=berlin, currency="EUR", invoice_prefix="BER", grace_days=14)
    BillingSettings.objects.create(location=austin, currency="USD", invoice_prefix="AUS", grace_days=10)

    booking = tenant.bookings.get()
    paid = _invoice(
        actor,
        booking,
        month="last month",
        amount="129.00",
        issued=today - dt.timedelta(days=40),
        due=today - dt.timedelta(days=26),
    )
    payment_record(
        actor=actor,
        invoice=paid,
        amount=paid.total,
        received_on=today - dt.timedelta(days=28),
        reference="SEPA 2026-0042",
    )
    # Overdue, but still inside the 14 grace days: the tenant's access stays open for the demo.
    _invoice(
        actor,
        booking,
        month="this month",
        amount="129.00",
        issued=today - dt.timedelta(days=10),
        due=today - dt.timedelta(days=3),
    )
    # Another Berlin customer, 30 days overdue: the hourly check locks this booking's access.
    late = (
        Booking.objects.filter(location=berlin, ends_on__isnull=True)
        .exclude(customer=tenant)
        .order_by("pk")[3]
    )
    _invoice(
        actor,
        late,
        month="two months ago",
        amount="89.00",
        issued=today - dt.timedelta(days=45),
        due=today - dt.timedelta(days=30),
    )

    lease = _pdf("Storage agreement", [f"Tenant: {tenant.name}", f"Site: {berlin.name}", "Units A010, A011"])
    document_upload(
        actor=actor,
        customer=tenant,
        upload=SimpleUploadedFile("storage-agreement.pdf", lease),
        title="Storage agreement",
        visible_to_customer=True,
        booking=booking,
    )
    rules = _pdf("Site rules", ["Gates open 06:00 to 22:00.", "No flammable goods."])
    document_upload(
        actor=actor,
        customer=tenant,
        upload=SimpleUploadedFile("site-rules.pdf", rules),
        title="Site rules",
        visible_to_customer=True,
    )
    document_upload(
        actor=actor,
        customer=tenant,
        upload=SimpleUploadedFile("credit-check.pdf", _pdf("Credit check", ["OK"])),
        title="Credit check (internal)",
    )
    car = tenant.cars.get()
    car_photo_add(
        actor=actor, car=car, upload=SimpleUploadedFile("volvo.jpg", _photo("#8b1e1e", "Volvo P1800"))
    )

    starts = austin.start_of_day(today + dt.timedelta(days=12)) + dt.timedelta(hours=9)
    event = event_create(
        actor=actor,
        location=austin,
        title="Cars & Coffee at the Austin lot",
        starts_at=starts,
        rsvp_deadline=starts - dt.timedelta(days=2),
        place="Hall B, by the vehicle gate",
        capacity=30,
        description="Bring your car, meet other members. Coffee and breakfast tacos on us.",
    )
    Ticket.objects.create(event=event, contact=guest)
    tenant_contact = tenant.contacts.get(is_primary=True)
    now = timezone.now()
    Ticket.objects.create(event=event, contact=tenant_contact, status=TicketStatus.GOING, responded_at=now)
    others = (
        Contact.objects.filter(customer__home_location=austin, email__isnull=False)
        .exclude(pk__in=[guest.pk, tenant_contact.pk])
        .order_by("pk")[:8]
    )
    for number, contact in enumerate(others):
        status = TicketStatus.GOING if number % 3 else TicketStatus.INVITED
        Ticket.objects.create(event=event, contact=contact, status=status)
