import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Value
from django.db.models.functions import Replace, Upper
from django.utils import timezone

from keyport.cars.vin import vin_check_digit_ok, vin_problem


def validate_vin(value: str) -> None:
    problem = vin_problem(value)
    if problem:
        raise ValidationError(problem)


def plate_search_key(text: str) -> str:
    """A plate as search compares it: upper case, without spaces and dashes ("b-ms 1800" is "BMS1800").

    The same as `Car.plate_key`, which the database keeps from the plate.
    """
    return re.sub(r"[\s-]+", "", text).upper()


def without_spaces_and_dashes(field: str) -> Func:
    """A column without its spaces and dashes, as search compares it ("+49 30 123-45" is "+493012345")."""
    return Replace(Replace(F(field), Value(" "), Value("")), Value("-"), Value(""))


class Car(models.Model):
    """A customer's vehicle, optionally kept in a parking bay."""

    customer = models.ForeignKey("contacts.Customer", on_delete=models.CASCADE, related_name="cars")
    make = models.CharField(max_length=60)
    model = models.CharField(max_length=60)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    colour = models.CharField(max_length=40, blank=True)
    plate = models.CharField("licence plate", max_length=20, db_index=True)
    plate_key = models.GeneratedField(
        expression=Upper(without_spaces_and_dashes("plate")),
        output_field=models.CharField(max_length=20),
        db_persist=True,
        help_text="The plate as search compares it (see plate_search_key).",
    )
    vin = models.CharField("VIN", max_length=17, blank=True, validators=[validate_vin])
    notes = models.TextField(blank=True)
    bay = models.ForeignKey(
        "facilities.Unit", null=True, blank=True, on_delete=models.SET_NULL, related_name="cars"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["customer", "make", "model"]
        constraints = [
            # A bay holds one car at a time; the services say so first, in words.
            models.UniqueConstraint(
                fields=["bay"], condition=models.Q(bay__isnull=False), name="car_one_per_bay"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.make} {self.model} ({self.plate})"

    @property
    def vin_warning(self) -> str:
        """A VIN of the right shape whose check digit does not add up: worth a second look."""
        if self.vin and vin_problem(self.vin) is None and not vin_check_digit_ok(self.vin):
            return "The VIN's check digit does not match; please check the number."
        return ""


class CarPhoto(models.Model):
    """A photo of a car and its thumbnail, stored under unguessable names and served by views."""

    car = models.ForeignKey(Car, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(max_length=200)
    thumbnail = models.FileField(max_length=200)
    content_type = models.CharField(max_length=32)
    uploaded_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Photo of {self.car}"
