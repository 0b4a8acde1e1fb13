import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from keyport.documents import services
from keyport.documents.models import Document
from keyport.documents.queries import documents_for_customer, get_document_for_customer
from keyport.lib.uploads import sniff_content_type
from tests.factories import CarFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name, data, content_type="application/pdf"):  # type: ignore[no-untyped-def]
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
    from django.http import Http404

    for document in (hidden, theirs):
        with pytest.raises(Http404):
            get_document_for_customer(mine, document.pk)
    services.document_set_visibility(actor=actor, document=hidden, visible_to_customer=True)
    assert get_document_for_customer(mine, hidden.pk) == hidden
