import segno
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from keyport.contacts.models import Contact, Customer, CustomerKind
from keyport.events.models import Event, Ticket, TicketStatus
from keyport.frontdesk.queries import portal_access_expression
from keyport.lib.form_fields import LAST_READABLE_INSTANT
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def events_for_staff(user: StaffUser) -> QuerySet[Event]:
    return (
        # An event stored before dates were bounded may start past what Python reads back.
        Event.objects.filter(location__in=locations_for_staff(user), starts_at__lt=LAST_READABLE_INSTANT)
        .select_related("location")
        .annotate(
            going_count=Count("tickets", filter=Q(tickets__status=TicketStatus.GOING)),
            invited_count=Count("tickets"),
            checked_in_count=Count("tickets", filter=Q(tickets__checked_in_at__isnull=False)),
        )
        .order_by("-starts_at", "-pk")
    )


def get_event_for_staff(user: StaffUser, event_id: int) -> Event:
    """An event to read and invite people to (every staff role invites, employees included)."""
    return get_object_or_404(events_for_staff(user), pk=event_id)


def get_event_for_operator(user: StaffUser, event_id: int) -> Event:
    """An event to check people in at: owners and managers of its location."""
    event = get_event_for_staff(user, event_id)
    if not user.can_operate_location(event.location):
        raise PermissionDenied
    return event


def attendees_of(event: Event) -> QuerySet[Ticket]:
    """The event's tickets with each person's Portal Access (`portal_access_value`), in one query."""
    return (
        event.tickets.select_related("contact__customer")
        .annotate(
            portal_access_value=portal_access_expression(
                customer_id="contact__customer_id", customer_fields="contact__customer__"
            )
        )
        .order_by("contact__first_name", "id")
    )


def get_ticket_of_event(event: Event, ticket_id: int) -> Ticket:
    return get_object_or_404(event.tickets.select_related("contact"), pk=ticket_id)


def tickets_for_contact(contact: Contact) -> QuerySet[Ticket]:
    """A person's own tickets (an additional contact's invitation is theirs, not the account's)."""
    return (
        Ticket.objects.filter(contact=contact, event__starts_at__lt=LAST_READABLE_INSTANT)
        .select_related("event__location")
        .order_by("event__starts_at")
    )


def get_ticket_for_contact(contact: Contact, ticket_id: int) -> Ticket:
    return get_object_or_404(tickets_for_contact(contact), pk=ticket_id)


def leads_for_staff(user: StaffUser) -> QuerySet[Customer]:
    return (
        Customer.objects.filter(kind=CustomerKind.LEAD, home_location__in=locations_for_staff(user))
        .select_related("home_location")
        .prefetch_related("contacts")
        .order_by("-created_at")
    )


def get_lead_for_staff(user: StaffUser, customer_id: int) -> Customer:
    return get_object_or_404(leads_for_staff(user), pk=customer_id)


def may_convert_lead(user: StaffUser, lead: Customer) -> bool:
    """Owners and managers of the lead's home location convert it; a lead of no location, nobody."""
    return lead.home_location is not None and user.can_operate_location(lead.home_location)


def get_lead_for_operator(user: StaffUser, customer_id: int) -> Customer:
    """A lead to convert into a storage customer: 403 when `may_convert_lead` says no."""
    lead = get_lead_for_staff(user, customer_id)
    if not may_convert_lead(user, lead):
        raise PermissionDenied
    return lead


def ticket_qr_data_uri(ticket: Ticket) -> str:
    """The ticket's QR code as an SVG data URI (the CSP allows data: images; no file to serve)."""
    return str(segno.make(ticket.code, error="m").svg_data_uri(scale=6, border=2))
