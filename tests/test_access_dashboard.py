import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from keyport.access.models import AccessGrant, AccessHolder, GrantState, SyncState
from keyport.access.queries import events_for_customer, events_of_units
from keyport.access.services import access_decide
from keyport.access.services.doors import Door
from keyport.audit.services import Actor
from keyport.emails.defaults import DEFAULT_TEMPLATES
from keyport.emails.services import email_template_save
from keyport.frontdesk.services import booking_create, booking_set_end_date
from tests import cast
from tests.factories import ContactFactory, UnitFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW and shared with friend@example.com."""
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site)
        cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 10))
        return booking


@time_machine.travel(NOW, tick=False)
def test_booking_page_shows_grants_with_provider_state_shares_and_events(
    client, owner, site, tenant, booking, django_assert_max_num_queries
) -> None:
    access_decide(door=Door.of(site.door), holder=site.holder(tenant), channel="portal")
    AccessGrant.objects.filter(unit=site.units[1]).update(
        sync_state=SyncState.FAILED, sync_error="Sensorberg answered 503"
    )
    client.force_login(owner)
    with django_assert_max_num_queries(25):
        page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert "friend@example.com" in page and "Sensorberg answered 503" in page and "Failed" in page
    assert "Portal Open button" in page and "Revoke access" in page
    assert "shared-access-setup-warning" not in page  # the Overview and the location page warn
    location_page = client.get(
        reverse("dashboard:location_rentals", args=[site.location.pk])
    ).content.decode()
    assert f"#{booking.pk}" in location_page and "Portal Open button" in location_page


@time_machine.travel(NOW, tick=False)
def test_the_setup_warning_goes_once_the_shared_access_email_is_reviewed(client, owner, booking) -> None:
    default = DEFAULT_TEMPLATES["shared_access"]
    email_template_save(
        actor=Actor.staff(owner), key="shared_access", subject=default.subject, body_text=default.body_text
    )
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert "shared-access-setup-warning" not in page


@time_machine.travel(NOW, tick=False)
def test_the_location_page_and_overview_warn_until_the_shared_access_email_is_saved(
    client, owner, site, booking
) -> None:
    client.force_login(owner)
    pages = [reverse("dashboard:location_detail", args=[site.location.pk]), reverse("dashboard:home")]
    for url in pages:
        assert "shared-access-setup-warning" in client.get(url).content.decode()
    default = DEFAULT_TEMPLATES["shared_access"]
    email_template_save(
        actor=Actor.staff(owner), key="shared_access", subject=default.subject, body_text=default.body_text
    )
    for url in pages:
        assert "shared-access-setup-warning" not in client.get(url).content.decode()


@time_machine.travel(NOW, tick=False)
def test_revoke_needs_a_reason_then_revokes_everything_and_restore_brings_it_back(
    client, owner, booking
) -> None:
    client.force_login(owner)
    url = reverse("dashboard:booking_revoke", args=[booking.pk])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and "is-invalid" in response.content.decode()
    assert not AccessGrant.objects.filter(state=GrantState.REVOKED).exists()
    response = client.post(url, {"reason": "Payment overdue", "confirm": "1"})
    assert response.status_code == 302
    assert not AccessGrant.objects.filter(state=GrantState.ACTIVE).exists()
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert "Payment overdue" in page and "Restore access" in page
    client.post(reverse("dashboard:booking_restore", args=[booking.pk]))
    assert AccessGrant.objects.filter(state=GrantState.ACTIVE).count() == 4


def test_revoke_and_restore_keep_one_row_per_grant_with_its_states_over_time(client, owner, booking) -> None:
    """The grants table shows each grant once however often access is revoked and restored, with
    each Revoke (and its reason) and Restore in its history."""
    client.force_login(owner)
    grants = {grant.pk for grant in AccessGrant.objects.filter(booking=booking)}
    revoke = reverse("dashboard:booking_revoke", args=[booking.pk])
    restore = reverse("dashboard:booking_restore", args=[booking.pk])
    for day, reason in ((2, "Payment overdue"), (3, "Lost key card")):
        with time_machine.travel(NOW + dt.timedelta(days=day), tick=False):
            client.post(revoke, {"reason": reason, "confirm": "1"})
        with time_machine.travel(NOW + dt.timedelta(days=day, hours=2), tick=False):
            client.post(restore)
    mine = AccessGrant.objects.filter(booking=booking)
    assert {grant.pk for grant in mine} == grants
    assert all(grant.state == GrantState.ACTIVE for grant in mine)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    table = page.split('id="grants"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + len(grants)
    history = table.split("<ul")[1].split("</ul>")[0]
    assert history.count("<li>") == 4
    assert history.index("Payment overdue") < history.index("Restored") < history.index("Lost key card")


def test_a_tenant_sees_their_bookings_events_and_their_guests_not_the_next_tenants(
    site, tenant, booking
) -> None:
    door = Door.of(site.door)
    friend = AccessGrant.objects.get(share__isnull=False).holder
    with time_machine.travel(NOW, tick=False):
        access_decide(door=door, holder=site.holder(tenant), channel="portal")
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        access_decide(door=door, holder=friend, channel="guest")
    # The tenant moves out; the same unit's next tenant opens the same door.
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        booking_set_end_date(actor=Actor.system("t"), booking=booking, ends_on=dt.date(2026, 3, 20))
    next_tenant = ContactFactory(email="next@example.com")
    with time_machine.travel(dt.datetime(2026, 3, 25, 9, tzinfo=dt.UTC), tick=False):
        booking_create(
            actor=Actor.system("t"),
            customer=next_tenant.customer,
            units=[site.units[0]],
            starts_on=dt.date(2026, 3, 25),
        )
        next_holder = AccessHolder.objects.get(contact=next_tenant)
        access_decide(door=door, holder=next_holder, channel="portal")

    assert [event.holder for event in events_for_customer(tenant.customer)] == [
        friend,
        site.holder(tenant),
    ]
    assert [event.holder for event in events_for_customer(next_tenant.customer)] == [next_holder]
    assert len(events_of_units([site.units[0]])) == 3


def test_an_ended_booking_says_so_and_offers_no_revoke_and_the_list_shows_each_phase(
    client, owner, site, tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 2, 1), ends_on=dt.date(2026, 3, 20))
        current = booking_create(
            actor=Actor.system("tests"),
            customer=ContactFactory().customer,
            units=[UnitFactory(location=site.location)],
            starts_on=dt.date(2026, 3, 1),
            ends_on=None,
        )
        client.force_login(owner)
        client.post(
            reverse("dashboard:booking_revoke", args=[current.pk]), {"reason": "Keys lost", "confirm": "1"}
        )
    with time_machine.travel(dt.datetime(2026, 3, 25, 9, tzinfo=dt.UTC), tick=False):
        client.force_login(owner)
        page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
        assert "Ended" in page and "ended with 2026-03-20" in page
        assert "Revoke access" not in page and "Restore access" not in page
        listing = client.get(reverse("dashboard:location_rentals", args=[site.location.pk])).content.decode()
    ended_row = listing.split(f">#{booking.pk}<")[1].split("</tr>")[0]
    current_row = listing.split(f">#{current.pk}<")[1].split("</tr>")[0]
    assert "Ended" in ended_row and "Access revoked" not in ended_row
    assert "Current" in current_row and "Access revoked" in current_row


def test_a_manager_is_told_an_owner_reviews_the_email_and_a_refusal_page_says_why(
    client, site, booking
) -> None:
    from keyport.staff.models import Role
    from tests.factories import StaffUserFactory

    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(site.location)
    client.force_login(manager)
    page = client.get(reverse("dashboard:location_detail", args=[site.location.pk])).content.decode()
    assert "shared-access-setup-warning" in page and "An owner reviews it under Email templates." in page
    assert reverse("dashboard:email_template_edit", args=["shared_access"]) not in page
    refused = client.get(reverse("dashboard:email_template_edit", args=["shared_access"]))
    assert refused.status_code == 403 and "nothing was changed" in refused.content.decode()
    assert reverse("dashboard:home") in refused.content.decode()
