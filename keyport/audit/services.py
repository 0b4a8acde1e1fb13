from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import models

from keyport.audit.models import ActorKind, AuditEntry

if TYPE_CHECKING:
    from keyport.contacts.models import Customer
    from keyport.facilities.models import Location
    from keyport.staff.models import StaffUser


class Actor:
    """Who caused a change: a staff user, a portal contact, a guest, a device or the system."""

    def __init__(self, *, kind: ActorKind, label: str, id: int | None = None) -> None:
        self.kind = kind
        self.label = label
        self.id = id

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(kind=ActorKind.STAFF, label=user.email, id=user.pk)

    @classmethod
    def system(cls, label: str = "Keyport") -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=label)

    def __repr__(self) -> str:
        return f"Actor({self.kind}, {self.label!r})"


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None,
    target_label: str = "",
    location: Location | None = None,
    customer: Customer | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry; call it inside the transaction that makes the change.

    `target` is None only for what happens to no stored object (sign-in attempts for an account
    that does not exist); `target_label` then says what it was about.
    """
    if target is not None and target.pk is None:
        raise ValueError("Audit an object after it is saved.")
    return AuditEntry.objects.create(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:200],
        action=action,
        target_type="" if target is None else target._meta.label_lower,
        target_id=None if target is None else target.pk,
        target_label=(target_label if target is None else str(target))[:200],
        location=location,
        customer=customer,
        details=details or {},
    )


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value differs, each as [old, new]: the "changed" an audit row shows."""
    return {key: [before[key], after[key]] for key in before if before[key] != after[key]}


def audit_changes(
    *, actor: Actor, action: str, target: models.Model, location: Location | None, changed: dict[str, Any]
) -> None:
    """Audit an edit as the [old, new] values of its fields; nothing when no field changed."""
    if changed:
        audit_record(
            actor=actor, action=action, target=target, location=location, details={"changed": changed}
        )
