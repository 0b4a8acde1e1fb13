"""All Contacts: the contact table with search, Filters & Settings, Send Invite, and the Customer Report."""

import csv
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from keyport.audit.services import Actor
from keyport.contacts.models import Contact
from keyport.contacts.queries import (
    ContactFilters,
    contacts_for_staff,
    filter_contacts,
    get_contact_for_staff,
)
from keyport.contacts.services import invite_send
from keyport.dashboard.access import StaffRequest, staff_required
from keyport.dashboard.contact_forms import (
    CONTACT_COLUMNS,
    DEFAULT_COLUMNS,
    ContactFiltersForm,
    TableSettingsForm,
)

PAGE_SIZE = 50
TABLE_SETTINGS = "dashboard_contacts_table"


def _table_settings(request: StaffRequest) -> dict[str, Any]:
    saved = request.session.get(TABLE_SETTINGS) or {}
    return {"view": saved.get("view", "table"), "columns": saved.get("columns", DEFAULT_COLUMNS)}


def _filters(form: ContactFiltersForm) -> ContactFilters:
    data = form.cleaned_data if form.is_valid() else {}
    return ContactFilters(
        search=data.get("q", ""),
        portal_access=data.get("access", ""),
        account_status=data.get("status", ""),
        active=data.get("active", ""),
        sort=data.get("sort") or "name",
    )


@staff_required
def all_contacts(request: StaffRequest) -> HttpResponse:
    form = ContactFiltersForm(request.GET)
    contacts = filter_contacts(contacts_for_staff(request.user), _filters(form))
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    table = _table_settings(request)
    context = {
        "form": form,
        "page": page,
        "table": table,
        "columns": [(key, label) for key, label in CONTACT_COLUMNS if key in table["columns"]],
        "all_columns": CONTACT_COLUMNS,
        "query": request.GET.copy(),
    }
    htmx: HtmxDetails = request.htmx  # type: ignore[attr-defined]
    if htmx and htmx.target == "contacts-results":
        return render(request, "dashboard/contacts/_results.html", context)
    return render(request, "dashboard/contacts/all_contacts.html", context)


@require_POST
@staff_required
def contacts_table_settings(request: StaffRequest) -> HttpResponse:
    """Filters & Settings: remember table or cards, and which columns show."""
    form = TableSettingsForm(request.POST)
    if form.is_valid():
        request.session[TABLE_SETTINGS] = {
            "view": form.cleaned_data["view"],
            "columns": form.cleaned_data["columns"],
        }
    # The page's own query string (search and filters), kept across the change; it can only
    # follow the "?" of this page's URL, so it cannot send anyone elsewhere.
    back = request.POST.get("query", "").lstrip("?")
    return redirect(reverse("dashboard:all_contacts") + (f"?{back}" if back else ""))


@require_POST
@staff_required
def contact_invite(request: StaffRequest, contact_id: int) -> HttpResponse:
    """Send Invite / Resend Invite from a row; answers with the row as it now is (htmx)."""
    contact = get_contact_for_staff(request.user, contact_id)
    message, ok = "", True
    try:
        invite_send(actor=Actor.staff(request.user), contact=contact)
    except ValidationError as error:
        message, ok = " ".join(error.messages), False
    else:
        message = f"Invite sent to {contact.email}."
    contact = get_contact_for_staff(request.user, contact_id)
    layout = request.POST.get("layout", "row")
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("dashboard:customer_detail", customer_id=contact.customer_id)
    template = {
        "card": "dashboard/contacts/_card.html",
        "customer": "dashboard/customers/_contact_row.html",
    }.get(layout, "dashboard/contacts/_row.html")
    table = _table_settings(request)
    context = {
        "contact": contact,
        "flash": message,
        "flash_ok": ok,
        "columns": [(key, label) for key, label in CONTACT_COLUMNS if key in table["columns"]],
        "can_manage": _can_manage(request),
    }
    return render(request, template, context)


def _can_manage(request: StaffRequest) -> bool:
    return request.user.role in ("owner", "manager")


REPORT_COLUMNS = [
    ("Name", lambda c: c.full_name),
    ("Customer", lambda c: c.customer.name),
    ("Primary", lambda c: "yes" if c.is_primary else "no"),
    ("Email", lambda c: c.email or ""),
    ("Phone", lambda c: c.phone),
    ("Portal Access", lambda c: c.portal_access().label),
    ("Account Status", lambda c: c.account_status().label),
    ("First signed in (UTC)", lambda c: c.first_signed_in_at.isoformat() if c.first_signed_in_at else ""),
    ("Active / Inactive", lambda c: c.customer.status_label),
    ("Home location", lambda c: c.customer.home_location.name if c.customer.home_location else ""),
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe_cell(value: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula; names come from outside.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@staff_required  # type: ignore[arg-type]  # a streaming response is not an HttpResponse
def customer_report(request: StaffRequest) -> StreamingHttpResponse:
    """Customer Report: the same columns for every contact this staff member may see, as CSV."""
    form = ContactFiltersForm(request.GET)
    contacts = filter_contacts(contacts_for_staff(request.user), _filters(form))
    writer = csv.writer(_Echo())

    def rows(contacts: Any = contacts) -> Any:
        yield writer.writerow([title for title, _ in REPORT_COLUMNS])
        contact: Contact
        for contact in contacts.iterator(chunk_size=500):
            yield writer.writerow([_safe_cell(str(value(contact))) for _, value in REPORT_COLUMNS])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customer-report.csv"'
    return response
