"""Receivables: what customers owe, aged, per location; and the same as CSV."""

from collections.abc import Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from keyport.billing.receivables import AGES, LocationReceivables, receivables_for_staff
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.lib.csv_export import csv_lines, safe_cell
from keyport.lib.form_fields import id_from

# Customers a location's table shows; the CSV has them all.
CUSTOMERS_SHOWN = 200
CSV_HEADER = ["Location", "Customer", "Currency", *(age.label for age in AGES), "Overdue", "Open"]


@staff_required
def receivables(request: StaffRequest) -> HttpResponse:
    location_id = id_from(request.GET.get("location"))
    context = {
        "sections": receivables_for_staff(request.user, timezone.now(), location_id=location_id),
        "ages": AGES,
        "location_id": location_id,
        "customers_shown": CUSTOMERS_SHOWN,
        "shown_slice": f":{CUSTOMERS_SHOWN}",
    }
    return render(request, "dashboard/billing/receivables.html", context)


def _csv_rows(sections: list[LocationReceivables]) -> Iterator[list[object]]:
    for section in sections:
        name = safe_cell(section.location.name)
        for aging in section.customers:
            amounts = [cell.amount for cell in aging.cells]
            yield [name, safe_cell(aging.name), section.currency, *amounts, aging.overdue, aging.open]
        totals = [cell.amount for cell in section.totals.cells]
        yield [name, "Total", section.currency, *totals, section.totals.overdue, section.totals.open]


@staff_required  # type: ignore[arg-type]  # a streaming response is not an HttpResponse
def receivables_csv(request: StaffRequest) -> StreamingHttpResponse:
    sections = receivables_for_staff(
        request.user, timezone.now(), location_id=id_from(request.GET.get("location"))
    )
    response = StreamingHttpResponse(
        csv_lines(CSV_HEADER, _csv_rows(sections)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="receivables.csv"'
    return response
