"""Staff pages for a customer's documents: upload, list, download, show or hide in the portal, delete."""

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.contacts.models import Customer
from keyport.dashboard.sections_forms import DocumentForm, form_status
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.documents import services
from keyport.documents.models import Document
from keyport.documents.queries import documents_of_customer_for_staff, get_document_for_staff
from keyport.frontdesk.queries import get_customer_for_manager, get_customer_for_staff


@staff_required
def customer_documents(request: StaffRequest, customer_id: int) -> HttpResponse:
    if request.method == "POST":
        customer = get_customer_for_manager(request.user, customer_id)
    else:
        customer = get_customer_for_staff(request.user, customer_id)
    form = DocumentForm.for_staff(
        request.user, request.POST or None, request.FILES or None, customer=customer
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.document_upload(
                actor=Actor.staff(request.user),
                customer=customer,
                upload=form.cleaned_data.pop("file"),
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, "Document uploaded.")
            return redirect("dashboard:customer_documents", customer_id=customer.pk)
    context = {
        "customer": customer,
        "documents": documents_of_customer_for_staff(request.user, customer),
        "form": form,
        "can_change": request.user.can_change_customer(customer),
    }
    return render(request, "dashboard/documents/list.html", context, status=form_status(request))


def _document(request: StaffRequest, customer: Customer, document_id: int) -> Document:
    return get_document_for_staff(request.user, customer, document_id)


def file_response(document: Document) -> HttpResponse:
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.download_name,
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)  # streamed; the decorators only need a response


@staff_required
def document_download(request: StaffRequest, customer_id: int, document_id: int) -> HttpResponse:
    customer = get_customer_for_staff(request.user, customer_id)
    return file_response(_document(request, customer, document_id))


@require_POST
@staff_required
def document_visibility(request: StaffRequest, customer_id: int, document_id: int) -> HttpResponse:
    customer = get_customer_for_manager(request.user, customer_id)
    document = _document(request, customer, document_id)
    visible = request.POST.get("visible") == "1"
    services.document_set_visibility(
        actor=Actor.staff(request.user), document=document, visible_to_customer=visible
    )
    messages.success(
        request, f"“{document.title}” is {'shown to' if visible else 'hidden from'} the customer."
    )
    return redirect("dashboard:customer_documents", customer_id=customer.pk)


@staff_required
def document_delete(request: StaffRequest, customer_id: int, document_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes."""
    customer = get_customer_for_manager(request.user, customer_id)
    document = _document(request, customer, document_id)
    if request.method != "POST":
        context = {"customer": customer, "document": document}
        return render(request, "dashboard/documents/delete.html", context)
    services.document_delete(actor=Actor.staff(request.user), document=document)
    messages.success(request, f"“{document.title}” deleted. The customer no longer sees it.")
    return redirect("dashboard:customer_documents", customer_id=customer.pk)
