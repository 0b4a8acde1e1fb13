from __future__ import annotations

import base64
import datetime as dt
import logging
import urllib.parse
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils import timezone

logger = logging.getLogger(__name__)


def validate_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError(f"{name!r} is not a known time zone (for example Europe/Berlin).")


class AccessProvider(models.TextChoices):
    BUILTIN = "builtin", "Keyport access server"
    SENSORBERG = "sensorberg", "Sensorberg"


# Plain http is only for a provider on this machine (the tests' fake Sensorberg server).
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def validate_provider_base_url(url: str) -> None:
    message = "Enter the API's base URL starting with https:// (http:// only for localhost or 127.0.0.1)."
    URLValidator(schemes=["http", "https"], message=message)(url)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise ValidationError(message)


validate_brand_colour = RegexValidator(
    r"^#[0-9a-fA-F]{6}\Z", "Enter the colour as #RRGGBB, for example #1a73e8."
)

LIGHT_TEXT = "#ffffff"
DARK_TEXT = "#212529"


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #RRGGBB colour."""
    channels = [int(colour[start : start + 2], 16) / 255 for start in (1, 3, 5)]
    red, green, blue = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: str) -> str:
    """White or dark text, whichever reads better on this background."""
    if contrast_ratio(background, LIGHT_TEXT) >= contrast_ratio(background, DARK_TEXT):
        return LIGHT_TEXT
    return DARK_TEXT


# WCAG AA for normal text.
AA_CONTRAST = 4.5


def readable_on_light(colour: str, background: str = LIGHT_TEXT) -> str:
    """The colour itself if text in it reads on a white page (WCAG AA), else it darkened until it does."""
    red, green, blue = (int(colour[start : start + 2], 16) for start in (1, 3, 5))
    shade = colour
    for step in range(11):
        keep = 1 - step / 10
        shade = f"#{round(red * keep):02x}{round(green * keep):02x}{round(blue * keep):02x}"
        if contrast_ratio(shade, background) >= AA_CONTRAST:
            break
    return shade


@dataclass(frozen=True)
class Branding:
    """How a site presents itself on the customer portal and in emails."""

    name: str
    colour: str = ""  # empty keeps Keyport's own look
    logo: str = ""  # the stored logo's file name, empty for none
    location_id: int | None = None  # None for the install's default

    @classmethod
    def default(cls) -> Branding:
        return cls(name=settings.KEYPORT_SITE_NAME)

    @property
    def text_colour(self) -> str:
        return readable_text_colour(self.colour) if self.colour else ""

    @property
    def link_colour(self) -> str:
        """The brand colour for text on the page's white (the tabs), darkened where it would not read."""
        return readable_on_light(self.colour) if self.colour else ""

    def logo_data_uri(self) -> str:
        """The logo inline, as a data: URI: uploads have no public URL, and pages may show data: images."""
        if not self.logo:
            return ""
        content_type = "image/png" if self.logo.endswith(".png") else "image/jpeg"
        try:
            with default_storage.open(self.logo, "rb") as stored:
                encoded = base64.b64encode(stored.read()).decode("ascii")
        except OSError:
            logger.warning("The logo file %s is missing; pages show the site name only.", self.logo)
            return ""
        return f"data:{content_type};base64,{encoded}"


class Location(models.Model):
    """One site of the operator: a self-storage building or a car-storage lot."""

    name = models.CharField(max_length=120, unique=True)
    street = models.CharField(max_length=200)
    postal_code = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="ISO 3166 country code, e.g. DE or US.")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    access_provider = models.CharField(
        max_length=16, choices=AccessProvider.choices, default=AccessProvider.BUILTIN
    )
    brand_name = models.CharField(
        "site name",
        max_length=120,
        blank=True,
        help_text="Shown on the customer portal and in emails; empty uses the install's name.",
    )
    brand_colour = models.CharField(
        "brand colour", max_length=7, blank=True, validators=[validate_brand_colour]
    )
    brand_logo = models.FileField("logo", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}, {self.country}"

    def branding(self) -> Branding:
        return Branding(
            name=self.brand_name or settings.KEYPORT_SITE_NAME,
            colour=self.brand_colour,
            logo=self.brand_logo.name or "",
            location_id=self.pk,
        )

    def local_now(self) -> dt.datetime:
        return timezone.now().astimezone(self.zone)

    def start_of_day(self, day: dt.date) -> dt.datetime:
        """The instant a local calendar day begins at this location, in UTC."""
        local = dt.datetime.combine(day, dt.time.min, tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    def is_open_at(self, when: dt.datetime) -> bool:
        """True when the site is open at this instant. No opening hours means always open."""
        return opening_hours_cover(self.zone, [hours.period for hours in self.opening_hours.all()], when)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """A period of a weekday, in the location's local time, when access is possible."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["location", "weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.UniqueConstraint(
                fields=["location", "weekday", "opens_at"], name="opening_hours_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    def clean(self) -> None:
        if self.closes_at != dt.time.min and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": "Closing time must be after opening time."})

    @property
    def period(self) -> OpeningPeriod:
        return OpeningPeriod(self.weekday, self.opens_at, self.closes_at)


class OpeningPeriod(NamedTuple):
    """One opening period as plain values: what the door check reads without loading the model."""

    weekday: int
    opens_at: dt.time
    closes_at: dt.time

    def covers(self, local_time: dt.time) -> bool:
        if local_time < self.opens_at:
            return False
        return self.closes_at == dt.time.min or local_time < self.closes_at


def opening_hours_cover(zone: zoneinfo.ZoneInfo, periods: Sequence[OpeningPeriod], when: dt.datetime) -> bool:
    """The opening-hours rule: no periods means always open; else a period of the local day covers it."""
    if not periods:
        return True
    local = when.astimezone(zone)
    weekday, local_time = local.weekday(), local.time()
    return any(period.weekday == weekday and period.covers(local_time) for period in periods)


class UnitKind(models.TextChoices):
    STORAGE_UNIT = "storage_unit", "Storage unit"
    PARKING_BAY = "parking_bay", "Parking bay"


class UnitStatus(models.TextChoices):
    """Whether a unit can be rented at all; whether it is rented comes from bookings."""

    AVAILABLE = "available", "Available"
    OUT_OF_SERVICE = "out_of_service", "Out of service"
    RETIRED = "retired", "Retired"


class UnitType(models.Model):
    """A kind of unit a location rents out at one monthly price, e.g. "Small locker, 1 × 1.5 m"."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="unit_types")
    name = models.CharField(max_length=80)
    width_m = models.DecimalField("width (m)", max_digits=6, decimal_places=2)
    depth_m = models.DecimalField("depth (m)", max_digits=6, decimal_places=2)
    monthly_price = models.DecimalField(
        "monthly price", max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["location", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="unit_type_name_unique_per_location"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def size_m2(self) -> Decimal:
        return self.width_m * self.depth_m

    @property
    def dimensions(self) -> str:
        return f"{self.width_m.normalize():f} × {self.depth_m.normalize():f} m"


class Unit(models.Model):
    """A rentable space: a storage unit or a parking bay. Occupancy comes from bookings."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="units")
    number = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=UnitKind.choices)
    size_m2 = models.DecimalField("size (m²)", max_digits=7, decimal_places=2)
    status = models.CharField(max_length=16, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE)
    out_of_service_reason = models.CharField(max_length=200, blank=True)
    unit_type = models.ForeignKey(
        UnitType, on_delete=models.PROTECT, related_name="units", null=True, blank=True
    )
    access_points: models.ManyToManyField[AccessPoint, UnitAccessPoint] = models.ManyToManyField(
        "AccessPoint", through="UnitAccessPoint", related_name="units", blank=True
    )

    class Meta:
        ordering = ["location", "number"]
        constraints = [
            models.UniqueConstraint(fields=["location", "number"], name="unit_number_unique_per_location"),
        ]
        # The Units page counts and pages a location's units (not retired) off this index alone.
        indexes = [models.Index(fields=["location", "number", "status"], name="unit_location_number_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def monthly_price(self) -> Decimal | None:
        """The rent a move-in offers for this unit: its type's price, None for a unit without a type."""
        return self.unit_type.monthly_price if self.unit_type is not None else None


class AccessPointKind(models.TextChoices):
    GATE = "gate", "Gate"
    BUILDING_DOOR = "building_door", "Building door"
    UNIT_LOCK = "unit_lock", "Unit lock"
    ELEVATOR = "elevator", "Elevator"


# The access points not retired: the only ones ever offered for a mapping or a device key.
ACCESS_POINT_IN_SERVICE = models.Q(retired_at__isnull=True)


class AccessPoint(models.Model):
    """Something that opens: a gate, a door, a unit's lock or an elevator."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="access_points")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=AccessPointKind.choices)
    external_id = models.CharField(
        "external identifier",
        max_length=120,
        help_text="The identifier of this door or group in the access provider's system.",
    )
    # Wrong PINs typed here lately: read with the device key on every check, so the throttle
    # costs no statement of its own (see access.services.access_decide).
    wrong_pins = models.PositiveIntegerField(default=0, editable=False)
    last_wrong_pin_at = models.DateTimeField(null=True, blank=True, editable=False)
    pins_blocked_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The first of the wrong PINs counted now: where a burst of them began.
    wrong_pins_since = models.DateTimeField(null=True, blank=True, editable=False)
    # Grows with every change of the counts, never goes back: a check that read the counts logs
    # its answer only while this is unchanged, so that wrong PINs counted meanwhile are not missed.
    wrong_pin_serial = models.PositiveBigIntegerField(default=0, editable=False)
    # Retired: never offered again and opens nothing (its mappings and device key are gone); its
    # events stay. See access.services.access_point_retire.
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["location", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "external_id"], name="access_point_external_id_unique_per_location"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class UnitAccessPoint(models.Model):
    """A unit's "access permissions mapped": this access point opens for this unit's holders."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="access_mappings")
    access_point = models.ForeignKey(AccessPoint, on_delete=models.CASCADE, related_name="unit_mappings")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "access_point"], name="unit_access_point_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} → {self.access_point}"
