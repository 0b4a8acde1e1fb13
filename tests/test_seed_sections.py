import time

import pytest

from keyport.billing.models import Invoice, InvoiceStatus
from keyport.contacts.models import Contact
from keyport.demo.data import GUEST_EMAIL, TENANT_EMAIL, seed_demo
from keyport.documents.models import Document
from keyport.events.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_has_invoices_documents_and_an_event_with_tickets(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    started = time.monotonic()
    seed_demo()
    assert time.monotonic() - started < 30  # `make run` seeds on first start; it must stay quick
    tenant = Contact.objects.get(email=TENANT_EMAIL).customer
    statuses = sorted(Invoice.objects.filter(customer=tenant).values_list("status", flat=True))
    assert statuses == [InvoiceStatus.OPEN, InvoiceStatus.PAID]
    assert Invoice.objects.filter(status=InvoiceStatus.OPEN).exclude(customer=tenant).exists()
    assert Document.objects.filter(customer=tenant, visible_to_customer=True).count() == 2
    assert Ticket.objects.filter(contact__email=GUEST_EMAIL).exists()
    assert tenant.cars.get().photos.exists()
