"""The front desk: New customer on All Contacts, and Move in at a location (the free units on the
location's days, rents, the doors from the start of the move-in day, the Welcome email)."""

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keyport.access.models import AccessGrant, AccessHolder
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.bookings.models import Booking, BookingPhase, BookingUnit
from keyport.bookings.queries import units_free_for
from keyport.contacts.models import AccountStatus, Contact, Customer
from keyport.contacts.services import portal_link_redeem
from keyport.emails.models import OutgoingEmail
from keyport.emails.services import email_deliver
from keyport.facilities.models import UnitStatus, UnitType
from keyport.facilities.services import location_set_opening_hours
from keyport.staff.models import Role
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db

# Berlin's clocks go forward on the last Sunday of March and back on the last Sunday of October.
SPRING_FORWARD = dt.date(2026, 3, 29)
FALL_BACK = dt.date(2026, 10, 25)
NOW = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)  # a Tuesday, 10:00 in Berlin


@pytest.fixture
def berlin():
    location = LocationFactory(name="Lager Kreuzberg", street="Hauptstraße 1", time_zone="Europe/Berlin")
    location_set_opening_hours(
        actor=Actor.system("tests"), location=location, hours=[(0, dt.time(6), dt.time(22))]
    )
    return location


@pytest.fixture
def small(berlin):
    return UnitType.objects.create(
        location=berlin,
        name="Small",
        width_m=Decimal("1"),
        depth_m=Decimal("2"),
        monthly_price=Decimal("49.00"),
    )


@pytest.fixture
def units(berlin, small):
    return [UnitFactory(location=berlin, number=f"A{n:03d}", unit_type=small) for n in range(1, 5)]


@pytest.fixture
def tenant(berlin):
    customer = CustomerFactory(name="Mara Schneider", home_location=berlin)
    ContactFactory(customer=customer, first_name="Mara", last_name="Schneider", email="mara@example.com")
    return customer


@pytest.fixture
def manager_client(staff_client, berlin):
    """A manager of Berlin (the cast's manager works at the cast's site)."""
    return staff_client(Role.MANAGER, berlin)


def move_in_url(location) -> str:
    return reverse("dashboard:move_in", args=[location.pk])


def move_in(client: Client, location, **fields):
    data = {"action": "move_in", "starts_on": "2026-03-10", "ends_on": "", "deposit": "", "note": ""}
    data.update({key: value for key, value in fields.items() if not key.startswith("rent_")})
    data.update({key: value for key, value in fields.items() if key.startswith("rent_")})
    return client.post(move_in_url(location), data)


def state() -> tuple[int, int, int, int, int]:
    return (
        Booking.objects.count(),
        BookingUnit.objects.count(),
        AccessGrant.objects.count(),
        Customer.objects.count(),
        OutgoingEmail.objects.count(),
    )


def free_numbers(location, starts_on, ends_on=None) -> list[str]:
    return list(units_free_for(location, starts_on, ends_on).values_list("number", flat=True))


# The free units --------------------------------------------------------------------------------


def test_a_unit_is_free_from_the_day_after_its_last_booked_day(berlin, units, tenant):
    booking_of(tenant, [units[0]], dt.date(2026, 3, 1), dt.date(2026, 3, 28))
    assert "A001" not in free_numbers(berlin, dt.date(2026, 3, 28))
    assert "A001" in free_numbers(berlin, dt.date(2026, 3, 29))


def test_a_unit_booked_later_is_free_only_until_the_day_before(berlin, units, tenant):
    booking_of(tenant, [units[0]], dt.date(2026, 4, 1))
    assert "A001" not in free_numbers(berlin, dt.date(2026, 3, 10))
    assert "A001" not in free_numbers(berlin, dt.date(2026, 3, 10), dt.date(2026, 4, 1))
    assert "A001" in free_numbers(berlin, dt.date(2026, 3, 10), dt.date(2026, 3, 31))


def test_cancelled_bookings_free_their_units_and_out_of_service_units_are_never_offered(
    berlin, units, tenant
):
    booking = booking_of(tenant, [units[0]], dt.date(2026, 3, 1))
    BookingUnit.objects.filter(booking=booking).update(is_cancelled=True)
    units[1].status = UnitStatus.OUT_OF_SERVICE
    units[1].save()
    assert free_numbers(berlin, dt.date(2026, 3, 10)) == ["A001", "A003", "A004"]


@pytest.mark.parametrize(
    ("now", "today", "offered"),
    [
        # 23:59:59 in Berlin on Saturday 28 March: still the last booked day.
        (dt.datetime(2026, 3, 28, 22, 59, 59, tzinfo=dt.UTC), "2026-03-28", False),
        # Midnight in Berlin (23:00 UTC, an hour before the clocks go forward): the unit is free.
        (dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC), "2026-03-29", True),
    ],
)
def test_the_form_offers_the_units_free_today_in_the_locations_time_zone(
    manager_client, berlin, units, tenant, now, today, offered
):
    booking_of(tenant, [units[0]], dt.date(2026, 3, 1), dt.date(2026, 3, 28))
    with time_machine.travel(now, tick=False):
        page = manager_client.get(move_in_url(berlin)).content.decode()
    assert f'value="{today}"' in page
    assert (f'name="units" value="{units[0].pk}"' in page) is offered
    assert f'name="units" value="{units[1].pk}"' in page


@pytest.mark.parametrize(
    ("day", "starts_at"),
    [
        (SPRING_FORWARD - dt.timedelta(days=1), dt.datetime(2026, 3, 27, 23, 0, tzinfo=dt.UTC)),
        (SPRING_FORWARD, dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)),
        (SPRING_FORWARD + dt.timedelta(days=1), dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)),
        (FALL_BACK, dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)),
        (FALL_BACK + dt.timedelta(days=1), dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC)),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_the_doors_open_from_the_start_of_the_move_in_day_across_daylight_saving(
    manager_client, berlin, units, tenant, day, starts_at
):
    response = move_in(
        manager_client, berlin, customer=tenant.pk, units=[units[0].pk], starts_on=day.isoformat()
    )
    assert response.status_code == 302, response.content.decode()
    [grant] = AccessGrant.objects.filter(booking__customer=tenant)
    assert grant.starts_at == starts_at
    assert grant.holder.contact == tenant.contacts.get()


@time_machine.travel(NOW, tick=False)
def test_a_later_move_in_is_reserved_until_its_day_and_current_from_it(manager_client, berlin, units, tenant):
    move_in(manager_client, berlin, customer=tenant.pk, units=[units[0].pk], starts_on="2026-03-20")
    booking = Booking.objects.get(customer=tenant)
    assert booking.phase_label(dt.date(2026, 3, 19)) == BookingPhase.RESERVED.label
    assert booking.phase_label(dt.date(2026, 3, 20)) == BookingPhase.CURRENT.label
    assert "A001" not in free_numbers(berlin, dt.date(2026, 3, 10))


# A move-in -------------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_move_in_of_three_units_books_them_with_their_rents_deposit_and_note(
    manager_client, berlin, units, tenant
):
    response = move_in(
        manager_client,
        berlin,
        customer=tenant.pk,
        units=[u.pk for u in units[:3]],
        ends_on="2026-09-30",
        deposit="100",
        note="  Gate code told ",
        **{f"rent_{units[0].pk}": "39.50", f"rent_{units[1].pk}": ""},
    )
    booking = Booking.objects.get(customer=tenant)
    assert response.headers["Location"] == reverse("dashboard:booking_detail", args=[booking.pk])
    rents = dict(booking.booking_units.values_list("unit__number", "monthly_rent"))
    assert rents == {"A001": Decimal("39.50"), "A002": Decimal("49.00"), "A003": Decimal("49.00")}
    assert (booking.starts_on, booking.ends_on) == (dt.date(2026, 3, 10), dt.date(2026, 9, 30))
    assert (booking.deposit, booking.note) == (Decimal("100.00"), "Gate code told")
    moved_in = AuditEntry.objects.get(action="booking.moved_in")
    assert moved_in.details == {"back_dated": False, "welcome_sent_to": ["mara@example.com"]}


@time_machine.travel(NOW, tick=False)
def test_the_rents_are_prefilled_from_the_unit_types_price(manager_client, berlin, units):
    page = manager_client.get(move_in_url(berlin)).content.decode()
    assert re.search(rf'name="rent_{units[0].pk}" value="49.00"', page)


@time_machine.travel(NOW, tick=False)
def test_a_new_customer_is_opened_in_the_same_form_at_this_location(manager_client, berlin, units):
    move_in(
        manager_client, berlin, units=[units[0].pk], new_name="Jonas Weber", new_email="Jonas@Example.com"
    )
    customer = Customer.objects.get(name="Jonas Weber")
    contact = customer.contacts.get()
    assert (contact.first_name, contact.last_name, contact.email) == ("Jonas", "Weber", "jonas@example.com")
    assert customer.home_location == berlin and contact.can_access_portal
    assert Booking.objects.get().customer == customer
    assert OutgoingEmail.objects.get(template="welcome").to == "jonas@example.com"


@time_machine.travel(NOW, tick=False)
def test_the_customer_page_offers_move_in_to_operators_and_the_form_starts_with_that_customer(
    manager_client, berlin, units, tenant, staff_client
):
    page = manager_client.get(reverse("dashboard:customer_detail", args=[tenant.pk])).content.decode()
    link = f"{move_in_url(berlin)}?customer={tenant.pk}"
    assert f'href="{link}"' in page
    form = manager_client.get(link).content.decode()
    assert re.search(rf'<input type="radio" name="customer" value="{tenant.pk}"[^>]* checked', form)
    employee = staff_client(Role.EMPLOYEE, berlin)
    assert (
        "Move in" not in employee.get(reverse("dashboard:customer_detail", args=[tenant.pk])).content.decode()
    )


@time_machine.travel(NOW, tick=False)
def test_a_unit_named_in_the_address_is_chosen(manager_client, berlin, units):
    form = manager_client.get(f"{move_in_url(berlin)}?unit={units[2].pk}").content.decode()
    assert re.search(rf'name="units" value="{units[2].pk}"[^>]* checked', form)
    assert not re.search(rf'name="units" value="{units[1].pk}"[^>]* checked', form)


@time_machine.travel(NOW, tick=False)
def test_the_customer_search_finds_customers_of_locations_the_staff_member_runs(
    manager_client, berlin, tenant
):
    munich = LocationFactory(name="Munich")
    elsewhere = CustomerFactory(name="Mara Elsewhere", home_location=munich)
    ContactFactory(customer=elsewhere, first_name="Mara")
    page = manager_client.get(move_in_url(berlin), {"customer_search": "mara"}).content.decode()
    assert "Mara Schneider" in page and "Mara Elsewhere" not in page


# Bad input: a message beside its field, nothing changed -----------------------------------------


def errors_of(response) -> str:
    return " ".join(
        re.findall(r'<div class="invalid-feedback d-block"[^>]*>(.*?)</div>', response.content.decode())
    )


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"starts_on": "2026-03-09"}, "Only owners can move in from a day already past."),
        ({"ends_on": "2026-03-09"}, "The move-out date cannot be before the move-in date."),
        ({"rent": "-1"}, "A rent cannot be below zero."),
        ({"rent": "cheap"}, "Enter the amount as a number."),
        ({"deposit": "-5"}, "The deposit cannot be below zero."),
        ({"units": []}, "Choose at least one unit."),
        ({"customer": ""}, "Choose a customer, or enter a new customer&#x27;s name."),
        ({"new_name": "Someone Else"}, "Choose a customer or enter a new one, not both."),
        ({"starts_on": "someday"}, "Enter a valid date."),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_changes(
    manager_client, berlin, units, tenant, fields, message
):
    before = state()
    data = {"customer": tenant.pk, "units": [units[0].pk], f"rent_{units[0].pk}": fields.pop("rent", "49")}
    response = move_in(manager_client, berlin, **{**data, **fields})
    assert response.status_code == 400
    assert message in errors_of(response)
    assert state() == before


@time_machine.travel(NOW, tick=False)
def test_an_out_of_service_unit_or_one_of_another_location_is_refused(manager_client, berlin, units, tenant):
    units[0].status = UnitStatus.OUT_OF_SERVICE
    units[0].save()
    munich_unit = UnitFactory(location=LocationFactory(name="Munich"))
    before = state()
    refused = move_in(manager_client, berlin, customer=tenant.pk, units=[units[0].pk])
    assert "Not available for booking: A001." in errors_of(refused)
    elsewhere = move_in(manager_client, berlin, customer=tenant.pk, units=[munich_unit.pk])
    assert "Choose units of this location." in errors_of(elsewhere)
    assert state() == before


@time_machine.travel(NOW, tick=False)
def test_a_unit_taken_meanwhile_gets_a_message_and_nothing_is_created(manager_client, berlin, units, tenant):
    booking_of(CustomerFactory(home_location=berlin), [units[0]], dt.date(2026, 3, 1))
    before = state()
    response = move_in(manager_client, berlin, customer=tenant.pk, units=[units[0].pk, units[1].pk])
    assert response.status_code == 400
    assert "Already booked for these dates: A001." in errors_of(response)
    assert state() == before


@time_machine.travel(NOW, tick=False)
def test_a_customer_of_another_locations_manager_is_refused(manager_client, berlin, units):
    munich = LocationFactory(name="Munich")
    theirs = CustomerFactory(home_location=munich)
    ContactFactory(customer=theirs)
    before = state()
    response = move_in(manager_client, berlin, customer=theirs.pk, units=[units[0].pk])
    assert "Choose a customer of a location you run." in errors_of(response)
    assert state() == before


@time_machine.travel(NOW, tick=False)
def test_a_new_customers_email_another_contact_has_is_refused_with_a_link(
    manager_client, berlin, units, tenant
):
    before = state()
    response = move_in(
        manager_client, berlin, units=[units[0].pk], new_name="Mara Again", new_email="MARA@example.com"
    )
    assert "Another contact already uses this email address" in errors_of(response)
    assert reverse("dashboard:customer_detail", args=[tenant.pk]) in errors_of(response)
    assert state() == before


@time_machine.travel(NOW, tick=False)
def test_an_owner_may_back_date_a_move_in_and_the_audit_says_so(owner_client, berlin, units, tenant):
    response = move_in(owner_client, berlin, customer=tenant.pk, units=[units[0].pk], starts_on="2026-03-01")
    assert response.status_code == 302
    assert AuditEntry.objects.get(action="booking.moved_in").details["back_dated"] is True
    assert Booking.objects.get().starts_on == dt.date(2026, 3, 1)


@time_machine.travel(NOW, tick=False)
def test_employees_and_other_locations_staff_cannot_move_in(berlin, units, tenant, staff_client):
    munich = LocationFactory(name="Munich")
    before = state()
    for client, status in [
        (staff_client(Role.EMPLOYEE, berlin), 403),
        (staff_client(Role.MANAGER, munich), 404),
        (staff_client(Role.EMPLOYEE, munich), 404),
    ]:
        assert client.get(move_in_url(berlin)).status_code == status
        assert move_in(client, berlin, customer=tenant.pk, units=[units[0].pk]).status_code == status
    assert state() == before


# htmx and the form without JavaScript -----------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_changing_the_dates_refreshes_only_the_free_units_with_htmx(manager_client, berlin, units, tenant):
    booking_of(tenant, [units[0]], dt.date(2026, 4, 1))
    query = {"starts_on": "2026-03-10", "ends_on": "2026-03-31", "units": [units[1].pk]}
    response = manager_client.get(
        move_in_url(berlin), query, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="free-units"
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and 'aria-label="Free units"' in body
    assert f'name="units" value="{units[0].pk}"' in body
    assert re.search(rf'value="{units[1].pk}" id="unit-{units[1].pk}" checked', body)
    later = manager_client.get(
        move_in_url(berlin), {"starts_on": "2026-03-10"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="free-units"
    )
    assert f'name="units" value="{units[0].pk}"' not in later.content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_date_fields_ask_htmx_for_the_free_units(manager_client, berlin):
    page = manager_client.get(move_in_url(berlin)).content.decode()
    assert re.search(r'hx-get="[^"]*/move-in/" hx-trigger="change" hx-target="#free-units"', page)


@time_machine.travel(NOW, tick=False)
def test_show_free_units_re_renders_the_form_without_javascript_and_keeps_what_was_typed(
    manager_client, berlin, units, tenant
):
    booking_of(tenant, [units[0]], dt.date(2026, 4, 1))
    before = state()
    data = {
        "action": "refresh",
        "customer": tenant.pk,
        "starts_on": "2026-03-10",
        "ends_on": "2026-03-31",
        "note": "Walk-in",
        "units": [units[0].pk],
        f"rent_{units[0].pk}": "45",
    }
    response = manager_client.post(move_in_url(berlin), data)
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page and not errors_of(response)
    assert re.search(rf'name="units" value="{units[0].pk}" id="unit-{units[0].pk}" checked', page)
    assert f'name="rent_{units[0].pk}" value="45"' in page and "Walk-in" in page
    assert state() == before


# The Welcome email -----------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_welcome_email_tells_units_address_hours_pin_and_signs_in(manager_client, berlin, units, tenant):
    move_in(manager_client, berlin, customer=tenant.pk, units=[units[0].pk, units[1].pk])
    contact = tenant.contacts.get()
    email = OutgoingEmail.objects.get(template="welcome")
    assert (email.to, email.contact) == ("mara@example.com", contact)
    assert email.subject == "Welcome to Lager Kreuzberg: Storage unit A001, Storage unit A002"
    text = email.body_text
    assert "Mara Schneider rents Storage unit A001, Storage unit A002 from March 10, 2026." in text
    assert "Address: Hauptstraße 1, 10115 Berlin, DE" in text
    assert "Opening hours: Monday 06:00–22:00" in text
    assert "Open buttons" in text
    pin = AccessHolder.objects.get(contact=contact, location=berlin).pin
    assert pin not in text and "[pin: added when sent, never kept in the log]" in text
    assert f"/login/?location={berlin.pk}" in text
    assert contact.account_status() == AccountStatus.EMAIL_SENT
    email_deliver(email_id=email.pk)
    [message] = mail.outbox
    assert f"type your PIN {pin} at the keypad" in message.body
    token = re.search(r"/login/link/([^/\s]+)/", message.body)[1]
    assert portal_link_redeem(token=token) == contact
    assert Contact.objects.get(pk=contact.pk).account_status() == AccountStatus.SIGNED_IN


@time_machine.travel(NOW, tick=False)
def test_only_the_customers_portal_people_are_welcomed(manager_client, berlin, units, tenant):
    ContactFactory(customer=tenant, is_primary=False, email="partner@example.com")
    ContactFactory(customer=tenant, is_primary=False, email="books@example.com", can_access_portal=False)
    move_in(manager_client, berlin, customer=tenant.pk, units=[units[0].pk])
    sent = sorted(OutgoingEmail.objects.filter(template="welcome").values_list("to", flat=True))
    assert sent == ["mara@example.com", "partner@example.com"]


# Two desks, one unit (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_move_ins_of_the_same_unit_one_wins_the_other_gets_the_message(
    berlin, units, staff_client
):
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent writers need PostgreSQL; SQLite takes one writer at a time.")
    customers = [CustomerFactory(home_location=berlin) for _ in range(2)]
    clients = [staff_client(Role.MANAGER, berlin) for _ in range(2)]
    next_week = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    start = threading.Barrier(2)
    answers: list[str] = []

    def desk(client: Client, customer: Customer) -> None:
        try:
            start.wait()
            response = move_in(client, berlin, customer=customer.pk, units=[units[0].pk], starts_on=next_week)
            answers.append("moved in" if response.status_code == 302 else errors_of(response))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=desk, args=pair) for pair in zip(clients, customers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The first locks the unit; the second waits for it, then finds its booking.
    assert sorted(answers) == ["Already booked for these dates: A001.", "moved in"]
    assert BookingUnit.objects.filter(unit=units[0]).count() == 1


# New customer ----------------------------------------------------------------------------------


def new_customer(client: Client, **fields):
    data = {"name": "Jonas Weber", "email": "", "phone": "", "kind": "storage", **fields}
    return client.post(reverse("dashboard:customer_new"), data)


def test_all_contacts_offers_new_customer_to_those_who_run_a_location(manager_client, berlin, staff_client):
    page = manager_client.get(reverse("dashboard:all_contacts")).content.decode()
    assert f'href="{reverse("dashboard:customer_new")}">New customer' in page
    employee = staff_client(Role.EMPLOYEE, berlin).get(reverse("dashboard:all_contacts")).content.decode()
    assert "New customer" not in employee


def test_new_customer_opens_the_account_with_its_primary_contact_and_lands_on_its_page(
    manager_client, berlin
):
    response = new_customer(
        manager_client, email=" Jonas@Example.com ", phone="+49 30 1234", home_location=berlin.pk
    )
    customer = Customer.objects.get(name="Jonas Weber")
    assert response.headers["Location"] == reverse("dashboard:customer_detail", args=[customer.pk])
    contact = customer.contacts.get()
    assert (contact.first_name, contact.last_name, contact.email, contact.phone) == (
        "Jonas",
        "Weber",
        "jonas@example.com",
        "+49 30 1234",
    )
    assert contact.is_primary and contact.can_access_portal and customer.home_location == berlin
    assert AuditEntry.objects.filter(action="customer.created", target_id=customer.pk).exists()


def test_a_new_customer_without_an_email_has_no_portal_access(manager_client, berlin):
    new_customer(manager_client, home_location=berlin.pk)
    assert not Contact.objects.get(customer__name="Jonas Weber").can_access_portal


def test_new_customer_refuses_an_email_another_contact_has_with_a_link_to_them(
    manager_client, berlin, tenant
):
    before = state()
    response = new_customer(manager_client, email="MARA@example.com", home_location=berlin.pk)
    assert response.status_code == 400
    errors = errors_of(response)
    assert "Another contact already uses this email address" in errors
    assert f'<a href="{reverse("dashboard:customer_detail", args=[tenant.pk])}">Mara Schneider</a>' in errors
    assert state() == before


def test_new_customer_at_a_location_the_staff_member_does_not_run_is_refused(berlin, staff_client):
    munich_manager = staff_client(Role.MANAGER, LocationFactory(name="Munich"))
    before = state()
    response = new_customer(munich_manager, home_location=berlin.pk)
    assert "Choose a location you run." in errors_of(response)
    for client in (staff_client(Role.EMPLOYEE, berlin), staff_client(Role.MANAGER)):
        assert client.get(reverse("dashboard:customer_new")).status_code == 403
        assert new_customer(client, home_location=berlin.pk).status_code == 403
    assert state() == before


@time_machine.travel(NOW, tick=False)
def test_a_unit_without_a_price_needs_its_rent_written_and_nothing_is_created_without(
    manager_client, berlin, tenant
):
    bare = UnitFactory(location=berlin, number="R901", unit_type=None)
    before = state()
    response = move_in(manager_client, berlin, customer=tenant.pk, units=[bare.pk])
    assert response.status_code == 400
    assert "Enter the monthly rent of R901: it has no price." in response.content.decode()
    assert state() == before
    move_in(manager_client, berlin, customer=tenant.pk, units=[bare.pk], **{f"rent_{bare.pk}": "35.00"})
    assert str(BookingUnit.objects.get(unit=bare).monthly_rent) == "35.00"


@time_machine.travel(NOW, tick=False)
def test_units_ticked_before_the_dates_changed_and_no_longer_free_are_named_and_the_refresh_sends_no_token(
    manager_client, berlin, units, tenant
):
    booking_of(tenant, [units[0]], dt.date(2026, 3, 20))
    page = manager_client.get(
        move_in_url(berlin),
        {"starts_on": "2026-03-12", "ends_on": "", "units": [units[0].pk, units[1].pk]},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "Not free for these dates, so no longer ticked: Storage unit A001." in page
    full = manager_client.get(move_in_url(berlin)).content.decode()
    assert 'hx-params="not csrfmiddlewaretoken"' in full


@time_machine.travel(NOW, tick=False)
def test_two_customers_of_the_same_name_are_told_apart_by_their_email(manager_client, berlin, tenant):
    namesake = CustomerFactory(name="Mara Schneider", home_location=berlin)
    ContactFactory(customer=namesake, first_name="Mara", last_name="Schneider", email="mara.s@example.org")
    page = manager_client.get(move_in_url(berlin), {"customer_search": "schneider"}).content.decode()
    assert "Mara Schneider · mara@example.com (Lager Kreuzberg)" in page
    assert "Mara Schneider · mara.s@example.org (Lager Kreuzberg)" in page
