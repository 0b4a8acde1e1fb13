"""All Contacts and the customers and contacts staff may see: scoped to who asks (a booking at one
of their locations counts), with the columns that read bookings and cars, searched (a plate too),
filtered, sorted and paged by keyset."""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import IContains
from django.shortcuts import get_object_or_404
from django.utils import timezone

from keyport.bookings.models import Booking, BookingUnit
from keyport.cars.models import Car, plate_search_key, without_spaces_and_dashes
from keyport.contacts.models import (
    AccountStatus,
    Contact,
    Customer,
    EmailOrEmpty,
    PortalAccess,
)
from keyport.frontdesk.queries.portal_access import with_portal_facts
from keyport.lib.counts import count_per
from keyport.lib.keyset import decode_cursor_values, encode_cursor_values, is_cursor_id, seek_window
from keyport.lib.search_text import foldings
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_operator


def customers_for_staff(user: StaffUser) -> QuerySet[Customer]:
    """Owners and unscoped staff see every customer; scoped staff those at home at one of their
    locations or with a booking there."""
    customers = Customer.objects.all()
    if not user.is_scoped_to_locations():
        return customers
    mine = user.locations.all()
    booked_here = Exists(Booking.objects.filter(customer=OuterRef("pk"), location__in=mine))
    return customers.filter(Q(home_location__in=mine) | Q(booked_here))


def get_customer_for_staff(user: StaffUser, customer_id: int) -> Customer:
    customer = get_object_or_404(customers_for_staff(user).select_related("home_location"), pk=customer_id)
    return customer


def get_customer_for_manager(user: StaffUser, customer_id: int) -> Customer:
    """A customer to change (contacts, Active / Inactive, documents, cars, lockout exemption):
    owners, and managers of its home location (`StaffUser.can_change_customer`)."""
    customer = get_customer_for_staff(user, customer_id)
    if not user.can_change_customer(customer):
        raise PermissionDenied
    return customer


def customers_to_move_in(user: StaffUser) -> QuerySet[Customer]:
    """The active customers this staff member may rent units to: those they change (owners every
    one, managers those at home at a location they run), each with `primary_email` (so that two
    of the same name can be told apart)."""
    customers = Customer.objects.filter(is_active=True)
    if not user.is_owner:
        customers = customers.filter(home_location__in=locations_for_operator(user))
    primary = Contact.objects.filter(customer=OuterRef("pk"), is_primary=True).values("email")[:1]
    return (
        customers.select_related("home_location")
        .annotate(primary_email=Subquery(primary))
        .order_by("name", "id")
    )


def find_customers_to_move_in(user: StaffUser, text: str, *, limit: int = 10) -> list[Customer]:
    """Move in's customer search: by a contact's name, email or phone (see `search_contacts`)."""
    customers = customers_to_move_in(user)
    if text.strip():
        customers = customers.filter(
            pk__in=Contact.objects.filter(search_contacts(text)).values("customer_id")
        )
    return list(customers[:limit])


def contacts_for_staff(user: StaffUser) -> QuerySet[Contact]:
    """Contacts this staff member may see, with the All Contacts columns."""
    contacts = Contact.objects.all()
    if user.is_scoped_to_locations():
        # Only scoped staff get the filter: without it an owner's pages are read straight off
        # the sort index.
        contacts = contacts.filter(customer__in=customers_for_staff(user))
    return with_list_columns(contacts)


def with_list_columns(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Account, home location, Portal Access, Account Status, Units and Cars, in the same query."""
    return with_portal_facts(contacts.select_related("customer", "customer__home_location")).annotate(
        units_count=_units_of_customer(), cars_count=_cars_of_customer()
    )


def _units_of_customer() -> Coalesce:
    """Units in the customer's current and upcoming bookings (evaluated for the shown rows only)."""
    ongoing = Q(ends_on__isnull=True) | Q(ends_on__gte=timezone.localdate())
    booked = BookingUnit.objects.filter(ongoing, is_cancelled=False)
    return count_per(booked, "booking__customer", "customer_id", counted="unit")


def _cars_of_customer() -> Coalesce:
    return count_per(Car.objects.all(), "customer", "customer_id")


def get_contact_for_staff(user: StaffUser, contact_id: int) -> Contact:
    contact = get_object_or_404(contacts_for_staff(user), pk=contact_id)
    return contact


def get_contact_for_manager(user: StaffUser, contact_id: int) -> Contact:
    """A contact to edit: the same people who change its customer."""
    contact = get_contact_for_staff(user, contact_id)
    if not user.can_change_customer(contact.customer):
        raise PermissionDenied
    return contact


@dataclass(frozen=True, kw_only=True)
class ContactFilters:
    search: str = ""
    portal_access: str = ""
    account_status: str = ""
    active: str = ""  # "", "active", "inactive"
    location_id: int | None = None  # the customer's home location
    sort: str = "name"  # a key of CONTACT_SORTS, "-" in front for descending


# Each sort is a tuple of keys ending in the id, so that it is total and a page can seek past
# its last row. Every tuple has an index of its own (see Contact.Meta.indexes).
CONTACT_SORTS = {
    "name": ("first_name", "last_name", "id"),
    "email": ("email_sort_key", "id"),
    "phone": ("phone", "id"),
    "created": ("created_at", "id"),
}


def contact_sort_keys(sort: str) -> tuple[tuple[str, ...], bool]:
    """The sort's keys and whether it runs descending; an unknown sort is by name."""
    descending = sort.startswith("-")
    keys = CONTACT_SORTS.get(sort.removeprefix("-"))
    if keys is None:
        return CONTACT_SORTS["name"], False
    return keys, descending


def filter_contacts(contacts: QuerySet[Contact], filters: ContactFilters) -> QuerySet[Contact]:
    """All Contacts and the Customer Report: search, filter, and sort (by an indexed key)."""
    text = filters.search.strip()
    if text:
        # One pass over the contacts finds the matches; the page then reads them in sort order
        # off the sort index. (Testing rows one by one in sort order reads the whole index
        # through the table when a search matches few.)
        contacts = contacts.filter(pk__in=Contact.objects.filter(search_contacts(text)).values("pk"))
    if filters.portal_access in PortalAccess.values:
        # Annotated by with_portal_facts (the type checker cannot see annotations).
        contacts = contacts.filter(**{"portal_access_value": filters.portal_access})
    if filters.account_status in AccountStatus.values:
        contacts = contacts.filter(**{"account_status_value": filters.account_status})
    if filters.active in ("active", "inactive"):
        # Asked row by row as the page walks the sort index (it stops after a page): as a join,
        # SQLite would first read every customer into a Bloom filter.
        contacts = contacts.filter(
            Exists(Customer.objects.filter(pk=OuterRef("customer_id"), is_active=filters.active == "active"))
        )
    if filters.location_id is not None:
        contacts = contacts.filter(customer__home_location_id=filters.location_id)
    keys, descending = contact_sort_keys(filters.sort)
    return contacts.alias(email_sort_key=EMAIL_SORT_KEY).order_by(
        *(f"-{key}" if descending else key for key in keys)
    )


# Stored emails are normalised to lower case; contacts without one sort as the empty text.
EMAIL_SORT_KEY = EmailOrEmpty("email")


PHONE_TEXT = re.compile(r"[\d\s+()./-]+")


def search_contacts(text: str) -> Q:
    """Every word in the name, email or phone; or the phone number by its digits; or a plate.

    The words are looked for in `Contact.search_text` (the four fields in one column, folded:
    one comparison a row, two for a word with an umlaut), a word with an @ in the (lower-case)
    email.
    Phone and plate are also matched on the whole text with spaces and dashes taken out on both
    sides, so that "b-ms1800" finds "B MS 1800" and "30 1234-5" finds "+49 30 12345". The
    database keeps a car's plate in that form (`Car.plate_key`); a phone number is stripped as
    it is read, so only a text made of digits and phone punctuation is looked for that way. Only
    a text with a digit (and no @) is looked for among the plates.
    """
    found = Q()
    for word in text.split()[:5]:
        # A word with an @ can only be part of an email: the shorter column is quicker to scan.
        if "@" in word:
            found &= Q(email__contains=word.lower())
        else:
            found &= contact_word(word)
    plate = plate_search_key(text)
    if any(character.isdigit() for character in plate) and "@" not in plate:
        # The matching accounts are found in one pass over the cars, not once per contact.
        cars = Car.objects.filter(plate_key__contains=plate)
        found |= Q(customer_id__in=cars.values("customer_id"))
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 3 and PHONE_TEXT.fullmatch(text):
        found |= Q(IContains(without_spaces_and_dashes("phone"), digits))
    return found


def contact_word(word: str) -> Q:
    """Contacts whose name, email or phone holds the word, accents and case aside, in either of
    its foldings (keyport.lib.search_text): "kruger" finds "Krüger", "Müller" finds "Mueller"."""
    return reduce(operator.or_, (Q(search_text__contains=folded) for folded in sorted(foldings(word))))


def customers_with_a_contact_named(text: str) -> QuerySet[Contact, Any]:
    """The ids of the accounts one of whose people has every word of the text in their name,
    email or phone, accents and case aside: for the lists that search by customer (Rentals, Cars)."""
    found = Q()
    for word in text.split()[:5]:
        found &= contact_word(word)
    return Contact.objects.filter(found).values("customer_id")


def stream_contacts(contacts: QuerySet[Contact], *, chunk_size: int = 2000) -> Iterator[Contact]:
    """Every contact of the query, read from the database a chunk at a time.

    Inside a transaction PostgreSQL hands the rows over as its cursor reaches them; outside one
    Django's cursor is WITH HOLD, and PostgreSQL works out the whole result before the first row.
    SQLite streams without one, and must: its transactions here take the write lock at BEGIN,
    which would hold every door's event write for the length of the export.
    """
    if connection.vendor != "postgresql":
        yield from contacts.iterator(chunk_size=chunk_size)
        return
    with transaction.atomic():
        yield from contacts.iterator(chunk_size=chunk_size)


@dataclass(frozen=True)
class ContactPage:
    """One page of All Contacts, and the cursors of the pages before and after it (or None)."""

    contacts: list[Contact]
    previous_cursor: str | None
    next_cursor: str | None


def contacts_page(
    contacts: QuerySet[Contact], *, sort: str, after: str = "", before: str = "", size: int = 50
) -> ContactPage:
    """Seek to the page after (or before) a cursor on the sort's keys (`keyport.lib.keyset`). A
    cursor that does not decode starts from the first page."""
    keys, descending = contact_sort_keys(sort)
    order = [f"-{key}" if descending else key for key in keys]
    window = seek_window(
        lambda beyond, backwards: _window(contacts, order, beyond, size, backwards=backwards),
        keys=keys,
        descending=descending,
        after=decode_cursor(after, keys) if after else None,
        before=decode_cursor(before, keys) if before else None,
        size=size,
    )
    rows = window.rows
    return ContactPage(
        contacts=rows,
        previous_cursor=encode_cursor(rows[0], keys) if rows and window.has_previous else None,
        next_cursor=encode_cursor(rows[-1], keys) if rows and window.has_next else None,
    )


def _window(
    contacts: QuerySet[Contact], order: list[str], beyond: Q, size: int, *, backwards: bool = False
) -> list[Contact]:
    """Up to size + 1 rows beyond the cursor, in the sort's order, with their columns.

    The ids are picked first, off the sort index; the columns' subqueries then run for those
    rows only. (Asked in one query, PostgreSQL plans them for the whole table and hashes every
    booking and car on each page.)
    """
    seek = [key[1:] if key.startswith("-") else f"-{key}" for key in order] if backwards else order
    ids = contacts.filter(beyond).order_by(*seek).values("pk")[: size + 1]
    rows = with_list_columns(Contact.objects.filter(pk__in=ids))
    return list(rows.alias(email_sort_key=EMAIL_SORT_KEY).order_by(*order))


def _sort_value(contact: Contact, key: str) -> Any:
    if key == "email_sort_key":
        return contact.email or ""
    value = getattr(contact, key)
    return value.isoformat() if isinstance(value, dt.datetime) else value


def encode_cursor(contact: Contact, keys: tuple[str, ...]) -> str:
    return encode_cursor_values([_sort_value(contact, key) for key in keys])


def decode_cursor(cursor: str, keys: tuple[str, ...]) -> list[Any] | None:
    """The sort values a cursor holds, checked against the sort's keys; None if it does not fit."""
    values = decode_cursor_values(cursor, len(keys))
    if values is None:
        return None
    checked: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        if key == "id":
            if not is_cursor_id(value):
                return None
            checked.append(value)
        elif key == "created_at":
            try:
                when = dt.datetime.fromisoformat(value)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                return None
            checked.append(when)
        elif isinstance(value, str) and "\x00" not in value:  # PostgreSQL refuses NUL in text
            checked.append(value)
        else:
            return None
    return checked
