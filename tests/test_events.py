import datetime as dt
import threading

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.contacts.models import Contact, CustomerKind, PortalAccess
from keyport.events import services
from keyport.events.models import Event, Ticket, TicketStatus
from keyport.events.queries import ticket_qr_data_uri
from keyport.frontdesk.queries import customer_portal_access
from keyport.staff.models import Role
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
)

START = dt.datetime(2026, 6, 6, 8, 0, tzinfo=dt.UTC)


def make_event(actor, capacity=2, **kwargs):
    return services.event_create(
        actor=actor,
        location=kwargs.pop("location", None) or LocationFactory(),
        title="Cars and coffee",
        starts_at=START,
        place="Hall B",
        capacity=capacity,
        rsvp_deadline=kwargs.pop("rsvp_deadline", START - dt.timedelta(days=1)),
    )


@pytest.mark.django_db
def test_the_deadline_cannot_be_after_the_start(actor):
    with pytest.raises(ValidationError):
        make_event(actor, rsvp_deadline=START + dt.timedelta(hours=1))


@pytest.mark.django_db
def test_inviting_a_stranger_makes_a_ticket_only_lead_and_emails_them(
    actor, django_capture_on_commit_callbacks
):
    event = make_event(actor)
    known = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        tickets = services.event_invite(
            actor=actor, event=event, emails=["New.Person@Example.com ", known.email]
        )
    assert len(tickets) == 2
    stranger = Contact.objects.get(email="new.person@example.com")
    assert stranger.customer.kind == CustomerKind.LEAD and stranger.can_access_portal
    assert customer_portal_access(stranger.customer) == PortalAccess.TICKET_ONLY
    assert sorted(message.to[0] for message in mail.outbox) == sorted(["new.person@example.com", known.email])
    assert "Cars and coffee" in mail.outbox[0].subject
    # Inviting again sends nothing new.
    assert services.event_invite(actor=actor, event=event, emails=[known.email]) == []


@pytest.mark.django_db
def test_a_bad_address_refuses_the_whole_invitation(actor):
    event = make_event(actor)
    with pytest.raises(ValidationError):
        services.event_invite(actor=actor, event=event, emails=["ok@example.com", "not an email"])
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_capacity_is_never_exceeded(actor):
    event = make_event(actor, capacity=1)
    first, second = services.event_invite(actor=actor, event=event, emails=["a@example.com", "b@example.com"])
    now = START - dt.timedelta(days=3)
    services.ticket_respond(actor=actor, ticket=first, going=True, now=now)
    with pytest.raises(services.EventFull):
        services.ticket_respond(actor=actor, ticket=second, going=True, now=now)
    services.ticket_respond(actor=actor, ticket=first, going=False, now=now)
    services.ticket_respond(actor=actor, ticket=second, going=True, now=now)
    assert Ticket.objects.get(pk=second.pk).status == TicketStatus.GOING


@pytest.mark.django_db
def test_answers_close_at_the_deadline(actor):
    event = make_event(actor)
    (ticket,) = services.event_invite(actor=actor, event=event, emails=["a@example.com"])
    deadline = event.rsvp_deadline
    assert deadline is not None
    services.ticket_respond(actor=actor, ticket=ticket, going=True, now=deadline - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError):
        services.ticket_respond(actor=actor, ticket=ticket, going=False, now=deadline)


@pytest.mark.django_db
def test_check_in_once_and_only_for_people_coming(actor):
    event = make_event(actor)
    (ticket,) = services.event_invite(actor=actor, event=event, emails=["a@example.com"])
    with pytest.raises(ValidationError):
        services.ticket_check_in(actor=actor, ticket=ticket)
    services.ticket_respond(actor=actor, ticket=ticket, going=True, now=START - dt.timedelta(days=2))
    services.ticket_check_in(actor=actor, ticket=ticket)
    with pytest.raises(ValidationError):
        services.ticket_check_in(actor=actor, ticket=ticket)


@pytest.mark.django_db
def test_the_event_time_is_shown_in_the_locations_zone(actor):
    event = make_event(actor, location=LocationFactory(time_zone="America/Chicago"))
    assert event.local_starts_at().isoformat() == "2026-06-06T03:00:00-05:00"


@pytest.mark.django_db
def test_staff_see_the_event_and_its_deadline_in_the_locations_zone(actor):
    location = LocationFactory(time_zone="America/Chicago")
    event = make_event(actor, location=location)
    owner = StaffUserFactory(role=Role.OWNER)
    client = Client()
    client.force_login(owner)
    starts, deadline = event.local_starts_at(), event.local_rsvp_deadline()
    assert deadline is not None
    detail = client.get(reverse("dashboard:event_detail", args=[event.pk])).content.decode()
    assert f"{starts:%H:%M} (America/Chicago)" in detail
    assert f"answers close {deadline:%Y-%m-%d %H:%M}" in detail
    listed = client.get(reverse("dashboard:event_list")).content.decode()
    assert f"{starts:%Y-%m-%d %H:%M}" in listed


@pytest.mark.django_db
def test_staff_see_the_attendee_list_and_check_people_in(actor, django_capture_on_commit_callbacks):
    location = LocationFactory(time_zone="Europe/Berlin")
    event = make_event(actor, location=location)
    customer = CustomerFactory(home_location=location)
    ContactFactory(customer=customer, first_name="Mara", email="mara@example.com")
    booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        mara, lia = services.event_invite(
            actor=actor, event=event, emails=["mara@example.com", "lia@example.com"]
        )
    services.ticket_respond(actor=actor, ticket=lia, going=True, now=START - dt.timedelta(days=3))
    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(location)
    client = Client()
    client.force_login(manager)
    url = reverse("dashboard:event_detail", args=[event.pk])

    page = client.get(url).content.decode()
    assert "mara@example.com" in page and "lia@example.com" in page
    assert "<td>Full</td>" in page and "<td>Ticket-only (lead)</td>" in page
    assert "Invited, no answer yet" in page and "Going" in page
    assert "Check in lia" in page and "Check in Mara" not in page

    client.post(reverse("dashboard:ticket_check_in", args=[event.pk, lia.pk]))
    lia.refresh_from_db()
    assert lia.checked_in_at is not None
    assert AuditEntry.objects.filter(action="ticket.checked_in", target_id=lia.pk).count() == 1
    local = lia.checked_in_at.astimezone(location.zone)
    assert f"{local:%H:%M}" in client.get(url).content.decode()

    again = client.post(
        reverse("dashboard:ticket_check_in_by_code", args=[event.pk]), {"code": lia.code}, follow=True
    )
    assert "already checked in" in again.content.decode()
    refused = client.post(
        reverse("dashboard:ticket_check_in_by_code", args=[event.pk]), {"code": mara.code}, follow=True
    )
    assert "has not said they are coming" in refused.content.decode()
    mara.refresh_from_db()
    assert mara.checked_in_at is None


@pytest.mark.django_db
def test_a_ticket_code_of_another_event_checks_nobody_in(actor):
    event, other = make_event(actor), make_event(actor)
    (elsewhere,) = services.event_invite(actor=actor, event=other, emails=["a@example.com"])
    services.ticket_respond(actor=actor, ticket=elsewhere, going=True, now=START - dt.timedelta(days=3))
    client = Client()
    client.force_login(StaffUserFactory(role=Role.OWNER))
    response = client.post(
        reverse("dashboard:ticket_check_in_by_code", args=[event.pk]), {"code": elsewhere.code}, follow=True
    )
    assert "No ticket of this event has that code." in response.content.decode()
    elsewhere.refresh_from_db()
    assert elsewhere.checked_in_at is None


@pytest.mark.django_db
def test_the_ticket_has_a_qr_code(actor):
    event = make_event(actor)
    (ticket,) = services.event_invite(actor=actor, event=event, emails=["a@example.com"])
    assert ticket_qr_data_uri(ticket).startswith("data:image/svg+xml")


@pytest.mark.django_db
def test_register_interest_makes_a_lead_and_conversion_gives_full_access(actor):
    location = LocationFactory()
    contact = services.interest_register(
        location=location, first_name="Lia", last_name="Lead", email="Lia@Example.com"
    )
    assert contact.customer.kind == CustomerKind.LEAD
    assert contact.customer.home_location == location
    assert customer_portal_access(contact.customer) == PortalAccess.TICKET_ONLY
    services.lead_convert(actor=actor, customer=contact.customer)
    contact.refresh_from_db()
    assert customer_portal_access(Contact.objects.get(pk=contact.pk).customer) == PortalAccess.FULL
    with pytest.raises(ValidationError):
        services.lead_convert(actor=actor, customer=contact.customer)


@pytest.mark.django_db
def test_register_interest_leaves_a_known_person_unchanged():
    known = ContactFactory()
    again = services.interest_register(
        location=LocationFactory(), first_name="X", last_name="Y", email=known.email.upper()
    )
    assert again == known
    assert again.customer.kind == CustomerKind.STORAGE


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_rsvps_never_overfill_the_event():
    actor = Actor.system("tests")
    event = make_event(actor, capacity=3)
    emails = [f"guest{n}@example.com" for n in range(12)]
    tickets = services.event_invite(actor=actor, event=event, emails=emails)
    barrier = threading.Barrier(len(tickets))
    outcomes: list[str] = []

    def answer(ticket: Ticket) -> None:
        try:
            barrier.wait()
            services.ticket_respond(actor=actor, ticket=ticket, going=True, now=START - dt.timedelta(days=2))
            outcomes.append("in")
        except services.EventFull:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(ticket,)) for ticket in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("in") == 3 and outcomes.count("full") == 9
    assert Event.objects.get().tickets.filter(status=TicketStatus.GOING).count() == 3
