"""Reads of customers and contacts: the derived Portal Access and Account Status, scoped to who asks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from django.http import Http404

from keyport.bookings.models import Booking, BookingStatus
from keyport.cars.models import Car
from keyport.contacts.models import (
    AccountStatus,
    Contact,
    Customer,
    CustomerAppSettings,
    CustomerKind,
    PortalAccess,
    PortalLink,
)
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser


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


def account_status_expression() -> Case:
    email_sent = Exists(PortalLink.objects.filter(contact=OuterRef("pk"), sent_to=OuterRef("email")))
    return Case(
        When(first_signed_in_at__isnull=False, then=Value(AccountStatus.SIGNED_IN.value)),
        When(email_sent, then=Value(AccountStatus.EMAIL_SENT.value)),
        default=Value(AccountStatus.NOT_SIGNED_IN.value),
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


def get_contact_by_email(email: str) -> Contact | None:
    return Contact.objects.select_related("customer").filter(email=email).first()


def find_portal_link(token: str) -> PortalLink | None:
    """The link a token names (used, expired or not), with its contact; None for a token never issued."""
    from keyport.contacts.services import portal_token_hash

    return (
        PortalLink.objects.select_related("contact", "contact__customer")
        .filter(token_hash=portal_token_hash(token))
        .first()
    )


# What a portal contact sees -----------------------------------------------------------------


@dataclass(frozen=True)
class PortalSections:
    """Settings > Website & customer app, as it applies to one customer."""

    cars: bool = True
    billing: bool = True
    documents: bool = True
    events: bool = True
    settings: bool = True

    def shows(self, section: str) -> bool:
        return bool(getattr(self, section))

    def enabled(self) -> list[str]:
        return [name for name in PORTAL_SECTIONS if self.shows(name)]


PORTAL_SECTIONS = ("cars", "billing", "documents", "events", "settings")


def portal_location(customer: Customer) -> Location | None:
    """The location whose customer app settings apply: the home location, else the first booking's."""
    if customer.home_location_id is not None:
        return customer.home_location
    first = customer.bookings.select_related("location").order_by("starts_on", "id").first()
    return first.location if first is not None else None


def sections_for_customer(customer: Customer) -> PortalSections:
    location = portal_location(customer)
    if location is None:
        return PortalSections()
    row = CustomerAppSettings.objects.filter(location=location).first()
    return sections_of_location(row)


def sections_of_location(row: CustomerAppSettings | None) -> PortalSections:
    if row is None:
        return PortalSections()
    return PortalSections(
        cars=row.show_cars,
        billing=row.show_billing,
        documents=row.show_documents,
        events=row.show_events,
        settings=row.show_settings,
    )


def bookings_of_customer(customer: Customer) -> QuerySet[Booking]:
    """The account's bookings, newest first, with location and units (for the Your Bookings card)."""
    return (
        Booking.objects.filter(customer=customer)
        .select_related("location")
        .prefetch_related("units")
        .order_by("-starts_on", "-id")
    )


def cars_of_customer(customer: Customer) -> QuerySet[Car]:
    return Car.objects.filter(customer=customer).select_related("bay", "bay__location").order_by("make", "id")


def contacts_of_customer(customer: Customer) -> QuerySet[Contact]:
    return with_portal_facts(customer.contacts.select_related("customer")).order_by(
        "-is_primary", "first_name", "last_name", "id"
    )


# What staff see ---------------------------------------------------------------------------


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
    customer = customers_for_staff(user).select_related("home_location").filter(pk=customer_id).first()
    if customer is None:
        raise Http404("No such customer.")
    return customer


def contacts_for_staff(user: StaffUser) -> QuerySet[Contact]:
    return with_portal_facts(
        Contact.objects.filter(customer__in=customers_for_staff(user)).select_related(
            "customer", "customer__home_location"
        )
    )


def get_contact_for_staff(user: StaffUser, contact_id: int) -> Contact:
    contact = contacts_for_staff(user).filter(pk=contact_id).first()
    if contact is None:
        raise Http404("No such contact.")
    return contact


@dataclass(frozen=True, kw_only=True)
class ContactFilters:
    search: str = ""
    portal_access: str = ""
    account_status: str = ""
    active: str = ""  # "", "active", "inactive"
    sort: str = "name"


CONTACT_SORTS = {
    "name": ["first_name", "last_name", "id"],
    "-name": ["-first_name", "-last_name", "-id"],
    "customer": ["customer__name", "first_name", "id"],
    "portal_access": ["portal_access_value", "first_name", "id"],
    "account_status": ["account_status_value", "first_name", "id"],
    "created": ["-created_at", "-id"],
}


def filter_contacts(contacts: QuerySet[Contact], filters: ContactFilters) -> QuerySet[Contact]:
    """All Contacts: search by name, email, phone or customer; filter and sort on the derived columns."""
    text = filters.search.strip()
    if text:
        for word in text.split()[:5]:
            contacts = contacts.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(phone__icontains=word)
                | Q(customer__name__icontains=word)
            )
    if filters.portal_access in PortalAccess.values:
        # Annotated by with_portal_facts (the type checker cannot see annotations).
        contacts = contacts.filter(**{"portal_access_value": filters.portal_access})
    if filters.account_status in AccountStatus.values:
        contacts = contacts.filter(**{"account_status_value": filters.account_status})
    if filters.active == "active":
        contacts = contacts.filter(customer__is_active=True)
    elif filters.active == "inactive":
        contacts = contacts.filter(customer__is_active=False)
    return contacts.order_by(*CONTACT_SORTS.get(filters.sort, CONTACT_SORTS["name"]))


# The Portal check panel -------------------------------------------------------------------


@dataclass(frozen=True)
class Linked:
    """What is linked to an account, as a Full customer would see it in the portal."""

    bookings: int
    cars: int
    documents: int | None  # None: that part of Keyport is not installed yet
    invoices: int | None

    @property
    def nothing(self) -> bool:
        return not (self.bookings or self.cars or self.documents or self.invoices)


def _count_if_installed(model_label: str, customer: Customer) -> int | None:
    from django.apps import apps

    try:
        model = apps.get_model(model_label)
    except LookupError:
        return None
    return int(model._default_manager.filter(customer=customer).count())


def linked_to_customer(customer: Customer) -> Linked:
    return Linked(
        bookings=customer.bookings.exclude(status=BookingStatus.CANCELLED).count(),
        cars=customer.cars.count(),
        documents=_count_if_installed("documents.Document", customer),
        invoices=_count_if_installed("billing.Invoice", customer),
    )


@dataclass(frozen=True)
class PortalCheckStep:
    question: str
    answer: str
    ok: bool


@dataclass(frozen=True)
class PortalCheck:
    """The seed's phone-support checklist for one contact, in its order, and the next action."""

    contact: Contact
    steps: list[PortalCheckStep]
    next_action: str
    action: str  # "send_invite", "resend_invite", "edit_contact", "activate", "" (explain only)


def portal_check(contact: Contact, linked: Linked) -> PortalCheck:
    access = contact.portal_access()
    status = contact.account_status()
    customer = contact.customer
    linked_text = (
        f"{linked.bookings} booking{'s' if linked.bookings != 1 else ''}, "
        f"{linked.cars} car{'s' if linked.cars != 1 else ''}, "
        + ("documents not set up" if linked.documents is None else f"{linked.documents} documents")
        + ", "
        + ("billing not set up" if linked.invoices is None else f"{linked.invoices} invoices")
    )
    steps = [
        PortalCheckStep("Email on the record?", contact.email or "No email address", bool(contact.email)),
        PortalCheckStep(
            "Portal access switched on?",
            "Yes" if contact.can_access_portal else "No: Can access customer portal is off",
            contact.can_access_portal,
        ),
        PortalCheckStep("Customer Active?", customer.status_label, customer.is_active),
        PortalCheckStep("Portal Access", access.label, access == PortalAccess.FULL),
        PortalCheckStep("Account Status", status.label, status == AccountStatus.SIGNED_IN),
        PortalCheckStep("What is linked", linked_text, not linked.nothing),
    ]
    if not contact.email:
        return PortalCheck(
            contact, steps, "Add an email address that belongs to this person.", "edit_contact"
        )
    if not contact.can_access_portal:
        return PortalCheck(
            contact,
            steps,
            "Enable portal access: Edit Contact, tick Can access customer portal (login with their email).",
            "edit_contact",
        )
    if not customer.is_active:
        return PortalCheck(
            contact, steps, "The customer is Inactive: switch CRM Information to Active first.", "activate"
        )
    if status == AccountStatus.NOT_SIGNED_IN:
        return PortalCheck(contact, steps, "Send Invite, or walk them through the login page.", "send_invite")
    if status == AccountStatus.EMAIL_SENT:
        return PortalCheck(
            contact, steps, "Resend Invite, or walk them through the login page.", "resend_invite"
        )
    if access == PortalAccess.TICKET_ONLY:
        return PortalCheck(
            contact,
            steps,
            "Ticket-only: they see their tickets and events, not the storage dashboard, "
            "until they become a storage customer (a booking or a car).",
            "",
        )
    if linked.nothing:
        return PortalCheck(
            contact,
            steps,
            "Signed In, but nothing is linked: add their bookings, cars, documents or billing.",
            "",
        )
    return PortalCheck(
        contact,
        steps,
        "All set: they sign in on the login page with this email; check what is linked if one is missing.",
        "",
    )
