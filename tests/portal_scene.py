"""Named actors for portal tests: a tenant, their additional contact, another tenant, a
ticket-only guest, and helpers to sign them in or read the link an email carried."""

import re
from dataclasses import dataclass

from django.test import Client
from django.utils import timezone

from keyport.contacts.models import Contact, Customer, CustomerKind
from keyport.emails.models import OutgoingEmail
from keyport.facilities.models import Location, UnitKind
from keyport.portal.sessions import SESSION_CONTACT_ID, SESSION_EPOCH, SESSION_SIGNED_IN_AT
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
    booking_of,
    today,
)

LINK = re.compile(r"https?://[^\s]+/login/link/(?P<token>[A-Za-z0-9_-]+)/")


@dataclass
class Scene:
    location: Location
    tenant: Contact
    partner: Contact
    other_tenant: Contact
    guest: Contact

    @property
    def tenant_customer(self) -> Customer:
        return self.tenant.customer


def build_scene() -> Scene:
    location = LocationFactory(name="Lager Kreuzberg")
    tenant_customer = CustomerFactory(name="Mara Schneider", home_location=location)
    tenant = ContactFactory(
        customer=tenant_customer, first_name="Mara", last_name="Schneider", email="tenant@example.com"
    )
    partner = ContactFactory(
        customer=tenant_customer,
        is_primary=False,
        first_name="Jonas",
        last_name="Schneider",
        email="partner@example.com",
    )
    units = [UnitFactory(location=location, number="A010"), UnitFactory(location=location, number="A011")]
    booking_of(tenant_customer, units, today())
    bay = UnitFactory(location=location, number="P001", kind=UnitKind.PARKING_BAY)
    CarFactory(customer=tenant_customer, make="Volvo", model="P1800", plate="B MS 1800", bay=bay)

    other_customer = CustomerFactory(name="Otto Other", home_location=location)
    other_tenant = ContactFactory(customer=other_customer, first_name="Otto", email="other@example.com")
    booking_of(other_customer, [UnitFactory(location=location, number="B001")], today())
    CarFactory(customer=other_customer, make="Jaguar", model="E-Type", plate="B OO 1")

    guest_customer = CustomerFactory(name="Sam Rivera", kind=CustomerKind.LEAD, home_location=location)
    guest = ContactFactory(customer=guest_customer, first_name="Sam", email="guest@example.com")
    return Scene(location=location, tenant=tenant, partner=partner, other_tenant=other_tenant, guest=guest)


def sign_in_as(client: Client, contact: Contact) -> None:
    """Put a portal session in the test client, as a finished sign-in would."""
    contact.refresh_from_db()
    session = client.session
    session[SESSION_CONTACT_ID] = contact.pk
    session[SESSION_EPOCH] = contact.session_epoch
    session[SESSION_SIGNED_IN_AT] = int(timezone.now().timestamp())
    session.save()


def token_from_text(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no sign-in link in: {text!r}"
    return match["token"]


def last_token_sent_to(email: str) -> str:
    """The token in the newest email to this address, from the link it waits with until delivered."""
    newest = OutgoingEmail.objects.filter(to=email).latest("created_at", "id")
    return token_from_text(newest.secrets_to_send["link"])


def press_continue(client: Client, token: str):
    """POST the Continue page's form as the browser that was shown it (its nonce cookie and field)."""
    from django.urls import reverse

    from keyport.portal.sign_in_views import CONTINUE_COOKIE

    client.cookies[CONTINUE_COOKIE] = "same-browser-nonce"
    return client.post(reverse("sign_in:continue"), {"token": token, "nonce": "same-browser-nonce"})
