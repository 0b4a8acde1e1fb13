from django.db.models import QuerySet
from django.http import Http404

from keyport.contacts.models import Customer
from keyport.documents.models import Document


def documents_for_customer(customer: Customer) -> QuerySet[Document]:
    """The portal's list: this customer's documents they are allowed to see."""
    return Document.objects.filter(customer=customer, visible_to_customer=True).select_related(
        "car", "booking"
    )


def get_document_for_customer(customer: Customer, document_id: int) -> Document:
    try:
        return documents_for_customer(customer).get(pk=document_id)
    except Document.DoesNotExist:
        raise Http404("No such document.") from None


def documents_of_customer_for_staff(customer: Customer) -> QuerySet[Document]:
    return Document.objects.filter(customer=customer).select_related("car", "booking")


def get_document_for_staff(customer: Customer, document_id: int) -> Document:
    try:
        return documents_of_customer_for_staff(customer).get(pk=document_id)
    except Document.DoesNotExist:
        raise Http404("No such document.") from None
