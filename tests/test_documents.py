import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import Client
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.documents import services
from keyport.documents.models import MAX_DOCUMENT_BYTES, Document
from keyport.documents.queries import documents_for_customer, get_document_for_customer
from keyport.lib.uploads import sniff_content_type
from keyport.staff.models import Role
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
    booking_of,
)
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name, data, content_type="application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_type_is_read_from_the_content_not_the_name():
    assert sniff_content_type(PDF[:16]) == ("application/pdf", ".pdf")
    assert sniff_content_type(PNG[:16]) == ("image/png", ".png")
    assert sniff_content_type(b"MZ\x90\x00 windows exe") is None


def test_upload_keeps_a_pdf_under_an_unguessable_name(actor):
    customer = CustomerFactory()
    document = services.document_upload(actor=actor, customer=customer, upload=upload("lease.pdf", PDF))
    assert document.content_type == "application/pdf"
    assert document.title == "lease.pdf"
    assert "lease" not in document.file.name and document.file.name.startswith("documents/")
    assert len(document.file.name) > 40
    assert document.file.read() == PDF


def test_a_renamed_executable_is_refused(actor):
    with pytest.raises(ValidationError) as error:
        services.document_upload(
            actor=actor,
            customer=CustomerFactory(),
            upload=upload("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 64),
        )
    assert "PDF" in str(error.value)
    assert not Document.objects.exists()


def test_a_file_over_20_mb_is_refused(actor):
    big = upload("scan.pdf", PDF + b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(ValidationError):
        services.document_upload(actor=actor, customer=CustomerFactory(), upload=big)


def test_a_car_of_another_customer_cannot_be_linked(actor):
    with pytest.raises(ValidationError):
        services.document_upload(
            actor=actor, customer=CustomerFactory(), upload=upload("a.pdf", PDF), car=CarFactory()
        )


def test_a_booking_of_another_customer_cannot_be_linked(actor):
    location = LocationFactory()
    theirs = booking_of(CustomerFactory(), [UnitFactory(location=location)], dt.date(2026, 1, 1))
    with pytest.raises(ValidationError) as error:
        services.document_upload(
            actor=actor, customer=CustomerFactory(), upload=upload("a.pdf", PDF), booking=theirs
        )
    assert "booking" in error.value.message_dict
    assert not Document.objects.exists()


def test_a_document_may_be_linked_to_the_customers_car_and_booking(actor):
    customer = CustomerFactory()
    car = CarFactory(customer=customer)
    booking = booking_of(customer, [UnitFactory()], dt.date(2026, 1, 1))
    document = services.document_upload(
        actor=actor, customer=customer, upload=upload("a.pdf", PDF), car=car, booking=booking
    )
    assert (document.car, document.booking) == (car, booking)


def test_customers_see_only_their_own_visible_documents(actor):
    mine, other = CustomerFactory(), CustomerFactory()
    shown = services.document_upload(
        actor=actor, customer=mine, upload=upload("a.pdf", PDF), visible_to_customer=True
    )
    hidden = services.document_upload(actor=actor, customer=mine, upload=upload("b.png", PNG, "image/png"))
    theirs = services.document_upload(
        actor=actor, customer=other, upload=upload("c.pdf", PDF), visible_to_customer=True
    )
    assert list(documents_for_customer(mine)) == [shown]
    for document in (hidden, theirs):
        with pytest.raises(Http404):
            get_document_for_customer(mine, document.pk)
    services.document_set_visibility(actor=actor, document=hidden, visible_to_customer=True)
    assert get_document_for_customer(mine, hidden.pk) == hidden


def test_a_pdf_name_does_not_make_png_content_a_pdf(actor):
    document = services.document_upload(
        actor=actor, customer=CustomerFactory(), upload=upload("contract.pdf", PNG, "application/pdf")
    )
    assert document.content_type == "image/png"
    assert document.file.name.endswith(".png") and document.download_name == "contract.png"


def test_an_upload_of_exactly_20_mb_is_kept(actor):
    exactly = upload("scan.pdf", PDF + b"\x00" * (MAX_DOCUMENT_BYTES - len(PDF)))
    document = services.document_upload(actor=actor, customer=CustomerFactory(), upload=exactly)
    assert document.size == MAX_DOCUMENT_BYTES


def test_an_upload_whose_row_fails_leaves_no_file_behind(actor, settings, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit_record", refuse)
    with pytest.raises(RuntimeError):
        services.document_upload(actor=actor, customer=CustomerFactory(), upload=upload("a.pdf", PDF))
    assert not any((settings.MEDIA_ROOT / "documents").iterdir())


def test_the_upload_is_audited(actor):
    document = services.document_upload(
        actor=actor, customer=CustomerFactory(), upload=upload("a.pdf", PDF), visible_to_customer=True
    )
    entry = AuditEntry.objects.get(action="document.uploaded")
    assert entry.target_id == document.pk and entry.customer == document.customer


# Staff delete a document: Owners and Managers, POST after a confirmation page, audited.


@pytest.fixture
def customer():
    return CustomerFactory(name="Mara Schneider", home_location=LocationFactory())


def visible_lease(actor, customer):
    return services.document_upload(
        actor=actor,
        customer=customer,
        title="Lease",
        upload=upload("lease.pdf", PDF),
        visible_to_customer=True,
    )


def delete_url(document):
    return reverse("dashboard:document_delete", args=[document.customer_id, document.pk])


def test_a_manager_deletes_a_document_after_confirming(
    actor, customer, django_capture_on_commit_callbacks, staff_client
):
    document = visible_lease(actor, customer)
    storage, name = document.file.storage, document.file.name
    tenant = ContactFactory(customer=customer, email="tenant@example.com")
    portal = Client()
    sign_in_as(portal, tenant)
    assert "Lease" in portal.get(reverse("portal:documents")).content.decode()
    staff = staff_client(Role.MANAGER, customer.home_location)
    listing = staff.get(reverse("dashboard:customer_documents", args=[customer.pk])).content.decode()
    assert delete_url(document) in listing

    question = staff.get(delete_url(document))
    assert question.status_code == 200 and "Delete “Lease”?" in question.content.decode()
    assert Document.objects.filter(pk=document.pk).exists()  # asking deletes nothing

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff.post(delete_url(document), follow=True)
    assert "“Lease” deleted." in response.content.decode()
    assert not Document.objects.filter(pk=document.pk).exists()
    assert storage.exists(name)  # the file goes only once the deletion is committed
    for callback in callbacks:
        callback()
    assert not storage.exists(name)

    entry = AuditEntry.objects.get(action="document.deleted")
    assert entry.target_id == document.pk and entry.customer == customer
    assert entry.details["title"] == "Lease"
    assert "Lease" not in portal.get(reverse("portal:documents")).content.decode()
    assert portal.get(reverse("portal:document_download", args=[document.pk])).status_code == 404


def test_an_owner_may_delete_too(actor, customer, staff_client):
    document = visible_lease(actor, customer)
    assert staff_client(Role.OWNER).post(delete_url(document)).status_code == 302
    assert not Document.objects.exists()


def test_employees_cannot_delete_documents(actor, customer, staff_client):
    document = visible_lease(actor, customer)
    employee = staff_client(Role.EMPLOYEE, customer.home_location)
    listing = employee.get(reverse("dashboard:customer_documents", args=[customer.pk])).content.decode()
    assert delete_url(document) not in listing
    assert employee.get(delete_url(document)).status_code == 403
    assert employee.post(delete_url(document)).status_code == 403
    assert Document.objects.filter(pk=document.pk).exists()
    assert not AuditEntry.objects.filter(action="document.deleted").exists()


def test_a_document_is_deleted_only_through_its_own_customer(actor, customer, staff_client):
    document = visible_lease(actor, customer)
    other = CustomerFactory(home_location=customer.home_location)
    url = reverse("dashboard:document_delete", args=[other.pk, document.pk])
    assert staff_client(Role.OWNER).post(url).status_code == 404
    assert Document.objects.filter(pk=document.pk).exists()
