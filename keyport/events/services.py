import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keyport.audit.services import Actor, audit_record
from keyport.contacts.models import Contact, Customer, CustomerKind
from keyport.contacts.services import ContactDetails, customer_create
from keyport.events.emails import event_invitation_emails
from keyport.events.models import EmailPreferences, Event, Ticket, TicketStatus
from keyport.facilities.models import Location
from keyport.lib.email_addresses import email_addresses_parse, normalize_email_address


@transaction.atomic
def event_create(
    *,
    actor: Actor,
    location: Location,
    title: str,
    starts_at: dt.datetime,
    place: str,
    capacity: int,
    ends_at: dt.datetime | None = None,
    rsvp_deadline: dt.datetime | None = None,
    description: str = "",
) -> Event:
    if rsvp_deadline is not None and rsvp_deadline > starts_at:
        raise ValidationError({"rsvp_deadline": "The RSVP deadline must be before the event starts."})
    event = Event(
        location=location,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        place=place.strip(),
        capacity=capacity,
        rsvp_deadline=rsvp_deadline,
        description=description.strip(),
    )
    event.full_clean()
    event.save()
    audit_record(actor=actor, action="event.created", target=event, location=location)
    return event


def _contact_for_email(actor: Actor, location: Location, email: str) -> Contact:
    """The person with this email, or a new Ticket-only lead for someone Keyport does not know."""
    existing = Contact.objects.select_related("customer").filter(email=email).first()
    if existing is not None:
        return existing
    customer = customer_create(
        actor=actor,
        name=email,
        kind=CustomerKind.LEAD,
        home_location=location,
        primary=ContactDetails(first_name=email.split("@")[0], email=email, can_access_portal=True),
    )
    return customer.contacts.get()


@transaction.atomic
def event_invite(*, actor: Actor, event: Event, emails: Iterable[str]) -> list[Ticket]:
    """Invite people by email: each gets a ticket and an email; strangers become Ticket-only leads."""
    try:
        addresses = email_addresses_parse("\n".join(emails))
    except ValidationError as error:
        raise ValidationError({"emails": error.messages}) from None
    tickets = []
    for email in addresses:
        contact = _contact_for_email(actor, event.location, email)
        ticket, created = Ticket.objects.get_or_create(event=event, contact=contact)
        if not created:
            continue
        tickets.append(ticket)
        audit_record(
            actor=actor,
            action="event.invited",
            target=ticket,
            location=event.location,
            customer=contact.customer,
            details={"email": email},
        )
    # Who asked for no invitation emails still has the ticket in the portal.
    muted = set(
        EmailPreferences.objects.filter(
            contact_id__in=[ticket.contact_id for ticket in tickets], event_invitations=False
        ).values_list("contact_id", flat=True)
    )
    event_invitation_emails(event=event, tickets=[t for t in tickets if t.contact_id not in muted])
    return tickets


class EventFull(ValidationError):
    pass


@transaction.atomic
def ticket_respond(*, actor: Actor, ticket: Ticket, going: bool, now: dt.datetime | None = None) -> Ticket:
    """RSVP. The event row is locked, so two last-seat answers cannot both get in."""
    now = now or timezone.now()
    event = Event.objects.select_for_update().get(pk=ticket.event_id)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if not event.rsvp_open_at(now):
        raise ValidationError("Answers for this event are closed.")
    wanted = TicketStatus.GOING if going else TicketStatus.DECLINED
    if ticket.status == wanted:
        return ticket
    if going and event.tickets.filter(status=TicketStatus.GOING).count() >= event.capacity:
        raise EventFull("This event is full.")
    ticket.status = wanted
    ticket.responded_at = now
    ticket.save(update_fields=["status", "responded_at"])
    audit_record(
        actor=actor,
        action="ticket.going" if going else "ticket.declined",
        target=ticket,
        location=event.location,
        customer=ticket.contact.customer,
    )
    return ticket


@transaction.atomic
def ticket_check_in(*, actor: Actor, ticket: Ticket) -> Ticket:
    ticket = Ticket.objects.select_for_update().select_related("event__location", "contact").get(pk=ticket.pk)
    if ticket.checked_in_at is not None:
        raise ValidationError(f"{ticket.contact} is already checked in.")
    if ticket.status != TicketStatus.GOING:
        raise ValidationError(f"{ticket.contact} has not said they are coming.")
    ticket.checked_in_at = timezone.now()
    ticket.save(update_fields=["checked_in_at"])
    audit_record(
        actor=actor,
        action="ticket.checked_in",
        target=ticket,
        location=ticket.event.location,
        customer=ticket.contact.customer,
    )
    return ticket


@transaction.atomic
def interest_register(
    *, location: Location, first_name: str, last_name: str, email: str, phone: str = ""
) -> Contact:
    """The public Register interest form: a marketplace lead with Ticket-only access.

    Someone already known keeps their account unchanged; the form says the same either way,
    so it cannot be used to find out who is a customer.
    """
    email = normalize_email_address(email)
    actor = Actor.system(f"register interest ({location.name})")
    existing = Contact.objects.select_related("customer").filter(email=email).first()
    if existing is not None:
        audit_record(
            actor=actor, action="lead.interest_repeated", target=existing.customer, location=location
        )
        return existing
    customer = customer_create(
        actor=actor,
        name=f"{first_name} {last_name}".strip(),
        kind=CustomerKind.LEAD,
        home_location=location,
        primary=ContactDetails(
            first_name=first_name, last_name=last_name, email=email, phone=phone, can_access_portal=True
        ),
    )
    audit_record(actor=actor, action="lead.registered", target=customer, customer=customer, location=location)
    return customer.contacts.get()


@transaction.atomic
def lead_convert(*, actor: Actor, customer: Customer) -> Customer:
    """A lead becomes a storage customer, whose people then have Full portal access."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.kind != CustomerKind.LEAD:
        raise ValidationError("Only a lead can be converted into a storage customer.")
    customer.kind = CustomerKind.STORAGE
    customer.save(update_fields=["kind"])
    audit_record(
        actor=actor,
        action="lead.converted",
        target=customer,
        customer=customer,
        location=customer.home_location,
    )
    return customer


@transaction.atomic
def email_preferences_set(*, actor: Actor, contact: Contact, event_invitations: bool) -> EmailPreferences:
    preferences, _ = EmailPreferences.objects.select_for_update().get_or_create(contact=contact)
    if preferences.event_invitations != event_invitations:
        preferences.event_invitations = event_invitations
        preferences.save(update_fields=["event_invitations"])
        audit_record(
            actor=actor,
            action="contact.email_preferences_set",
            target=contact,
            customer=contact.customer,
            details={"event_invitations": event_invitations},
        )
    return preferences
