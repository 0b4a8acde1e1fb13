"""Access holders (a contact or a guest at a location) and their PINs."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from keyport.access.models import (
    AccessHolder,
    GrantState,
    SyncOperation,
)
from keyport.access.services.outbox import _intend
from keyport.contacts.models import Contact, Customer
from keyport.facilities.models import Location


def _pin_length() -> int:
    return int(getattr(settings, "ACCESS_PIN_LENGTH", 6))


# Up to this many PINs of a length, a crowded location lists its free ones; beyond, random
# draws cannot all miss.
_PINS_LISTED_UP_TO = 10**6
NO_FREE_PIN = (
    "Every PIN of this length is taken at this location. The facility needs longer PINs "
    "(ACCESS_PIN_LENGTH) before anyone else can be given access."
)


def _new_pin(location: Location) -> str:
    """A PIN nobody at this location has: drawn at random, and when the draws keep meeting taken
    ones, picked from those still free; a ValidationError when there are none."""
    length = _pin_length()
    for _ in range(20):
        pin = "".join(secrets.choice("0123456789") for _ in range(length))
        if not AccessHolder.objects.filter(location=location, pin=pin).exists():
            return pin
    if 10**length <= _PINS_LISTED_UP_TO:
        taken = set(AccessHolder.objects.filter(location=location).values_list("pin", flat=True))
        free = [pin for pin in (f"{n:0{length}d}" for n in range(10**length)) if pin not in taken]
        if free:
            return secrets.choice(free)
    raise ValidationError({"__all__": [NO_FREE_PIN]})


def _holder(*, location: Location, contact: Contact | None, email: str, name: str) -> AccessHolder:
    lookup: dict[str, object] = (
        {"contact": contact} if contact is not None else {"contact__isnull": True, "email": email}
    )
    for _ in range(5):
        holder = AccessHolder.objects.filter(location=location, **lookup).first()
        if holder is not None:
            return holder
        try:
            with transaction.atomic():
                return AccessHolder.objects.create(
                    location=location, contact=contact, email=email, name=name, pin=_new_pin(location)
                )
        except IntegrityError:  # the PIN was taken meanwhile, or this person got their holder: again
            continue
    raise RuntimeError("Could not give this person a PIN.")


def holder_for_contact(*, location: Location, contact: Contact) -> AccessHolder:
    return _holder(location=location, contact=contact, email=contact.email or "", name=contact.full_name)


def _holders_follow_contacts(customer: Customer) -> None:
    """Holders carry their contact's email and name; a change reaches the provider with the grants."""
    holders = AccessHolder.objects.filter(contact__customer=customer).select_related("contact")
    for holder in holders:
        contact = holder.contact
        if contact is None:
            continue
        email, name = contact.email or "", contact.full_name
        if (holder.email, holder.name) == (email, name):
            continue
        holder.email, holder.name = email, name
        holder.save(update_fields=["email", "name"])
        grants = list(
            holder.grants.filter(state=GrantState.ACTIVE).select_related("booking__location", "holder")
        )
        _intend(grants, SyncOperation.UPSERT)


def holder_for_guest(*, location: Location, email: str) -> AccessHolder:
    return _holder(location=location, contact=None, email=email, name="")
