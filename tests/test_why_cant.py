"""Why can't they get in? and the portal check's Doors step: the doors' own decision, explained,
logging nothing and counting no wrong PIN."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from keyport.access.explain import OPEN_BUTTON, PIN, access_explain
from keyport.access.models import OVERDUE_REASON, AccessEvent, AccessGrant, RevocationOrigin
from keyport.access.services import booking_revoke_access
from keyport.audit.services import Actor
from keyport.facilities.models import AccessPoint, OpeningHours, UnitAccessPoint
from keyport.staff.models import Role
from tests import cast
from tests.factories import ContactFactory, CustomerFactory, LocationFactory, StaffUserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)  # a Wednesday, 10:00 in Berlin
SYSTEM = Actor.system("tests")


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW and shared with friend@example.com."""
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site)
        cast.share(booking, "friend@example.com", dt.date(2026, 3, 10), dt.date(2026, 3, 20))
        return booking


def guest(site):
    return AccessGrant.objects.get(share__isnull=False).holder


def explain(site, **who):
    return access_explain(access_point=site.door, when=NOW, channel=PIN, **who)


@time_machine.travel(NOW, tick=False)
def test_an_active_tenant_is_allowed_and_the_explanation_logs_nothing(site, tenant, booking):
    explained = explain(site, contact=tenant)
    assert explained.decision.allowed and explained.decision.reason == "ok"
    assert {step.check for step in explained.steps} >= {
        "keypad",
        "booking",
        "mapping",
        "window",
        "opening_hours",
    }
    assert all(step.ok for step in explained.steps)
    assert not AccessEvent.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_revoked_booking_is_denied_with_the_revocation_behind_it(booking, site, tenant):
    booking_revoke_access(actor=SYSTEM, booking=booking, reason="Key handed back")
    explained = explain(site, contact=tenant)
    assert not explained.decision.allowed and explained.decision.reason == "revoked"
    assert any(step.check == "revocation" and "Key handed back" in step.text for step in explained.steps)
    assert not AccessEvent.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_an_overdue_lock_is_named_as_such(booking, site, tenant):
    booking_revoke_access(
        actor=SYSTEM, booking=booking, reason=OVERDUE_REASON, origin=RevocationOrigin.OVERDUE
    )
    explained = explain(site, contact=tenant)
    assert explained.decision.reason == "revoked"
    assert any(step.check == "overdue_lock" and not step.ok for step in explained.steps)


@time_machine.travel(NOW, tick=False)
def test_a_guest_outside_the_share_window_is_denied_and_inside_allowed(site, booking):
    before = explain(site, holder=guest(site))
    assert before.decision.reason == "outside_window"
    assert any(step.check == "window" and not step.ok for step in before.steps)
    inside = access_explain(
        access_point=site.door, when=NOW + dt.timedelta(days=7), channel=OPEN_BUTTON, holder=guest(site)
    )
    assert inside.decision.allowed


@time_machine.travel(NOW, tick=False)
def test_closed_hours_deny_with_the_opening_hours_behind_it(site, tenant, booking):
    OpeningHours.objects.create(location=site.location, weekday=2, opens_at=dt.time(6), closes_at=dt.time(9))
    explained = explain(site, contact=tenant)
    assert explained.decision.reason == "location_closed"
    assert any(step.check == "opening_hours" and not step.ok for step in explained.steps)


@time_machine.travel(NOW, tick=False)
def test_a_blocked_keypad_is_the_answer_for_a_pin_but_counts_nothing(site, tenant, booking):
    AccessPoint.objects.filter(pk=site.door.pk).update(
        wrong_pins=10, last_wrong_pin_at=NOW, pins_blocked_until=NOW + dt.timedelta(minutes=15)
    )
    site.door.refresh_from_db()
    explained = explain(site, contact=tenant)
    assert explained.decision.reason == "blocked"
    assert access_explain(
        access_point=site.door, when=NOW, channel=OPEN_BUTTON, contact=tenant
    ).decision.allowed
    site.door.refresh_from_db()
    assert site.door.wrong_pins == 10 and not AccessEvent.objects.exists()


def why_url(tenant, site, person: str, **extra: str) -> str:
    url = reverse("dashboard:customer_detail", args=[tenant.customer_id])
    query = {"why-person": person, "why-access_point": str(site.door.pk), "why-channel": "pin", **extra}
    return url + "?" + "&".join(f"{key}={value}" for key, value in query.items())


@time_machine.travel(NOW, tick=False)
def test_the_form_on_the_customer_page_answers_and_writes_no_event(client, owner, tenant, site, booking):
    client.force_login(owner)
    page = client.get(why_url(tenant, site, f"contact-{tenant.pk}")).content.decode()
    assert "Why can&#x27;t they get in?" in page or "Why can't they get in?" in page
    assert 'data-why-answer="allowed"' in page
    guest_page = client.get(why_url(tenant, site, f"guest-{guest(site).pk}")).content.decode()
    assert 'data-why-reason="outside_window"' in guest_page
    assert not AccessEvent.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_bad_input_is_shown_beside_its_field(client, owner, tenant, site, booking):
    client.force_login(owner)
    response = client.get(why_url(tenant, site, "contact-999999", **{"why-at": "not-a-time"}))
    assert response.status_code == 400
    page = response.content.decode()
    assert "why-at-error" in page and "data-why-answer" not in page


@time_machine.travel(NOW, tick=False)
def test_the_access_events_page_finds_the_person_by_email(client, owner, site, booking):
    client.force_login(owner)
    url = reverse("dashboard:location_access_events", args=[site.location.pk])
    page = client.get(
        url, {"why-email": "friend@example.com", "why-access_point": site.door.pk, "why-channel": "pin"}
    ).content.decode()
    assert 'data-why-reason="outside_window"' in page
    assert not AccessEvent.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_staff_of_another_location_cannot_ask_about_its_doors_or_people(client, tenant, site, booking):
    user = StaffUserFactory(role=Role.MANAGER)
    user.locations.add(LocationFactory())
    client.force_login(user)
    assert client.get(why_url(tenant, site, f"contact-{tenant.pk}")).status_code == 404
    url = reverse("dashboard:location_access_events", args=[site.location.pk])
    assert (
        client.get(url, {"why-email": "friend@example.com", "why-access_point": site.door.pk}).status_code
        == 404
    )


# The portal check ---------------------------------------------------------------------------------------


def check_of(page: str, contact) -> str:
    start = page.index(f'data-portal-check="{contact.pk}"')
    return page[start : page.index("</div>", start)]


def customer_page(client, customer) -> str:
    return client.get(reverse("dashboard:customer_detail", args=[customer.pk])).content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_doors_step_says_all_set_only_when_the_doors_open(client, owner, tenant, site, booking):
    tenant.first_signed_in_at = NOW
    tenant.save()
    client.force_login(owner)
    assert "A003: does not open now (not mapped" in customer_page(client, tenant.customer)
    UnitAccessPoint.objects.create(unit=site.units[2], access_point=site.door)
    assert "All set" in check_of(customer_page(client, tenant.customer), tenant)
    booking_revoke_access(
        actor=SYSTEM, booking=booking, reason=OVERDUE_REASON, origin=RevocationOrigin.OVERDUE
    )
    check = check_of(customer_page(client, tenant.customer), tenant)
    assert "All set" not in check and "Overdue lock" in check and "does not open now" in check


@time_machine.travel(NOW, tick=False)
def test_a_ticket_only_person_is_told_about_tickets_not_sent_an_invite(client, owner):
    lead = ContactFactory(customer=CustomerFactory(kind="lead"), can_access_portal=True)
    client.force_login(owner)
    check = check_of(customer_page(client, lead.customer), lead)
    assert "Ticket-only" in check
    assert "Next action:</strong> Ticket-only" in check


@time_machine.travel(NOW, tick=False)
def test_portal_access_off_shows_the_reason_not_full(client, owner, tenant, booking):
    off = ContactFactory(customer=tenant.customer, is_primary=False, can_access_portal=False)
    client.force_login(owner)
    check = check_of(customer_page(client, tenant.customer), off)
    assert "None: Can access customer portal" in check and "Enable portal access" in check


def test_ended_bookings_are_not_linked(client, owner, site, tenant):
    with time_machine.travel(NOW, tick=False):
        cast.book(tenant, site, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 2, 1))
        client.force_login(owner)
        check = check_of(customer_page(client, tenant.customer), tenant)
    assert "0 current bookings" in check
