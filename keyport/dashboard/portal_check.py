"""The Portal check panel of a customer's page: the phone-support checklist for each contact, from
the right record to the doors, and what to do at the first step that is not fine."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from keyport.access.explain import UnitDoors
from keyport.billing.models import Invoice
from keyport.bookings.models import BookingStatus
from keyport.contacts.models import AccountStatus, Contact, Customer, PortalAccess
from keyport.contacts.queries import PortalSections, sections_for_customer
from keyport.documents.models import Document


@dataclass(frozen=True)
class Linked:
    """What is linked to an account, as a Full customer would see it in the portal."""

    bookings: int  # bookings that have not ended (current or upcoming)
    cars: int
    documents: int
    invoices: int
    sections: PortalSections = PortalSections()

    @property
    def nothing(self) -> bool:
        return not (self.bookings or self.cars or self.documents or self.invoices)

    def hidden(self) -> list[str]:
        """Sections with something linked that Settings > Website & customer app switched off."""
        counts = {"cars": self.cars, "documents": self.documents, "billing": self.invoices}
        return [name for name, count in counts.items() if count and not self.sections.shows(name)]


def linked_to_customer(customer: Customer) -> Linked:
    recent = customer.bookings.exclude(status=BookingStatus.CANCELLED).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=timezone.now().date() - dt.timedelta(days=1))
    )
    now = timezone.now()
    return Linked(
        bookings=sum(not booking.is_over_at(now) for booking in recent.select_related("location")),
        cars=customer.cars.count(),
        documents=Document.objects.filter(customer=customer).count(),
        invoices=Invoice.objects.filter(customer=customer).count(),
        sections=sections_for_customer(customer),
    )


@dataclass(frozen=True)
class PortalCheckStep:
    question: str
    answer: str
    ok: bool


@dataclass(frozen=True)
class PortalCheck:
    """The phone-support checklist for one contact, in its order, then the doors; the next
    action is the first step that is not fine ("stop when you find the answer")."""

    contact: Contact
    steps: list[PortalCheckStep]
    next_action: str
    action: str  # "send_invite", "resend_invite", "edit_contact", "activate", "" (explain only)


def portal_check(contact: Contact, linked: Linked, doors: Sequence[UnitDoors] = ()) -> PortalCheck:
    """1 the right record (their email), 2 Portal Access, 3 Account Status, 4 what is linked,
    5 Doors: each step's answer and whether it is fine, and what to do at the first that is not."""
    access, status = contact.portal_access(), contact.account_status()
    found: list[tuple[str, str]] = []  # (next action, action) of each step that is not fine

    def step(question: str, answer: str, ok: bool, action: tuple[str, str] = ("", "")) -> PortalCheckStep:
        if not ok:
            found.append(action)
        return PortalCheckStep(question, answer, ok)

    steps = [
        step(
            _("Right customer record: the email they sign in with"),
            contact.email or _("No email address on the record"),
            bool(contact.email),
            (
                _("Add an email address that belongs to this person: the one they sign in with."),
                "edit_contact",
            ),
        ),
        _portal_access_step(step, contact, access),
        step(
            _("Account Status"),
            status.label,
            status == AccountStatus.SIGNED_IN,
            (
                (_("Send Invite, or walk them through the login page."), "send_invite")
                if status == AccountStatus.NOT_SIGNED_IN
                else (_("Resend Invite, or walk them through the login page."), "resend_invite")
            ),
        ),
        step(
            _("What is linked"),
            _linked_text(linked),
            not linked.nothing and not linked.hidden(),
            (
                _("Signed In, but nothing is linked: add their bookings, cars, documents or billing.")
                if linked.nothing
                else _(
                    "Switch on %(sections)s in Settings > Website & customer app, or they see nothing of it."
                )
                % {"sections": ", ".join(name.title() for name in linked.hidden())},
                "",
            ),
        ),
        _doors_step(step, doors),
    ]
    if found:
        next_action, action = found[0]
        return PortalCheck(contact, steps, next_action, action)
    return PortalCheck(
        contact,
        steps,
        _("All set: they sign in on the login page with this email, and their doors open."),
        "",
    )


def _portal_access_step(step: Any, contact: Contact, access: PortalAccess) -> PortalCheckStep:
    if not contact.can_access_portal:
        return step(
            _("Portal Access"),
            _("None: Can access customer portal (login with their email) is off"),
            False,
            (
                _(
                    "Enable portal access: Edit Contact, tick Can access customer portal "
                    "(login with their email)."
                ),
                "edit_contact",
            ),
        )
    if not contact.customer.is_active:
        return step(
            _("Portal Access"),
            _("Paused: the customer is Inactive"),
            False,
            (_("The customer is Inactive: switch CRM Information to Active first."), "activate"),
        )
    if access == PortalAccess.TICKET_ONLY:
        return step(
            _("Portal Access"),
            access.label,
            False,
            (
                _(
                    "Ticket-only: they see their tickets and events, not the storage dashboard, "
                    "until they become a storage customer (a booking or a car). Set expectations."
                ),
                "",
            ),
        )
    return step(_("Portal Access"), access.label, True)


def _linked_text(linked: Linked) -> str:
    parts = [
        ngettext("%(count)s current booking", "%(count)s current bookings", linked.bookings)
        % {"count": linked.bookings},
        ngettext("%(count)s car", "%(count)s cars", linked.cars) % {"count": linked.cars},
        ngettext("%(count)s document", "%(count)s documents", linked.documents) % {"count": linked.documents},
        ngettext("%(count)s invoice", "%(count)s invoices", linked.invoices) % {"count": linked.invoices},
    ]
    shown = ", ".join(name.title() for name in linked.sections.enabled()) or _("none")
    return _("%(linked)s; sections shown: %(shown)s") % {"linked": ", ".join(parts), "shown": shown}


def _doors_step(step: Any, doors: Sequence[UnitDoors]) -> PortalCheckStep:
    if not doors:
        return step(_("Doors"), _("No units: no current booking of theirs opens a door"), True)
    answers = "; ".join(
        _("%(unit)s: opens now") % {"unit": door.unit}
        if door.opens
        else _("%(unit)s: does not open now (%(why)s)") % {"unit": door.unit, "why": door.why}
        for door in doors
    )
    closed = [door.unit for door in doors if not door.opens]
    return step(
        _("Doors"),
        answers,
        not closed,
        (
            _("Their doors do not open now for %(units)s: see Why can't they get in? below.")
            % {"units": ", ".join(closed)},
            "",
        ),
    )
