"""Objects of the billing, documents, events and cars pages, for the dashboard's scope test."""

import datetime as dt
from decimal import Decimal

from keyport.billing.models import Invoice
from keyport.cars.models import CarPhoto
from keyport.documents.models import Document
from keyport.events.models import Event, Ticket


def section_objects(*, location, customer, contact, booking, car):
    invoice = Invoice.objects.create(
        location=location,
        customer=customer,
        booking=booking,
        currency="EUR",
        due_on=dt.date(2026, 3, 1),
        total=Decimal("10.00"),
    )
    document = Document.objects.create(
        customer=customer,
        title="Lease",
        file="documents/x.pdf",
        original_name="lease.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by="tests",
    )
    event = Event.objects.create(
        location=location,
        title="Open day",
        starts_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        place="Hall",
        capacity=10,
    )
    ticket = Ticket.objects.create(event=event, contact=contact)
    photo = CarPhoto.objects.create(
        car=car, image="cars/x.jpg", thumbnail="cars/t.jpg", content_type="image/jpeg"
    )
    return {
        "invoice_id": invoice.pk,
        "document_id": document.pk,
        "event_id": event.pk,
        "ticket_id": ticket.pk,
        "photo_id": photo.pk,
    }
