import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from keyport.access.models import AccessEvent, SharedAccess, ShareState
from tests import cast
from tests.factories import ContactFactory
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking of March, made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site, ends_on=dt.date(2026, 3, 31))


def post_share(client, site, booking, **changes):
    data = {
        "emails": "friend@example.com",
        "units": [site.units[0].pk],
        "starts_on": "2026-03-03",
        "ends_on": "2026-03-09",
    }
    return client.post(reverse("portal:share_manage", args=[booking.pk]), data | changes)


@time_machine.travel(NOW, tick=False)
def test_your_bookings_has_manage_access_and_the_form_shows_unmapped_units_disabled(
    client, site, tenant, booking
) -> None:
    sign_in_as(client, tenant)
    home = client.get(reverse("portal:home")).content.decode()
    assert reverse("portal:share_manage", args=[booking.pk]) in home and "Manage Access" in home
    page = client.get(reverse("portal:share_manage", args=[booking.pk])).content.decode()
    assert f'id="unit-{site.units[2].pk}" disabled' in page
    assert "has not mapped its doors" in page
    assert site.holder(tenant).pin in page


@time_machine.travel(NOW, tick=False)
def test_sharing_with_two_friends_creates_two_shares_and_emails(
    client, tenant, site, booking, django_capture_on_commit_callbacks
) -> None:
    sign_in_as(client, tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_share(
            client, site, booking, emails="friend@example.com,\nOther@example.com, friend@example.com"
        )
    assert response.status_code == 302
    assert sorted(SharedAccess.objects.values_list("holder__email", flat=True)) == [
        "friend@example.com",
        "other@example.com",
    ]
    assert sorted(m.to[0] for m in mail.outbox) == ["friend@example.com", "other@example.com"]
    page = client.get(reverse("portal:share_manage", args=[booking.pk])).content.decode()
    assert "friend@example.com" in page and "Delete" in page
    assert page.count("Access shared with friend@example.com, other@example.com. Each gets an email") == 1


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"emails": "friend@example.com, nope"}, "emails-error"),
        ({"starts_on": "2026-03-01"}, "starts_on-error"),
        ({"ends_on": "2026-03-02"}, "ends_on-error"),
        ({"ends_on": "2026-04-02"}, "ends_on-error"),
        ({"units": []}, "units-error"),
    ],
)
def test_bad_input_shows_the_error_beside_its_field_and_creates_nothing(
    client, tenant, site, booking, changes, field_error
) -> None:
    sign_in_as(client, tenant)
    response = post_share(client, site, booking, **changes)
    assert response.status_code == 400
    assert f'id="{field_error}"' in response.content.decode()
    assert not SharedAccess.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_bad_email_and_an_end_after_the_booking_show_both_errors_and_create_nothing(
    client, tenant, site, booking
) -> None:
    sign_in_as(client, tenant)
    response = post_share(client, site, booking, emails="nope", ends_on="2026-04-02")
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="emails-error"' in page and "Not a valid email address: nope." in page
    assert 'id="ends_on-error"' in page and "cannot be after the booking ends (31 Mar 2026)" in page
    assert 'id="units-error"' not in page and 'id="starts_on-error"' not in page
    assert not SharedAccess.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_field_that_does_not_parse_shows_only_its_own_error(client, tenant, site, booking) -> None:
    sign_in_as(client, tenant)
    response = post_share(client, site, booking, units=[], starts_on="2026-03-01")
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count("Choose at least one unit.") == 1
    assert "The start date cannot be in the past." in page
    assert not SharedAccess.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_another_tenants_booking_unit_and_share_ids_are_refused(
    client, tenant, site, booking, other_tenant, other_site
) -> None:
    other_booking = cast.book(other_tenant, other_site)
    other_share = cast.share(other_booking, "theirs@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 4))
    sign_in_as(client, tenant)
    assert client.get(reverse("portal:share_manage", args=[other_booking.pk])).status_code == 404
    response = post_share(client, site, booking, units=[other_site.units[0].pk])
    assert response.status_code == 400 and 'id="units-error"' in response.content.decode()
    assert client.post(reverse("portal:share_delete", args=[booking.pk, other_share.pk])).status_code == 404
    assert (
        client.post(reverse("portal:share_delete", args=[other_booking.pk, other_share.pk])).status_code
        == 404
    )
    assert (
        client.post(reverse("portal:portal_open", args=[other_booking.pk, other_site.door.pk])).status_code
        == 404
    )
    assert SharedAccess.objects.get(pk=other_share.pk).state == ShareState.ACTIVE


@time_machine.travel(NOW, tick=False)
def test_delete_revokes_the_guest_and_open_uses_the_same_decision(client, booking, tenant, site) -> None:
    share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 2), dt.date(2026, 3, 9))
    partner = ContactFactory(customer=tenant.customer, is_primary=False)
    sign_in_as(client, tenant)
    client.post(reverse("portal:share_delete", args=[booking.pk, share.pk]), {"confirm": "1"})
    assert SharedAccess.objects.get(pk=share.pk).state == ShareState.DELETED
    response = client.post(reverse("portal:portal_open", args=[booking.pk, site.door.pk]), follow=True)
    assert response.context["decision"].allowed
    assert AccessEvent.objects.filter(channel="portal", allowed=True).count() == 1
    sign_in_as(client, partner)  # not yet synced: no holder, no door
    assert client.post(reverse("portal:portal_open", args=[booking.pk, site.door.pk])).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_open_answers_with_a_redirect_to_manage_access_which_shows_the_outcome_once(
    client, tenant, booking, site
) -> None:
    sign_in_as(client, tenant)
    manage = reverse("portal:share_manage", args=[booking.pk])
    response = client.post(reverse("portal:portal_open", args=[booking.pk, site.door.pk]))
    assert response.status_code == 302 and response["Location"] == manage
    page = client.get(manage)
    assert page.context["decision"].allowed
    assert (
        'class="alert alert-success" role="status" id="open-result">Main door is open.'
        in page.content.decode()
    )
    assert 'id="open-result"' not in client.get(manage).content.decode()
    assert AccessEvent.objects.filter(channel="portal").count() == 1


def test_signed_out_visitors_go_to_login(client, booking) -> None:
    response = client.get(reverse("portal:share_manage", args=[booking.pk]))
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_a_booking_that_cannot_be_shared_says_why_instead_of_offering_the_form(
    client, tenant, booking
) -> None:
    from keyport.access.services import booking_revoke_access
    from keyport.audit.services import Actor

    sign_in_as(client, tenant)
    url = reverse("portal:share_manage", args=[booking.pk])
    with time_machine.travel(NOW, tick=False):
        assert 'id="share-refusal"' not in client.get(url).content.decode()
        booking_revoke_access(actor=Actor.system("t"), booking=booking, reason="Overdue")
        page = client.get(url).content.decode()
        assert "not active, so it cannot be shared" in page and "Share Access</button>" not in page
    with time_machine.travel(dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC), tick=False):
        from keyport.access.services import booking_restore_access

        booking_restore_access(actor=Actor.system("t"), booking=booking)
        assert "This booking has ended" in client.get(url).content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_location_with_no_free_pin_left_says_so_beside_the_form(
    client, site, tenant, booking, settings
) -> None:
    from keyport.access.models import AccessHolder

    settings.ACCESS_PIN_LENGTH = 4
    taken = set(AccessHolder.objects.values_list("pin", flat=True))
    AccessHolder.objects.bulk_create(
        AccessHolder(location=site.location, email=f"past{n}@example.com", pin=f"{n:04d}")
        for n in range(10_000)
        if f"{n:04d}" not in taken
    )
    sign_in_as(client, tenant)
    response = post_share(client, site, booking)
    assert response.status_code == 400
    assert "Every PIN of this length is taken" in response.content.decode()
    assert not SharedAccess.objects.exists()


@pytest.mark.parametrize(
    ("when", "phase", "doors"),
    [
        (dt.datetime(2026, 2, 20, 9, tzinfo=dt.UTC), "Reserved", "Your doors open from Sunday 1 March 2026"),
        (NOW, "Current", "Open "),
        (dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC), "Ended", "This booking has ended"),
    ],
)
def test_your_bookings_and_manage_access_say_the_bookings_phase_and_offer_doors_only_while_it_runs(
    client, tenant, booking, when, phase, doors
) -> None:
    with time_machine.travel(when, tick=False):
        sign_in_as(client, tenant)
        home = client.get(reverse("portal:home")).content.decode()
        page = client.get(reverse("portal:share_manage", args=[booking.pk])).content.decode()
    assert f'<span class="badge text-bg-secondary">{phase}</span>' in home
    assert ("Manage Access" in home) is (phase != "Ended")
    assert f'id="booking-phase">{phase}</span>' in page
    assert doors in page
    assert ("portal/bookings/" in page and 'type="submit">Open ' in page) is (phase == "Current")


@time_machine.travel(NOW, tick=False)
def test_a_cancelled_booking_shows_cancelled_and_no_doors(client, site, tenant, booking) -> None:
    from keyport.bookings.models import Booking, BookingStatus

    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED)
    sign_in_as(client, tenant)
    home = client.get(reverse("portal:home")).content.decode()
    page = client.get(reverse("portal:share_manage", args=[booking.pk])).content.decode()
    assert '<span class="badge text-bg-secondary">Cancelled</span>' in home and "Manage Access" not in home
    assert "This booking was cancelled" in page and 'type="submit">Open ' not in page
    assert site.holder(tenant).pin not in page


def test_your_bookings_lists_current_bookings_before_coming_and_ended_ones(client, site, tenant) -> None:
    from tests.factories import UnitFactory, booking_of

    with time_machine.travel(NOW, tick=False):
        current = cast.book(tenant, site, starts_on=dt.date(2026, 2, 1))
        customer, location = tenant.customer, site.location
        coming = booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 4, 1))
        ended = booking_of(
            customer, [UnitFactory(location=location)], dt.date(2026, 1, 1), dt.date(2026, 1, 31)
        )
        sign_in_as(client, tenant)
        home = client.get(reverse("portal:home")).content.decode()
    order = [home.index(f'data-booking="{booking.pk}"') for booking in (current, coming, ended)]
    assert order == sorted(order)
