"""All Contacts: the contact table with search, Filters & Settings, Send Invite, and the Customer Report."""

import csv
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.contacts.models import Contact
from keyport.contacts.services import invite_send
from keyport.dashboard.contact_forms import (
    COLUMNS,
    DEFAULT_COLUMNS,
    FILTER_KEYS,
    AllContactsForm,
    ColumnSettingsForm,
)
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.frontdesk.queries import (
    CONTACT_SORTS,
    contacts_for_staff,
    contacts_page,
    filter_contacts,
    get_contact_for_staff,
    stream_contacts,
)
from keyport.lib.spreadsheets import spreadsheet_safe
from keyport.lib.times import list_zone
from keyport.staff.models import ContactListSettings
from keyport.staff.queries import contact_list_settings_of
from keyport.staff.services import contact_list_layout_save, contact_list_query_save

PAGE_SIZE = 50
CURSOR_MAX_LENGTH = 600
REMEMBERED_QUERY_MAX_LENGTH = ContactListSettings._meta.get_field("query").max_length or 0


def _table_settings(settings: ContactListSettings | None) -> dict[str, Any]:
    if settings is None or settings.columns is None:
        return {"view": settings.view if settings else "table", "columns": DEFAULT_COLUMNS}
    known = [key for key in settings.columns if key in dict(COLUMNS)]
    return {"view": settings.view, "columns": known or ["name"]}


def _shown_columns(table: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, label) for key, label in COLUMNS if key in table["columns"]]


def _shown(table: dict[str, Any]) -> dict[str, bool]:
    """Column key to True for the shown ones: the row template asks `shown.email` (a fast lookup)."""
    return {key: True for key in table["columns"]}


def _cursor(request: StaffRequest, key: str) -> str:
    return request.GET.get(key, "")[:CURSOR_MAX_LENGTH]


def _remember_filters(
    request: StaffRequest, form: AllContactsForm, settings: ContactListSettings | None
) -> ContactListSettings | None:
    """A page asked with valid search, filters or sort remembers them (a page without keeps them)."""
    if not any(key in request.GET for key in FILTER_KEYS) or not form.is_valid():
        return settings
    query = form.remembered_query()
    if query == (settings.query if settings else "") or len(query) > REMEMBERED_QUERY_MAX_LENGTH:
        # A search in letters that take several bytes can outgrow the column: it runs, unremembered.
        return settings
    return contact_list_query_save(user=request.user, query=query)


@staff_required
def all_contacts(request: StaffRequest) -> HttpResponse:
    settings = contact_list_settings_of(request.user)
    htmx = request.htmx  # type: ignore[attr-defined]
    if not request.GET and not htmx and settings is not None and settings.query:
        return redirect(f"{reverse('dashboard:all_contacts')}?{settings.query}")
    form = AllContactsForm.for_staff(request.user, request.GET)
    filters = form.filters()
    settings = _remember_filters(request, form, settings)
    contacts = filter_contacts(contacts_for_staff(request.user), filters)
    page = contacts_page(
        contacts,
        sort=filters.sort,
        after=_cursor(request, "after"),
        before=_cursor(request, "before"),
        size=PAGE_SIZE,
    )
    table = _table_settings(settings)
    context = {
        "form": form,
        "page": page,
        "contacts_zone": list_zone(page.contacts),
        "table": table,
        "columns": _shown_columns(table),
        "shown": _shown(table),
        "all_columns": COLUMNS,
        "sort": filters.sort,
        "sortable": CONTACT_SORTS,
    }
    if htmx and htmx.target == "contacts-results":
        # The sort may have changed from a column head: the Filters panel's choice follows it.
        return render(request, "dashboard/contacts/_results.html", {**context, "partial": True})
    return render(request, "dashboard/contacts/all_contacts.html", context)


@require_POST
@staff_required
def contacts_table_settings(request: StaffRequest) -> HttpResponse:
    """Filters & Settings: remember table or cards, and which columns show, for this staff member."""
    form = ColumnSettingsForm(request.POST)
    if not form.is_valid():
        # Only a hand-made request gets here: the panel offers known choices only.
        return HttpResponseBadRequest("Choose Table or Cards and columns from the list; nothing was changed.")
    contact_list_layout_save(
        user=request.user, view=form.cleaned_data["view"], columns=form.cleaned_data["columns"]
    )
    # The bare address opens with the remembered search and filters.
    return redirect("dashboard:all_contacts")


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
    table = _table_settings(contact_list_settings_of(request.user))
    context = {
        "contact": contact,
        "flash": message,
        "flash_ok": ok,
        "shown": _shown(table),
        "can_manage": request.user.can_change_customer(contact.customer),
    }
    return render(request, template, context)


def _date(value: Any) -> str:
    return value.isoformat() if value else ""


REPORT_COLUMNS = [
    ("Name", lambda c: c.full_name),
    ("Customer", lambda c: c.customer.name),
    ("Primary", lambda c: "yes" if c.is_primary else "no"),
    ("Email", lambda c: c.email or ""),
    ("Phone", lambda c: c.phone),
    ("Portal Access", lambda c: c.portal_access().label),
    ("Account Status", lambda c: c.account_status().label),
    ("First signed in (UTC)", lambda c: _date(c.first_signed_in_at)),
    ("Active", lambda c: c.customer.status_label),
    ("Location", lambda c: c.customer.home_location.name if c.customer.home_location else ""),
    ("Units", lambda c: c.units_count),
    ("Cars", lambda c: c.cars_count),
    ("Created (UTC)", lambda c: _date(c.created_at)),
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _report_rows(contacts: QuerySet[Contact]) -> Iterator[str]:
    """One CSV line at a time, read in chunks: memory stays flat however many contacts there are."""
    writer = csv.writer(_Echo())
    yield writer.writerow([title for title, _ in REPORT_COLUMNS])
    contact: Contact
    for contact in stream_contacts(contacts):
        yield writer.writerow([spreadsheet_safe(str(value(contact))) for _, value in REPORT_COLUMNS])


@staff_required  # type: ignore[arg-type]  # a streaming response is not an HttpResponse
def customer_report(request: StaffRequest) -> StreamingHttpResponse:
    """Customer Report: the All Contacts columns for every contact this staff member may see, as CSV."""
    filters = AllContactsForm.for_staff(request.user, request.GET).filters()
    contacts = filter_contacts(contacts_for_staff(request.user), filters)
    response = StreamingHttpResponse(_report_rows(contacts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customer-report.csv"'
    return response
