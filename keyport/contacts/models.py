from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Func, Q
from django.utils import timezone

from keyport.lib.models import OneTimeLink
from keyport.lib.search_text import search_text_of, spells_german
from keyport.lib.times import zone_of


class CustomerKind(models.TextChoices):
    STORAGE = "storage", "Storage customer"
    LEAD = "lead", "Event guest or marketplace lead"


class Customer(models.Model):
    """The account: what a tenant and their people share (bookings, cars, billing)."""

    name = models.CharField(max_length=200, help_text="A person's or a company's name.")
    kind = models.CharField(max_length=16, choices=CustomerKind.choices, default=CustomerKind.STORAGE)
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Inactive pauses the relationship and keeps every record.",
    )
    home_location = models.ForeignKey(
        "facilities.Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def status_label(self) -> str:
        return "Active" if self.is_active else "Inactive"

    @property
    def time_zone(self) -> str:
        """The zone the customer's times show in: their home location's."""
        return zone_of(self.home_location)

    def portal_people(self) -> list[Contact]:
        """The account's people with portal access (so with an email), oldest first: those who get
        its doors while it is active, and its emails about them even when it is paused."""
        return list(self.contacts.filter(can_access_portal=True, email__isnull=False).order_by("pk"))


class PortalAccess(models.TextChoices):
    """What a contact can use in the customer portal; derived from the account, never typed in."""

    FULL = "full", "Full"
    TICKET_ONLY = "ticket_only", "Ticket-only"


class AccountStatus(models.TextChoices):
    """How far a contact has come with the portal sign-in; derived from stored facts."""

    NOT_SIGNED_IN = "not_signed_in", "Not signed in yet"
    EMAIL_SENT = "email_sent", "Email Sent"
    SIGNED_IN = "signed_in", "Signed In"


class EmailOrEmpty(Func):
    """A contact's email, or the empty text for one without: the key All Contacts sorts emails by.

    The empty text is written into the SQL rather than passed as a parameter: a database uses an
    index on an expression only for a query that spells the expression the same way.
    """

    function = "COALESCE"
    template = "%(function)s(%(expressions)s, '')"
    output_field = models.CharField()


class Contact(models.Model):
    """A person of a customer: the primary contact or an additional one (spouse, assistant)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    is_primary = models.BooleanField(default=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    # Stored normalised (trimmed, lower-case) and unique: it is how a person signs in.
    email = models.EmailField(null=True, blank=True, unique=True)
    phone = models.CharField(max_length=32, blank=True)
    # One column to search instead of four (one comparison a row), folded by
    # keyport.lib.search_text (accents, case, German spellings) and kept by the services.
    search_text = models.TextField(
        default="",
        editable=False,
        help_text="Name, email and phone without accents or case: what search looks in.",
    )
    can_access_portal = models.BooleanField(
        "can access customer portal (login with their email)", default=False
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Portal identity. Raising the epoch ends every portal session of this person, on every device.
    session_epoch = models.PositiveIntegerField(default=0)
    first_signed_in_at = models.DateTimeField(null=True, blank=True)
    last_signed_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_primary", "first_name", "last_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_primary=True), name="one_primary_contact_per_customer"
            ),
            models.CheckConstraint(
                condition=Q(can_access_portal=False) | Q(email__isnull=False),
                name="portal_access_needs_email",
            ),
        ]
        # One index per sort of All Contacts (keyset pages seek on it); the id makes each sort total.
        indexes = [
            models.Index(fields=["first_name", "last_name", "id"], name="contact_name_sort"),
            models.Index(EmailOrEmpty("email"), "id", name="contact_email_sort"),
            models.Index(fields=["phone", "id"], name="contact_phone_sort"),
            models.Index(fields=["created_at", "id"], name="contact_created_sort"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def time_zone(self) -> str:
        """The zone the person's times show in: their account's home location's."""
        return self.customer.time_zone

    def folded_search_text(self) -> str:
        """What `search_text` holds for the contact as it is now: German spellings too when the
        account's home location is in a German-speaking country."""
        location = self.customer.home_location
        return search_text_of(
            self.search_parts(), german=spells_german(location.country if location else None)
        )

    def search_parts(self) -> list[str]:
        return [self.first_name, self.last_name, self.email or "", self.phone]

    @property
    def may_sign_in(self) -> bool:
        """Has an email, portal access switched on, and an active account."""
        return bool(self.email) and self.can_access_portal and self.customer.is_active

    def portal_access(self) -> PortalAccess:
        """Full or Ticket-only, as the row was read: by `keyport.frontdesk.queries.with_portal_facts`,
        for a list or the portal's session. Portal Access is derived from the account's bookings
        and cars, which contacts do not read; one account's is `customer_portal_access`."""
        annotated: Any = self  # the type checker cannot see a query's annotations
        return PortalAccess(annotated.portal_access_value)

    def account_status(self) -> AccountStatus:
        annotated = getattr(self, "account_status_value", None)
        if annotated is not None:
            return AccountStatus(annotated)
        if self.first_signed_in_at is not None:
            return AccountStatus.SIGNED_IN
        if self.email and self.portal_links.filter(sent_to=self.email).exists():
            return AccountStatus.EMAIL_SENT
        return AccountStatus.NOT_SIGNED_IN

    def shows_invite_button(self) -> bool:
        """Send Invite / Resend Invite: for a person who may sign in and has not yet."""
        return self.may_sign_in and self.account_status() != AccountStatus.SIGNED_IN


class PortalLinkPurpose(models.TextChoices):
    SIGN_IN = "sign_in", "Sign-in link"
    INVITE = "invite", "Invite"


class PortalLink(OneTimeLink):
    """A one-time magic link into the customer portal."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="portal_links")
    purpose = models.CharField(max_length=16, choices=PortalLinkPurpose.choices)

    class Meta(OneTimeLink.Meta):
        indexes = [models.Index(fields=["contact", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.sent_to}"


class CustomerAppSettings(models.Model):
    """Settings > Website & customer app: which portal sections a location's customers see.

    Kept beside the portal identity (not in facilities) because only the portal reads it;
    a location without a row shows every section.
    """

    location = models.OneToOneField(
        "facilities.Location", on_delete=models.CASCADE, related_name="customer_app_settings"
    )
    show_cars = models.BooleanField("Cars", default=True)
    show_billing = models.BooleanField("Billing", default=True)
    show_documents = models.BooleanField("Documents", default=True)
    show_events = models.BooleanField("Events", default=True)
    show_settings = models.BooleanField("Settings", default=True)

    class Meta:
        verbose_name = "website & customer app settings"
        verbose_name_plural = "website & customer app settings"

    def __str__(self) -> str:
        return f"Customer app of {self.location}"
