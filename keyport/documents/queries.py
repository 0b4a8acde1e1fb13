from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from keyport.contacts.models import Customer
from keyport.documents.models import Document
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def documents_for_customer(customer: Customer) -> QuerySet[Document]:
    """The portal's list: this customer's documents they are allowed to see."""
    return Document.objects.filter(customer=customer, visible_to_customer=True).select_related(
        "car", "booking"
    )


def get_document_for_customer(customer: Customer, document_id: int) -> Document:
    return get_object_or_404(documents_for_customer(customer), pk=document_id)


def documents_of_customer_for_staff(user: StaffUser, customer: Customer) -> QuerySet[Document]:
    """Newest first, those the staff member's locations may see: documents of a booking elsewhere
    are left out; documents of no booking belong to the whole customer and stay."""
    documents = Document.objects.filter(customer=customer).select_related("car", "booking")
    documents = documents.filter(Q(booking__isnull=True) | Q(booking__location__in=locations_for_staff(user)))
    return documents.order_by("-created_at", "-pk")


def get_document_for_staff(user: StaffUser, customer: Customer, document_id: int) -> Document:
    return get_object_or_404(documents_of_customer_for_staff(user, customer), pk=document_id)
