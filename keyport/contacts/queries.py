"""Reads of customers and contacts: Account Status, sign-in links, what the portal shows. Portal
Access and the lists staff see read bookings and cars too: they are the front desk's
(`keyport.frontdesk.queries`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    Value,
    When,
)
from django.urls import reverse

from keyport.contacts.models import (
    AccountStatus,
    Contact,
    Customer,
    CustomerAppSettings,
    PortalLink,
)
from keyport.facilities.models import Location
from keyport.lib.tokens import token_hash


def account_status_expression() -> Case:
    email_sent = Exists(PortalLink.objects.filter(contact=OuterRef("pk"), sent_to=OuterRef("email")))
    return Case(
        When(first_signed_in_at__isnull=False, then=Value(AccountStatus.SIGNED_IN.value)),
        When(email_sent, then=Value(AccountStatus.EMAIL_SENT.value)),
        default=Value(AccountStatus.NOT_SIGNED_IN.value),
        output_field=CharField(),
    )


def get_contact_by_email(email: str) -> Contact | None:
    return Contact.objects.select_related("customer").filter(email=email).first()


def find_portal_link(token: str) -> PortalLink | None:
    """The link a token names (used, expired or not), with its contact; None for a token never issued."""

    return (
        PortalLink.objects.select_related("contact", "contact__customer")
        .filter(token_hash=token_hash(token))
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
# /login/?location=3 shows location 3's branding: the address a site links to from its website.
LOGIN_LOCATION_PARAMETER = "location"


def portal_login_path(location: Location | None) -> str:
    """The portal's login page; naming a location makes it show that location's branding."""
    path = reverse("sign_in:login")
    return f"{path}?{urlencode({LOGIN_LOCATION_PARAMETER: location.pk})}" if location is not None else path


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


# What staff see ---------------------------------------------------------------------------


def primary_contact(contacts: Sequence[Contact]) -> Contact | None:
    """The primary contact among an account's contacts (already read), or None."""
    return next((contact for contact in contacts if contact.is_primary), None)
