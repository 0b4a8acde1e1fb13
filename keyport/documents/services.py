from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction

from keyport.audit.services import Actor, audit_record
from keyport.bookings.models import Booking
from keyport.cars.models import Car
from keyport.contacts.models import Customer
from keyport.documents.models import MAX_DOCUMENT_BYTES, Document
from keyport.lib.uploads import sniff_content_type, unguessable_name


def _read_kind(upload: File) -> tuple[str, str]:
    if upload.size is None or upload.size > MAX_DOCUMENT_BYTES:
        raise ValidationError({"file": "Files up to 20 MB only."})
    upload.seek(0)
    kind = sniff_content_type(upload.read(16))
    upload.seek(0)
    if kind is None:
        raise ValidationError({"file": "Only PDF files and images (PNG, JPEG, WebP) can be uploaded."})
    return kind


@transaction.atomic
def document_upload(
    *,
    actor: Actor,
    customer: Customer,
    upload: File,
    title: str = "",
    visible_to_customer: bool = False,
    car: Car | None = None,
    booking: Booking | None = None,
) -> Document:
    """Keep a customer's file; its type is read from its content, never from its name."""
    content_type, extension = _read_kind(upload)
    if car is not None and car.customer_id != customer.pk:
        raise ValidationError({"car": "Choose one of this customer's cars."})
    if booking is not None and booking.customer_id != customer.pk:
        raise ValidationError({"booking": "Choose one of this customer's bookings."})
    original = (upload.name or "document").rsplit("/", 1)[-1][:255]
    document = Document(
        customer=customer,
        car=car,
        booking=booking,
        title=(title.strip() or original)[:200],
        original_name=original,
        content_type=content_type,
        size=upload.size or 0,
        visible_to_customer=visible_to_customer,
        uploaded_by=actor.label[:200],
    )
    document.file.save(unguessable_name("documents", extension), upload, save=False)
    stored_name = document.file.name
    try:
        document.save()
        audit_record(
            actor=actor,
            action="document.uploaded",
            target=document,
            customer=customer,
            details={"visible_to_customer": visible_to_customer, "content_type": content_type},
        )
    except Exception:  # The row was refused: its file must not stay behind.
        document.file.storage.delete(stored_name)
        raise
    return document


@transaction.atomic
def document_set_visibility(*, actor: Actor, document: Document, visible_to_customer: bool) -> Document:
    document = Document.objects.select_for_update().get(pk=document.pk)
    if document.visible_to_customer == visible_to_customer:
        return document
    document.visible_to_customer = visible_to_customer
    document.save(update_fields=["visible_to_customer"])
    audit_record(
        actor=actor,
        action="document.shown_to_customer" if visible_to_customer else "document.hidden_from_customer",
        target=document,
        customer=document.customer,
    )
    return document


@transaction.atomic
def document_delete(*, actor: Actor, document: Document) -> None:
    """Delete a document; its file leaves storage once the deletion is committed, not before."""
    document = Document.objects.select_for_update().select_related("customer").get(pk=document.pk)
    audit_record(
        actor=actor,
        action="document.deleted",
        target=document,
        customer=document.customer,
        details={
            "title": document.title,
            "original_name": document.original_name,
            "visible_to_customer": document.visible_to_customer,
        },
    )
    name, storage = document.file.name, document.file.storage
    document.delete()
    transaction.on_commit(lambda: storage.delete(name))
