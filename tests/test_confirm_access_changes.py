"""Set Inactive, Revoke access and the tenant's Delete of a share shut doors: each first says whose
and asks (a page of its own, no script needed); only the POST with `confirm=1` acts, and the people
who lose or get back access are emailed."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from keyport.access.emails import ACCESS_RESTORED, ACCESS_REVOKED
from keyport.access.models import AccessGrant, BookingAccess, GrantState, SharedAccess, ShareState
from keyport.access.queries import AccessLoss, access_loss_for_customer
from keyport.access.services import ShareRequest, share_create
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.contacts.models import Contact, Customer
from keyport.emails.models import OutgoingEmail
from keyport.facilities.models import AccessPoint, Location, UnitAccessPoint
from keyport.frontdesk.services import booking_create
from tests.factories import (
    AccessPointFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
)
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def berlin() -> Location:
    return LocationFactory(name="Lager Kreuzberg", time_zone="Europe/Berlin")


@pytest.fixture
def tenant(berlin) -> Contact:
    customer = CustomerFactory(name="Mara Schneider", home_location=berlin)
    return ContactFactory(
        customer=customer, first_name="Mara", last_name="Schneider", email="mara@example.com"
    )


@pytest.fixture
def partner(tenant) -> Contact:
    return ContactFactory(
        customer=tenant.customer,
        is_primary=False,
        first_name="Jonas",
        last_name="Schneider",
        email="jonas@example.com",
    )


@pytest.fixture
def bookkeeper(tenant) -> Contact:
    """On the account without portal access: holds no grant, loses nothing."""
    return ContactFactory(
        customer=tenant.customer,
        is_primary=False,
        first_name="Berta",
        last_name="Buch",
        email="books@example.com",
        can_access_portal=False,
    )


def book(customer: Customer, location: Location, numbers: list[str], starts_on: dt.date):
    door = AccessPoint.objects.filter(location=location).first() or AccessPointFactory(location=location)
    units = [UnitFactory(location=location, number=number) for number in numbers]
    for unit in units:
        UnitAccessPoint.objects.create(unit=unit, access_point=door)
    return booking_create(actor=SYSTEM, customer=customer, units=units, starts_on=starts_on)


def share(booking, by: Contact, email: str) -> SharedAccess:
    request = ShareRequest(
        emails=[email],
        units=list(booking.units.all())[:1],
        starts_on=dt.date(2026, 3, 4),
        ends_on=dt.date(2026, 3, 10),
    )
    return share_create(actor=SYSTEM, booking=booking, shared_by=by, request=request)[0]


@pytest.fixture
def booking(tenant, partner, bookkeeper, berlin):
    """Mara's booking of A010 and A011, Jonas on it too, shared with one friend for a week."""
    booking = book(tenant.customer, berlin, ["A010", "A011"], dt.date(2026, 3, 1))
    share(booking, tenant, "friend@example.com")
    return booking


def state_of_access() -> tuple[object, ...]:
    """Everything a revocation would change: grants, shares, the booking's access, emails, audit."""
    return (
        sorted(AccessGrant.objects.values_list("pk", "state")),
        sorted(SharedAccess.objects.values_list("pk", "state")),
        sorted(BookingAccess.objects.values_list("pk", "revoked_at")),
        sorted(Customer.objects.values_list("pk", "is_active")),
        OutgoingEmail.objects.count(),
        AuditEntry.objects.count(),
    )


def sent(template: str) -> list[str]:
    return sorted(OutgoingEmail.objects.filter(template=template).values_list("to", flat=True))


# Set Inactive / Set Active --------------------------------------------------------------------------


def test_set_inactive_first_says_who_loses_door_access_and_changes_nothing(owner_client, tenant, booking):
    before = state_of_access()
    url = reverse("dashboard:customer_active", args=[tenant.customer_id])
    response = owner_client.post(url, {"is_active": "false"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Mara Schneider, Jonas Schneider and 1 guest lose door access now." in page
    assert "Berta" not in page  # no portal access, no grant: she loses nothing
    assert 'name="confirm" value="1"' in page and "Keep Active" in page
    assert state_of_access() == before
    assert AccessGrant.objects.filter(state=GrantState.ACTIVE).count() == 5


def test_set_inactive_confirmed_revokes_every_door_and_sends_access_revoked(owner_client, tenant, booking):
    url = reverse("dashboard:customer_active", args=[tenant.customer_id])
    response = owner_client.post(url, {"is_active": "false", "confirm": "1"})
    assert response.status_code == 302
    tenant.customer.refresh_from_db()
    assert not tenant.customer.is_active
    assert not AccessGrant.objects.filter(state=GrantState.ACTIVE).exists()
    assert SharedAccess.objects.get().state == ShareState.REVOKED
    assert sent(ACCESS_REVOKED) == ["friend@example.com", "jonas@example.com", "mara@example.com"]
    to_mara = OutgoingEmail.objects.get(template=ACCESS_REVOKED, to="mara@example.com")
    assert "The customer account is paused." in to_mara.body_text
    to_friend = OutgoingEmail.objects.get(template=ACCESS_REVOKED, to="friend@example.com")
    assert "The customer account is paused." not in to_friend.body_text


def test_set_active_gives_access_back_and_sends_access_restored(owner_client, tenant, booking):
    url = reverse("dashboard:customer_active", args=[tenant.customer_id])
    owner_client.post(url, {"is_active": "false", "confirm": "1"})
    response = owner_client.post(url, {"is_active": "true"})
    assert response.status_code == 302
    assert AccessGrant.objects.filter(state=GrantState.ACTIVE).count() == 5
    assert SharedAccess.objects.get().state == ShareState.ACTIVE
    assert sent(ACCESS_RESTORED) == ["friend@example.com", "jonas@example.com", "mara@example.com"]


def test_nobody_is_told_of_a_loss_when_no_door_was_open_to_them(owner_client, tenant, partner):
    """A customer with no booking: the page says nobody loses access, and no email goes out."""
    url = reverse("dashboard:customer_active", args=[tenant.customer_id])
    page = owner_client.post(url, {"is_active": "false"}).content.decode()
    assert "Nobody loses door access" in page
    owner_client.post(url, {"is_active": "false", "confirm": "1"})
    tenant.customer.refresh_from_db()
    assert not tenant.customer.is_active
    assert not OutgoingEmail.objects.filter(template__in=[ACCESS_REVOKED, ACCESS_RESTORED]).exists()


def test_the_loss_counts_only_those_who_still_open_a_door(tenant, booking):
    AccessGrant.objects.filter(holder__contact__first_name="Jonas").update(state=GrantState.ENDED)
    assert access_loss_for_customer(tenant.customer).sentence() == (
        "Mara Schneider and 1 guest lose door access now."
    )
    AccessGrant.objects.filter(share__isnull=False).update(state=GrantState.REVOKED)
    assert access_loss_for_customer(tenant.customer).sentence() == "Mara Schneider loses door access now."


def test_the_loss_in_words_counts_guests():
    assert AccessLoss(people=[], guests=2).sentence() == "2 guests lose door access now."
    assert AccessLoss(people=["A B", "C D", "E F"], guests=0).sentence() == (
        "A B, C D and E F lose door access now."
    )


# Revoke access ------------------------------------------------------------------------------------------


def test_revoke_access_first_says_who_loses_door_access_and_changes_nothing(owner_client, booking):
    before = state_of_access()
    url = reverse("dashboard:booking_revoke", args=[booking.pk])
    next_url = reverse("dashboard:customer_detail", args=[booking.customer_id])
    response = owner_client.post(url, {"reason": "Payment overdue", "next": next_url})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Mara Schneider, Jonas Schneider and 1 guest lose door access now." in page
    assert 'name="reason" value="Payment overdue"' in page
    assert f'name="next" value="{next_url}"' in page
    assert state_of_access() == before


def test_revoke_access_confirmed_revokes_and_emails_the_people_and_guests(owner_client, booking):
    url = reverse("dashboard:booking_revoke", args=[booking.pk])
    response = owner_client.post(url, {"reason": "Payment overdue", "confirm": "1"})
    assert response.status_code == 302
    assert not AccessGrant.objects.filter(state=GrantState.ACTIVE).exists()
    assert BookingAccess.objects.get(booking=booking).is_revoked
    assert sent(ACCESS_REVOKED) == ["friend@example.com", "jonas@example.com", "mara@example.com"]


def test_revoke_access_never_asks_for_a_confirmation_of_a_missing_reason(owner_client, booking):
    before = state_of_access()
    response = owner_client.post(reverse("dashboard:booking_revoke", args=[booking.pk]), {"reason": " "})
    assert response.status_code == 400 and "lose door access" not in response.content.decode()
    assert state_of_access() == before


# The tenant's Delete of a share -------------------------------------------------------------------------


def test_deleting_a_share_first_asks_and_changes_nothing(client, tenant, booking):
    friend = SharedAccess.objects.get()
    sign_in_as(client, tenant)
    before = state_of_access()
    url = reverse("portal:share_delete", args=[booking.pk, friend.pk])
    response = client.post(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Delete shared access for friend@example.com?" in page
    assert "Their key and PIN stop opening your doors now." in page
    assert state_of_access() == before

    response = client.post(url, {"confirm": "1"})
    assert response.status_code == 302
    assert SharedAccess.objects.get().state == ShareState.DELETED
    assert not AccessGrant.objects.filter(share=friend, state=GrantState.ACTIVE).exists()
