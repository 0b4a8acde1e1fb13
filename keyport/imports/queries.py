"""Reads of imports: an owner's imports, one import's Check first totals and lines, its report."""

from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from keyport.imports.models import ImportRow, RowOutcome, RowPlan, TenantImport
from keyport.lib.csv_export import csv_lines, safe_cell
from keyport.staff.models import StaffUser


def imports_for_owner(staff: StaffUser) -> QuerySet[TenantImport]:
    if not staff.is_owner:
        raise PermissionDenied
    return TenantImport.objects.select_related("location", "created_by")


def get_import_for_owner(staff: StaffUser, import_id: int) -> TenantImport:
    return get_object_or_404(imports_for_owner(staff), pk=import_id)


def import_totals(tenant_import: TenantImport) -> dict[str, int]:
    """Lines by what Check first says they will do, and by what the import did."""
    totals = {plan: 0 for plan in RowPlan.values} | {outcome or "pending": 0 for outcome in RowOutcome.values}
    rows = ImportRow.objects.filter(tenant_import=tenant_import)
    for plan, count in rows.values_list("plan").annotate(count=Count("pk")).order_by():
        totals[plan] = count
    for outcome, count in rows.values_list("outcome").annotate(count=Count("pk")).order_by():
        totals[outcome or "pending"] = count
    totals["lines"] = sum(totals[plan] for plan in RowPlan.values)
    return totals


def import_lines(tenant_import: TenantImport, *, errors: bool, limit: int) -> list[ImportRow]:
    rows = tenant_import.rows.select_related("unit").order_by("-kind", "line")
    rows = rows.filter(plan=RowPlan.ERROR) if errors else rows.exclude(plan=RowPlan.ERROR)
    return list(rows[:limit])


REPORT_HEADER = [
    "file",
    "line",
    "check",
    "outcome",
    "message",
    "name",
    "email",
    "customer email",
    "unit",
    "move-in",
    "move-out",
    "monthly rent",
    "balance due",
    "customer id",
    "booking id",
    "invoice id",
    "invited at (UTC)",
]


def import_report_lines(tenant_import: TenantImport) -> Iterator[str]:
    """The report, one CSV line at a time, read in chunks: memory stays flat however long the file.
    Every cell from the file is written so that a spreadsheet shows it and never runs it."""
    rows = (
        ImportRow.objects.filter(tenant_import=tenant_import)
        .order_by("-kind", "line")
        .values_list(
            "kind",
            "line",
            "plan",
            "outcome",
            "message",
            "name",
            "email",
            "customer_email",
            "unit_number",
            "starts_on",
            "ends_on",
            "monthly_rent",
            "balance_due",
            "customer_id",
            "booking_id",
            "invoice_id",
            "invited_at",
        )
    )
    return csv_lines(
        REPORT_HEADER,
        (
            [safe_cell("" if cell is None else str(cell)) for cell in row]
            for row in rows.iterator(chunk_size=2000)
        ),
    )
