from __future__ import annotations

import datetime as dt
import secrets

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.Model):
    """A social event at a location: a cars-and-coffee morning, an open day."""

    location = models.ForeignKey("facilities.Location", on_delete=models.PROTECT, related_name="events")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField(help_text="Entered and shown in the location's time zone.")
    ends_at = models.DateTimeField(null=True, blank=True)
    place = models.CharField(max_length=200, help_text="Where on the site, or an address.")
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    rsvp_deadline = models.DateTimeField("RSVP deadline", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="event_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def local_starts_at(self) -> dt.datetime:
        return self.starts_at.astimezone(self.location.zone)

    def local_rsvp_deadline(self) -> dt.datetime | None:
        return self.rsvp_deadline.astimezone(self.location.zone) if self.rsvp_deadline else None

    def rsvp_open_at(self, when: dt.datetime) -> bool:
        closes = self.rsvp_deadline or self.starts_at
        return when < closes


class TicketStatus(models.TextChoices):
    INVITED = "invited", "Invited, no answer yet"
    GOING = "going", "Going"
    DECLINED = "declined", "Not going"


def new_ticket_code() -> str:
    return secrets.token_urlsafe(12)


class Ticket(models.Model):
    """One person's invitation to an event, their answer, and their entry (the QR code holds `code`)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tickets")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="tickets")
    code = models.CharField(max_length=32, unique=True, default=new_ticket_code)
    status = models.CharField(max_length=16, choices=TicketStatus.choices, default=TicketStatus.INVITED)
    invited_at = models.DateTimeField(default=timezone.now)
    responded_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["event", "contact__first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "contact"], name="one_ticket_per_person_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.contact}"


class EmailPreferences(models.Model):
    """What a person wants to hear about by email, set in the portal's Settings."""

    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="email_preferences"
    )
    event_invitations = models.BooleanField(
        "event invitations by email",
        default=True,
        help_text="When off, invitations still appear under Events and tickets in the portal.",
    )

    class Meta:
        verbose_name_plural = "email preferences"

    def __str__(self) -> str:
        return f"Email preferences of {self.contact}"
