"""Transfer from a date: a later day is scheduled; the booking holds the old unit until the day
before and the new one from that day, the doors answer so at every instant, the shares move with
it, and it can be cancelled until it happens."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from keyport.access.models import AccessGrant, GrantState, SharedAccess
from keyport.access.services import access_decide, booking_restore_access, booking_revoke_access
from keyport.access.services.doors import Door
from keyport.access.tasks import booking_access_end
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.bookings.models import Booking, BookingUnit
from keyport.bookings.unit_states import UnitsOnDay
from keyport.facilities.models import AccessPoint, Unit, UnitAccessPoint, UnitStatus
from keyport.frontdesk.services import (
    booking_create,
    booking_move_out,
    booking_transfer,
    booking_transfer_cancel,
)
from tests import cast
from tests.factories import AccessPointFactory, CustomerFactory, LocationFactory, UnitFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC
ACTOR = Actor.system("tests")
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)  # 10:00 in Berlin
TODAY = dt.date(2026, 3, 4)
ON = dt.date(2026, 3, 10)
AT = dt.datetime(2026, 3, 9, 23, tzinfo=UTC)  # the start of 10 March in Berlin
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW and shared with friend@example.com."""
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site)
        cast.share(booking, "friend@example.com", TODAY, dt.date(2026, 3, 20))
        return booking


def new_unit(site, number: str = "B001") -> tuple[Unit, AccessPoint]:
    """A free unit with a lock of its own."""
    unit = UnitFactory(location=site.location, number=number)
    lock = AccessPointFactory(location=site.location, name=f"{number} lock")
    UnitAccessPoint.objects.create(unit=unit, access_point=lock)
    return unit, lock


def opens(point: AccessPoint, pin: str, when: dt.datetime) -> bool:
    return access_decide(door=Door.of(point), pin=pin, channel="device", when=when).allowed


def the_share(booking) -> SharedAccess:
    return SharedAccess.objects.get(booking=booking)


def grants(booking: Booking, unit: Unit) -> set[tuple[object, ...]]:
    return set(
        AccessGrant.objects.filter(booking=booking, unit=unit).values_list(
            "pk", "holder_id", "starts_at", "ends_at", "state"
        )
    )


def states(site, day: dt.date, when: dt.datetime) -> dict[str, str]:
    units = UnitsOnDay.of(site.location, day, when)
    return {
        unit.number: unit.state
        for unit in units.with_states(list(units.units().values_list("pk", flat=True)))
    }


def schedule(booking, site, to_unit: Unit, on: dt.date = ON) -> None:
    with time_machine.travel(NOW, tick=False):
        booking_transfer(actor=ACTOR, booking=booking, from_unit=site.units[0], to_unit=to_unit, on=on)


def test_a_scheduled_transfer_moves_the_doors_at_the_start_of_its_day(site, tenant, booking) -> None:
    new, new_lock = new_unit(site)
    tenant_pin, guest_pin = site.holder(tenant).pin, the_share(booking).holder.pin
    schedule(booking, site, new)
    for pin in (tenant_pin, guest_pin):
        assert opens(site.unit_lock, pin, AT - SECOND) and not opens(new_lock, pin, AT - SECOND)
        assert not opens(site.unit_lock, pin, AT) and opens(new_lock, pin, AT)
    old_active = AccessGrant.objects.filter(booking=booking, unit=site.units[0], state=GrantState.ACTIVE)
    assert {grant.ends_at for grant in old_active} == {AT}
    with time_machine.travel(AT - SECOND, tick=False):
        assert booking_access_end.call(booking.pk) == 0
    with time_machine.travel(AT, tick=False):
        assert booking_access_end.call(booking.pk) == 2  # the tenant's and the guest's
    assert not old_active.all().exists()
    assert opens(new_lock, tenant_pin, AT + dt.timedelta(days=30))
    assert not opens(new_lock, guest_pin, dt.datetime(2026, 3, 20, 23, tzinfo=UTC))  # the share's end


def test_the_shares_of_the_old_unit_move_at_the_date(site, booking) -> None:
    new, _ = new_unit(site)
    share = the_share(booking)
    schedule(booking, site, new)
    assert set(the_share(booking).units.all()) == {site.units[0], new}
    share_grants = AccessGrant.objects.filter(share=share, state=GrantState.ACTIVE)
    assert {(g.unit_id, g.starts_at, g.ends_at) for g in share_grants} == {
        (site.units[0].pk, share.starts_at(), AT),
        (new.pk, AT, share.ends_at()),
    }
    entry = AuditEntry.objects.get(action="booking.transferred")
    assert (entry.details["from"], entry.details["to"], entry.details["on"]) == ("A001", "B001", "2026-03-10")
    assert entry.details["scheduled"] is True and entry.details["shares_moved"] == [share.pk]


def test_a_share_that_ends_before_the_date_gets_no_grant_of_the_new_unit(booking, site) -> None:
    new, _ = new_unit(site)
    with time_machine.travel(NOW, tick=False):
        early = cast.share(booking, "early@example.com", TODAY, dt.date(2026, 3, 8))
        late = cast.share(booking, "late@example.com", dt.date(2026, 3, 12), dt.date(2026, 3, 14))
    schedule(booking, site, new)
    assert not AccessGrant.objects.filter(share=early, unit=new).exists()
    assert not AccessGrant.objects.filter(share=late, unit=site.units[0], state=GrantState.ACTIVE).exists()
    assert (
        AccessGrant.objects.get(share=late, unit=new, state=GrantState.ACTIVE).starts_at == late.starts_at()
    )


def test_meanwhile_the_new_unit_is_reserved_and_the_old_one_available_from_the_date(
    client, owner, site, booking
) -> None:
    new, _ = new_unit(site)
    schedule(booking, site, new)
    day_before, on = states(site, ON - dt.timedelta(days=1), NOW), states(site, ON, NOW)
    assert (day_before["A001"], day_before["B001"]) == ("occupied", "reserved")
    assert (on["A001"], on["B001"]) == ("available", "occupied")
    rows = BookingUnit.objects.filter(booking=booking)
    assert {(r.unit.number, r.starts_on, r.ends_on) for r in rows if r.unit in (site.units[0], new)} == {
        ("A001", dt.date(2026, 3, 1), ON - dt.timedelta(days=1)),
        ("B001", ON, None),
    }
    with time_machine.travel(NOW, tick=False):
        client.force_login(owner)
        page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
        assert "Transfers from A001 to B001 on 10 Mar 2026" in page and "Cancel transfer to B001" in page
        booking_create(actor=ACTOR, customer=CustomerFactory(), units=[site.units[0]], starts_on=ON)
        with pytest.raises(ValidationError, match="Already booked"):
            booking_create(actor=ACTOR, customer=CustomerFactory(), units=[new], starts_on=TODAY)
    with time_machine.travel(AT + SECOND, tick=False):
        client.force_login(owner)
        response = client.get(reverse("dashboard:booking_detail", args=[booking.pk]))
    assert "Transfers from A001" not in response.content.decode()
    assert [unit.number for unit in response.context["units"]] == ["A002", "A003", "B001"]


def test_the_form_schedules_a_transfer_for_its_date(client, owner, site, booking) -> None:
    new, _ = new_unit(site)
    # Taken today, free from the transfer date: not offered for today, accepted for the date.
    booking_create(
        actor=ACTOR,
        customer=CustomerFactory(),
        units=[new],
        starts_on=dt.date(2026, 3, 1),
        ends_on=ON - dt.timedelta(days=1),
    )
    client.force_login(owner)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("dashboard:booking_detail", args=[booking.pk]))
        assert new not in page.context["transfer_form"].fields["to_unit"].queryset
        assert 'name="on" value="2026-03-04"' in page.content.decode()
        response = client.post(
            reverse("dashboard:booking_transfer", args=[booking.pk]),
            {"on": "2026-03-10", "from_unit": site.units[0].pk, "to_unit": new.pk},
        )
    assert response.status_code == 302
    assert BookingUnit.objects.get(booking=booking, unit=new).starts_on == ON


def test_a_unit_taken_meanwhile_is_refused(client, owner, site, booking) -> None:
    new, _ = new_unit(site)
    booking_create(actor=ACTOR, customer=CustomerFactory(), units=[new], starts_on=dt.date(2026, 3, 15))
    before = snapshot(site)
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError) as refused:
        booking_transfer(actor=ACTOR, booking=booking, from_unit=site.units[0], to_unit=new, on=ON)
    assert refused.value.message_dict == {
        "to_unit": ["Unit B001 is not free from Tue 10 Mar 2026 to the booking's end."]
    }
    assert snapshot(site) == before
    client.force_login(owner)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("dashboard:booking_transfer", args=[booking.pk]),
            {"on": "2026-03-10", "from_unit": site.units[0].pk, "to_unit": new.pk},
        )
    assert response.status_code == 400
    assert "not free from the transfer date" in response.context["transfer_form"].errors["to_unit"][0]
    assert snapshot(site) == before


def snapshot(site) -> tuple[object, ...]:
    return (
        sorted(BookingUnit.objects.values_list("pk", "unit_id", "starts_on", "ends_on", "transfer_to")),
        sorted(AccessGrant.objects.values_list("pk", "unit_id", "starts_at", "ends_at", "state")),
        sorted(SharedAccess.objects.values_list("pk", "units")),
        AuditEntry.objects.filter(action__startswith="booking.transfer").count(),
    )


def test_cancelling_a_scheduled_transfer_leaves_the_old_unit_as_it_was(
    client, owner, site, tenant, booking
) -> None:
    new, new_lock = new_unit(site)
    tenant_pin, guest_pin = site.holder(tenant).pin, the_share(booking).holder.pin
    before = grants(booking, site.units[0])
    rows_before = sorted(BookingUnit.objects.values_list("pk", "unit_id", "starts_on", "ends_on"))
    schedule(booking, site, new)
    client.force_login(owner)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("dashboard:booking_transfer_cancel", args=[booking.pk, site.units[0].pk])
        )
    assert response.status_code == 302
    assert grants(booking, site.units[0]) == before
    assert sorted(BookingUnit.objects.values_list("pk", "unit_id", "starts_on", "ends_on")) == rows_before
    assert not AccessGrant.objects.filter(unit=new, state=GrantState.ACTIVE).exists()
    assert set(the_share(booking).units.all()) == {site.units[0]}
    for pin in (tenant_pin, guest_pin):
        assert opens(site.unit_lock, pin, AT) and not opens(new_lock, pin, AT)
    assert AuditEntry.objects.get(action="booking.transfer_cancelled").details["was"] == "2026-03-10"
    with time_machine.travel(NOW, tick=False), pytest.raises(ValidationError, match="No transfer"):
        booking_transfer_cancel(actor=ACTOR, booking=booking, from_unit=site.units[0])


def test_a_transfer_that_happened_or_whose_old_unit_was_booked_meanwhile_cannot_be_cancelled(
    site, booking
) -> None:
    new, _ = new_unit(site)
    schedule(booking, site, new)
    with time_machine.travel(AT, tick=False), pytest.raises(ValidationError, match="has happened"):
        booking_transfer_cancel(actor=ACTOR, booking=booking, from_unit=site.units[0])
    with time_machine.travel(NOW, tick=False):
        booking_create(actor=ACTOR, customer=CustomerFactory(), units=[site.units[0]], starts_on=ON)
        with pytest.raises(ValidationError, match="booked from Tue 10 Mar 2026 meanwhile"):
            booking_transfer_cancel(actor=ACTOR, booking=booking, from_unit=site.units[0])
    assert BookingUnit.objects.get(booking=booking, unit=new).starts_on == ON


@pytest.mark.parametrize(
    ("zone", "now", "on", "at"),
    [
        # 22:00 on 4 March in New York: 5 March is tomorrow, and begins at 05:00 UTC.
        (
            "America/New_York",
            dt.datetime(2026, 3, 5, 3, tzinfo=UTC),
            dt.date(2026, 3, 5),
            dt.datetime(2026, 3, 5, 5, tzinfo=UTC),
        ),
        # The day after the clocks go forward: 9 March begins at 04:00 UTC.
        ("America/New_York", NOW, dt.date(2026, 3, 9), dt.datetime(2026, 3, 9, 4, tzinfo=UTC)),
        # 00:30 on 5 March in Berlin already: 6 March begins at 23:00 UTC on 5 March.
        (
            "Europe/Berlin",
            dt.datetime(2026, 3, 4, 23, 30, tzinfo=UTC),
            dt.date(2026, 3, 6),
            dt.datetime(2026, 3, 5, 23, tzinfo=UTC),
        ),
    ],
)
def test_the_transfer_instant_is_the_start_of_its_day_in_the_locations_time_zone(
    zone, now, on, at, site, tenant
) -> None:
    with time_machine.travel(now, tick=False):
        site.set(time_zone=zone)
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        new, new_lock = new_unit(site)
        booking_transfer(actor=ACTOR, booking=booking, from_unit=site.units[0], to_unit=new, on=on)
    pin = site.holder(tenant).pin
    assert opens(site.unit_lock, pin, at - SECOND) and not opens(new_lock, pin, at - SECOND)
    assert not opens(site.unit_lock, pin, at) and opens(new_lock, pin, at)


def test_the_transfer_date_is_today_or_later_in_the_locations_time_zone(site, tenant) -> None:
    late = dt.datetime(2026, 3, 5, 3, tzinfo=UTC)  # still 4 March in New York
    with time_machine.travel(late, tick=False):
        site.set(time_zone="America/New_York")
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        new, new_lock = new_unit(site)
        with pytest.raises(ValidationError) as refused:
            booking_transfer(
                actor=ACTOR,
                booking=booking,
                from_unit=site.units[0],
                to_unit=new,
                on=dt.date(2026, 3, 3),
            )
        assert refused.value.message_dict == {"on": ["The transfer date cannot be in the past."]}
        booking_transfer(
            actor=ACTOR, booking=booking, from_unit=site.units[0], to_unit=new, on=dt.date(2026, 3, 4)
        )
    assert opens(new_lock, site.holder(tenant).pin, late)  # today's transfer moves access now
    assert AuditEntry.objects.get(action="booking.transferred").details["scheduled"] is False


@pytest.mark.parametrize(
    ("post", "field", "message"),
    [
        ({"on": "2026-03-03"}, "on", "The transfer date cannot be in the past."),
        ({"on": "2026-03-13"}, "on", "The transfer date cannot be after the move-out (Thu 12 Mar 2026)."),
        ({"on": "not a date"}, "on", "Enter a valid date."),
        ({"to_unit": "same"}, "to_unit", "not free from the transfer date"),
        ({"to_unit": "elsewhere"}, "to_unit", "not free from the transfer date"),
        ({"to_unit": "broken"}, "to_unit", "not free from the transfer date"),
    ],
)
def test_bad_transfer_input_is_refused_beside_its_field(
    client, owner, booking, site, post, field, message
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 12))
    new, _ = new_unit(site)
    broken, _ = new_unit(site, "B002")
    broken.status, broken.out_of_service_reason = UnitStatus.OUT_OF_SERVICE, "Door broken"
    broken.save()
    to_units = {
        "same": site.units[1],
        "elsewhere": UnitFactory(location=LocationFactory()),
        "broken": broken,
    }
    data = {"on": "2026-03-10", "from_unit": site.units[0].pk, "to_unit": new.pk, **post}
    data["to_unit"] = to_units[data["to_unit"]].pk if data["to_unit"] in to_units else data["to_unit"]
    before = snapshot(site)
    client.force_login(owner)
    with time_machine.travel(NOW, tick=False):
        response = client.post(reverse("dashboard:booking_transfer", args=[booking.pk]), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["transfer_form"].errors[field])
    assert snapshot(site) == before


def test_the_service_refuses_bad_targets_and_a_booking_not_current(site, tenant, booking) -> None:
    new, _ = new_unit(site)
    broken, _ = new_unit(site, "B002")
    broken.status, broken.out_of_service_reason = UnitStatus.OUT_OF_SERVICE, "Door broken"
    broken.save()
    elsewhere = UnitFactory(location=LocationFactory())
    with time_machine.travel(NOW, tick=False):
        reserved = booking_create(
            actor=ACTOR,
            customer=tenant.customer,
            units=[UnitFactory(location=site.location)],
            starts_on=dt.date(2026, 4, 1),
        )
    refusals = {
        elsewhere: {"to_unit": ["This unit is at another location."]},
        broken: {"to_unit": ["Unit B002 is Out of service."]},
        site.units[1]: {"to_unit": ["The booking has this unit already: choose another one."]},
    }
    before = snapshot(site)
    with time_machine.travel(NOW, tick=False):
        for to_unit, expected in refusals.items():
            with pytest.raises(ValidationError) as refused:
                booking_transfer(
                    actor=ACTOR, booking=booking, from_unit=site.units[0], to_unit=to_unit, on=ON
                )
            assert refused.value.message_dict == expected
        with pytest.raises(ValidationError, match="Only a current booking"):
            booking_transfer(
                actor=ACTOR, booking=reserved, from_unit=reserved.units.get(), to_unit=new, on=ON
            )
    assert snapshot(site) == before


def test_a_unit_with_a_transfer_scheduled_is_not_transferred_again_nor_moved_out_before_it(
    site, booking
) -> None:
    new, _ = new_unit(site)
    other, _ = new_unit(site, "B002")
    schedule(booking, site, new)
    before = snapshot(site)
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(ValidationError) as refused:
            booking_transfer(actor=ACTOR, booking=booking, from_unit=site.units[0], to_unit=other)
        assert refused.value.message_dict == {
            "from_unit": ["Unit A001 transfers to B001 on Tue 10 Mar 2026: cancel that transfer first."]
        }
        with pytest.raises(ValidationError) as refused:
            booking_transfer(actor=ACTOR, booking=booking, from_unit=new, to_unit=other)
        assert refused.value.message_dict == {
            "from_unit": ["The booking holds unit B001 from Tue 10 Mar 2026 only."]
        }
        with pytest.raises(ValidationError) as refused:
            booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 9))
        assert refused.value.message_dict == {
            "on": ["The booking holds unit B001 from Tue 10 Mar 2026: end on or after it."]
        }
    assert snapshot(site) == before
    with time_machine.travel(NOW, tick=False):
        booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 15))
    ends = dt.datetime(2026, 3, 15, 23, tzinfo=UTC)
    assert BookingUnit.objects.get(booking=booking, unit=site.units[0]).ends_on == dt.date(2026, 3, 9)
    assert {g.ends_at for g in AccessGrant.objects.filter(unit=site.units[0], state=GrantState.ACTIVE)} == {
        AT
    }
    assert {g.ends_at for g in AccessGrant.objects.filter(unit=new, state=GrantState.ACTIVE)} == {ends}


def test_revoke_and_restore_during_a_scheduled_transfer_keep_its_instant(site, tenant, booking) -> None:
    new, new_lock = new_unit(site)
    schedule(booking, site, new)
    with time_machine.travel(NOW, tick=False):
        booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
        booking_restore_access(actor=ACTOR, booking=booking)
    for pin in (site.holder(tenant).pin, the_share(booking).holder.pin):
        assert opens(site.unit_lock, pin, AT - SECOND) and not opens(new_lock, pin, AT - SECOND)
        assert not opens(site.unit_lock, pin, AT) and opens(new_lock, pin, AT)


def test_rentals_show_the_units_held_as_of_today_and_their_rent(site, booking) -> None:
    from decimal import Decimal

    from keyport.frontdesk.queries import RentalScope, rentals_page

    old = site.units[0]
    new, _ = new_unit(site)
    schedule(booking, site, new)
    rows = BookingUnit.objects.filter(booking=booking)
    rows.filter(unit=old).update(monthly_rent=Decimal("50.00"))
    rows.filter(unit=new).update(monthly_rent=Decimal("70.00"))
    others = {unit.number for unit in site.units[1:]}
    other_rent = sum((row.monthly_rent for row in rows.exclude(unit__in=[old, new])), Decimal("0"))

    def rental_on(when: dt.datetime) -> tuple[set[str], Decimal]:
        with time_machine.travel(when, tick=False):
            bookings = Booking.objects.filter(pk=booking.pk)
            [rental] = rentals_page(bookings, scope=RentalScope.of([site.location])).rentals
            return {unit.number for unit in rental.units}, rental.monthly_rent

    assert rental_on(AT - SECOND) == (others | {old.number}, other_rent + Decimal("50.00"))
    assert rental_on(AT) == (others | {new.number}, other_rent + Decimal("70.00"))


def test_a_transfer_takes_the_rent_staff_write_else_the_new_units_price_else_the_rent_paid(
    site, booking
) -> None:
    from decimal import Decimal

    old = site.units[0]
    BookingUnit.objects.filter(booking=booking, unit=old).update(monthly_rent=Decimal("33.33"))
    unpriced, _ = new_unit(site, "B001")
    with time_machine.travel(NOW, tick=False):
        booking_transfer(actor=ACTOR, booking=booking, from_unit=old, to_unit=unpriced, on=TODAY)
    assert BookingUnit.objects.get(booking=booking, unit=unpriced).monthly_rent == Decimal("33.33")
    second, _ = new_unit(site, "B002")
    with time_machine.travel(NOW, tick=False):
        with pytest.raises(ValidationError) as refused:
            booking_transfer(
                actor=ACTOR,
                booking=booking,
                from_unit=unpriced,
                to_unit=second,
                on=ON,
                monthly_rent=Decimal("-1"),
            )
        assert "monthly_rent" in refused.value.message_dict
        booking_transfer(
            actor=ACTOR,
            booking=booking,
            from_unit=unpriced,
            to_unit=second,
            on=ON,
            monthly_rent=Decimal("45.00"),
        )
    assert BookingUnit.objects.get(booking=booking, unit=second).monthly_rent == Decimal("45.00")
