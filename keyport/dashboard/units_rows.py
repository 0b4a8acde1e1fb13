"""The Units page's rows: what each cell shows, worked out and written once a row in Python rather
than by the template's branches and one URL reversal a link (the page is read often, at 50 rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.formats import localize
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from keyport.bookings.unit_states import Tenant, UnitState
from keyport.facilities.models import Unit, UnitStatus
from keyport.lib.urls import id_url

STATE_BADGES = {
    UnitState.AVAILABLE: "text-bg-success",
    UnitState.RESERVED: "text-bg-info",
    UnitState.OCCUPIED: "text-bg-primary",
    UnitState.LOCKED: "text-bg-danger",
    UnitState.OUT_OF_SERVICE: "text-bg-secondary",
}


@dataclass(frozen=True)
class UnitRow:
    unit: Unit
    kind_label: str
    edit_url: str
    state: UnitState
    state_badge: str
    service_note: str  # the reason of an Out of service unit, "" for one in service
    tenant: Tenant | None
    tenant_url: str
    tenant_note: str  # "from …" for a booking that starts after the day, "until …" for one that ends
    access_points: list[str]


def unit_rows(units: Sequence[Unit], day: dt.date) -> list[UnitRow]:
    """Rows of units read `with_states` (`keyport.bookings.unit_states.UnitsOnDay`)."""
    unit_url = id_url("dashboard:unit_edit")
    customer_url = id_url("dashboard:customer_detail")
    return [_row(unit, day, unit_url(unit.pk), customer_url) for unit in units]


def _row(unit: Unit, day: dt.date, edit_url: str, customer_url: Any) -> UnitRow:
    read: Any = unit  # `state`, `tenant` and `access_point_names` are set by with_states
    state, tenant = UnitState(read.state), read.tenant
    return UnitRow(
        unit=unit,
        kind_label=unit.get_kind_display(),
        edit_url=edit_url,
        state=state,
        state_badge=STATE_BADGES[state],
        service_note=_service_note(unit, state),
        tenant=tenant,
        tenant_url=customer_url(tenant.customer_id) if tenant else "",
        tenant_note=_tenant_note(tenant, day) if tenant else "",
        access_points=read.access_point_names,
    )


def _service_note(unit: Unit, state: UnitState) -> str:
    if unit.status != UnitStatus.OUT_OF_SERVICE:
        return ""
    if state == UnitState.OUT_OF_SERVICE:
        return unit.out_of_service_reason
    # Taken out of service while still held by a booking: its state is the booking's.
    return f"Out of service: {unit.out_of_service_reason}"


def _tenant_note(tenant: Tenant, day: dt.date) -> str:
    if tenant.starts_on > day:
        return f"from {tenant.starts_on.isoformat()}"
    if tenant.ends_on:
        return f"until {tenant.ends_on.isoformat()}"
    return ""


# A page of the Units list, written out in Python (as the Django admin writes its changelist's
# cells): the template language's branches cost more than the rest of the page at 50 rows.

_SMALL = '<div class="small text-body-secondary">{}</div>'


def units_table_rows(
    rows: Sequence[UnitRow], *, can_manage: bool, move_in_url: str, currency: str
) -> SafeString:
    """The `<tr>` of each row; the Move in button only for those who can manage and a unit Available."""
    return SafeString("".join(_tr(row, can_manage, move_in_url, currency) for row in rows))


def _tr(row: UnitRow, can_manage: bool, move_in_url: str, currency: str) -> str:
    unit = row.unit
    number = (
        format_html('<a href="{}">{}</a>', row.edit_url, unit.number) if can_manage else escape(unit.number)
    )
    cells = [
        format_html("<td>{}" + _SMALL + "</td>", number, row.kind_label),
        _type_cells(unit, currency),
        format_html(
            '<td><span class="badge {}">{}</span>{}{}</td>',
            row.state_badge,
            row.state.label,
            mark_safe(' <span class="small">overdue</span>') if row.state == UnitState.LOCKED else "",  # noqa: S308
            format_html(_SMALL, row.service_note) if row.service_note else "",
        ),
        _tenant_cell(row),
        format_html(
            "<td>{}</td>",
            format_html_join(
                "", '<span class="badge text-bg-light border">{}</span> ', ((n,) for n in row.access_points)
            )
            or mark_safe('<span class="badge text-bg-warning">Not mapped</span>'),  # noqa: S308
        ),
    ]
    if can_manage:
        cells.append(_move_in_cell(row, move_in_url))
    return format_html('<tr id="unit-{}">{}</tr>', unit.pk, SafeString("".join(cells)))


def _type_cells(unit: Unit, currency: str) -> str:
    size = format_html("{} m²", localize(unit.size_m2))
    unit_type = unit.unit_type
    if unit_type is None:
        return format_html('<td>—</td><td class="text-end">{}</td><td class="text-end">—</td>', size)
    return format_html(
        '<td>{}</td><td class="text-end">{}' + _SMALL + '</td><td class="text-end">{} {}' + _SMALL + "</td>",
        unit_type.name,
        unit_type.dimensions,
        size,
        localize(unit_type.monthly_price),
        currency,
        "a month",
    )


def _tenant_cell(row: UnitRow) -> str:
    if row.tenant is None:
        return "<td>—</td>"
    note = format_html(_SMALL, row.tenant_note) if row.tenant_note else ""
    return format_html('<td><a href="{}">{}</a>{}</td>', row.tenant_url, row.tenant.name, note)


def _move_in_cell(row: UnitRow, move_in_url: str) -> str:
    if row.state != UnitState.AVAILABLE or not move_in_url:
        return "<td></td>"
    return format_html(
        '<td><a class="btn btn-outline-primary btn-sm" href="{}?unit={}">Move in'
        '<span class="visually-hidden"> to unit {}</span></a></td>',
        move_in_url,
        row.unit.pk,
        row.unit.number,
    )
