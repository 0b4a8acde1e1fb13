"""The Units page's rows: what each cell shows, worked out once a row in Python rather than by
the template's branches and one URL reversal a link (the page is read often, at 50 rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
