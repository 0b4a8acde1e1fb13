"""A share can never outlive or outreach its booking, whatever happens to the booking and the clock."""

import datetime as dt

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyport.access.models import AccessGrant, GrantOrigin, GrantState
from keyport.access.services import access_decide, grants_end_due
from keyport.access.services.doors import Door
from keyport.audit.services import Actor
from keyport.frontdesk.services import booking_cancel, booking_set_end_date
from tests import cast
from tests.factories import ContactFactory

ACTOR = Actor.system("property")
DAY0 = dt.date(2026, 3, 1)
UTC = dt.UTC

moves = st.lists(
    st.one_of(
        st.tuples(st.just("share"), st.integers(0, 40), st.integers(0, 15), st.integers(0, 1)),
        st.tuples(st.just("end"), st.integers(0, 40)),
        st.tuples(st.just("open_end")),
        st.tuples(st.just("cancel")),
        st.tuples(st.just("clock"), st.integers(0, 60 * 24 * 45)),
    ),
    max_size=8,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney"]),
    booking_days=st.one_of(st.none(), st.integers(0, 40)),
    steps=moves,
    probes=st.lists(st.integers(-60 * 24, 60 * 24 * 50), min_size=1, max_size=6),
)
def test_no_share_reaches_beyond_its_booking(zone, booking_days, steps, probes) -> None:
    now = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
    with time_machine.travel(now, tick=False) as clock:
        # A site and a tenant of their own for each example: hypothesis runs them all in one test.
        site = cast.site_create(time_zone=zone)
        booked = cast.book(
            ContactFactory(),
            site,
            starts_on=DAY0,
            ends_on=None if booking_days is None else DAY0 + dt.timedelta(days=booking_days),
        )
        for number, step in enumerate(steps):
            booking = booked
            booking.refresh_from_db()
            try:
                if step[0] == "share":
                    first = DAY0 + dt.timedelta(days=step[1])
                    cast.share(
                        booking,
                        f"g{number}@example.com",
                        first,
                        first + dt.timedelta(days=step[2]),
                        units=site.units[step[3] : step[3] + 1],
                    )
                elif step[0] == "end":
                    booking_set_end_date(
                        actor=ACTOR, booking=booking, ends_on=DAY0 + dt.timedelta(days=step[1])
                    )
                elif step[0] == "open_end":
                    booking_set_end_date(actor=ACTOR, booking=booking, ends_on=None)
                elif step[0] == "cancel":
                    booking_cancel(actor=ACTOR, booking=booking, reason="property")
                else:
                    clock.move_to(now + dt.timedelta(minutes=step[1]))
                    grants_end_due()
            except Exception as error:  # rules refusing a move are fine; nothing else is
                from django.core.exceptions import ValidationError

                assert isinstance(error, ValidationError), error
        booking = booked
        booking.refresh_from_db()
        share_grants = list(AccessGrant.objects.filter(origin=GrantOrigin.SHARE, booking=booking))
        booking_units = {u.pk for u in booking.units.all()}
        for grant in share_grants:
            assert grant.unit_id in booking_units
            if grant.state == GrantState.ACTIVE:
                assert not booking.is_cancelled
                assert grant.starts_at >= booking.starts_at()
                if booking.ends_at() is not None:
                    assert grant.ends_at is not None and grant.ends_at <= booking.ends_at()
        for minutes in probes:
            when = now + dt.timedelta(minutes=minutes)
            for grant in share_grants:
                decision = access_decide(
                    door=Door.of(site.door), holder=grant.holder, when=when, channel="guest"
                )
                if decision.allowed:
                    assert booking.is_active_at(when)
