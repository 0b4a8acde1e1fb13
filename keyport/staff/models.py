from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from keyport.lib.email_addresses import normalize_email_address
from keyport.lib.models import OneTimeLink

if TYPE_CHECKING:
    from keyport.contacts.models import Customer
    from keyport.facilities.models import Location


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    EMPLOYEE = "employee", "Employee"


class StaffUserManager(BaseUserManager["StaffUser"]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> StaffUser:
        if not email:
            raise ValueError("Staff users need an email address.")
        user = self.model(email=normalize_email_address(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> StaffUser:
        fields.setdefault("role", Role.OWNER)
        fields["is_superuser"] = True
        fields["is_staff"] = True
        return self.create_user(email, password, **fields)


class StaffUser(AbstractBaseUser, PermissionsMixin):
    """A member of the operator's team. Customers and guests are never staff users."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EMPLOYEE)
    locations = models.ManyToManyField(
        "facilities.Location",
        blank=True,
        related_name="staff_members",
        help_text="The locations a manager or employee works at. With none (and not All locations) "
        "they see nothing.",
    )
    all_locations = models.BooleanField(
        "All locations",
        default=False,
        help_text="A manager or employee works across every location, present and future, whatever "
        "Locations says. Owners always do.",
    )
    session_generation = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Raised to end every session of this person (their role or locations changed).",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May use the Django admin (technical support only)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = StaffUserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email_address(self.email)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    def sees_every_location(self) -> bool:
        """The one rule of staff scope. Owners, and managers and employees an owner gave All
        locations, see every location; anyone else sees only their own locations, and nothing at
        all while they have none (never everything by default)."""
        return self.is_owner or self.all_locations

    def is_scoped_to_locations(self) -> bool:
        return not self.sees_every_location()

    def has_no_location(self) -> bool:
        """Signed in, but given no location yet: every list is empty, and the Overview says why."""
        return self.is_scoped_to_locations() and not self.locations.exists()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self) -> Any:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    def _session_hash(self, secret: str | bytes | None = None) -> str:
        """Django's check of a signed-in session, with the session generation added: raising it
        ends every session of this person, as a new password does. Generation 0 gives Django's own
        hash, so sessions made before generations existed stay valid."""
        value = self.password if not self.session_generation else f"{self.password}:{self.session_generation}"
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def can_see_location(self, location: Location) -> bool:
        if not self.is_scoped_to_locations():
            return True
        return self.locations.filter(pk=location.pk).exists()

    def can_operate_location(self, location: Location) -> bool:
        """Owners, and managers of this location, run its operations; employees read and invite."""
        if self.role == Role.OWNER:
            return True
        return self.role == Role.MANAGER and self.can_see_location(location)

    def can_change_customer(self, customer: Customer) -> bool:
        """Owners, and managers of the customer's home location, change a customer: its contacts,
        Active / Inactive, documents and cars. A booking at another location shows the customer to
        that location's staff, but does not let them change what reaches the home location's doors."""
        if customer.home_location is None:
            return self.is_owner
        return self.can_operate_location(customer.home_location)


class ContactListSettings(models.Model):
    """A staff member's Filters & Settings on All Contacts, kept across sign-ins and devices."""

    user = models.OneToOneField(StaffUser, on_delete=models.CASCADE, related_name="contact_list_settings")
    view = models.CharField(max_length=8, default="table", help_text="table or cards")
    columns = models.JSONField(
        null=True, blank=True, help_text="The shown columns; empty for the page's default columns."
    )
    query = models.CharField(
        max_length=500, blank=True, help_text="The last search, filters and sort, as a query string."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "All Contacts settings"
        verbose_name_plural = "All Contacts settings"

    def __str__(self) -> str:
        return f"All Contacts settings of {self.user}"


class StaffInvite(OneTimeLink):
    """A one-time link that lets an invited staff member set their password and signs them in; a
    newer invite voids the older ones."""

    member = models.ForeignKey(StaffUser, on_delete=models.CASCADE, related_name="invites")

    class Meta(OneTimeLink.Meta):
        pass

    def __str__(self) -> str:
        return f"Staff invite for {self.sent_to}"

    def is_usable_at(self, when: dt.datetime) -> bool:
        """Only for the member it was sent to, at the address they still have, while they are active."""
        return super().is_usable_at(when) and self.member.is_active and self.member.email == self.sent_to


class TeamSettings(models.Model):
    """Settings of the whole team, one row (see `TeamSettings.current`)."""

    two_factor_required = models.BooleanField(
        "Two-factor sign-in required",
        default=False,
        help_text="Every staff member signs in with a code from an authenticator app; those without "
        "one set it up before anything else.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "team settings"
        verbose_name_plural = "team settings"

    def __str__(self) -> str:
        return "Team settings"

    @classmethod
    def current(cls) -> TeamSettings:
        return cls.objects.filter(pk=1).first() or cls(pk=1)
