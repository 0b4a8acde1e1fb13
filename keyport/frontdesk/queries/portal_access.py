"""Portal Access, derived from the account: Full for a storage customer (an active storage
account, a booking that is not cancelled, or a car), Ticket-only otherwise; in SQL for lists and
the portal's session, and in Python for one account."""

from __future__ import annotations

from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from keyport.bookings.models import Booking, BookingStatus
from keyport.cars.models import Car
from keyport.contacts.models import (
    Contact,
    Customer,
    CustomerKind,
    PortalAccess,
)
from keyport.contacts.queries import account_status_expression


def is_storage_customer(*, customer_id: str, customer_fields: str) -> Q:
    """Has a booking, a car, or is an active storage account (the same rule as Customer.is_storage_customer).

    `customer_id` names the customer's id from the queried model ("pk" or "customer_id"),
    `customer_fields` the prefix of its fields ("" or "customer__").
    """
    has_booking = Exists(
        Booking.objects.filter(customer=OuterRef(customer_id)).exclude(status=BookingStatus.CANCELLED)
    )
    has_car = Exists(Car.objects.filter(customer=OuterRef(customer_id)))
    active_storage = Q(
        **{f"{customer_fields}kind": CustomerKind.STORAGE, f"{customer_fields}is_active": True}
    )
    return active_storage | Q(has_booking) | Q(has_car)


def portal_access_expression(*, customer_id: str, customer_fields: str) -> Case:
    return Case(
        When(
            is_storage_customer(customer_id=customer_id, customer_fields=customer_fields),
            then=Value(PortalAccess.FULL.value),
        ),
        default=Value(PortalAccess.TICKET_ONLY.value),
        output_field=CharField(),
    )


def with_portal_facts(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Each contact with `portal_access_value` and `account_status_value`, in the same query."""
    return contacts.annotate(
        portal_access_value=portal_access_expression(customer_id="customer_id", customer_fields="customer__"),
        account_status_value=account_status_expression(),
    )


def customers_with_portal_access(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return customers.annotate(
        portal_access_value=portal_access_expression(customer_id="pk", customer_fields="")
    )


def get_portal_contact(contact_id: int) -> Contact | None:
    """The contact a portal session names, with its account and Portal Access, in one query."""
    return (
        with_portal_facts(Contact.objects.select_related("customer", "customer__home_location"))
        .filter(pk=contact_id)
        .first()
    )


def contacts_of_customer(customer: Customer) -> QuerySet[Contact]:
    return with_portal_facts(customer.contacts.select_related("customer__home_location")).order_by(
        "-is_primary", "first_name", "last_name", "id"
    )


def customer_portal_access(customer: Customer) -> PortalAccess:
    """One account's Portal Access, by the rule of `is_storage_customer`."""
    storage = customer.kind == CustomerKind.STORAGE and customer.is_active
    if (
        storage
        or customer.bookings.exclude(status=BookingStatus.CANCELLED).exists()
        or customer.cars.exists()
    ):
        return PortalAccess.FULL
    return PortalAccess.TICKET_ONLY
