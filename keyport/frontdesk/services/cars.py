"""A car put in a bay at the front desk: into one of its customer's booked bays, or into a free
bay with a Move in made in the same step (the front desk's own Move in, with its rent)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from keyport.audit.services import Actor
from keyport.cars import services as cars
from keyport.cars.models import Car
from keyport.cars.queries import bay_is_booked_by_another, booking_row_holding
from keyport.facilities.models import Unit
from keyport.frontdesk.services.rentals import MoveIn, booking_move_in
from keyport.staff.models import StaffUser


@transaction.atomic
def car_to_bay(*, staff: StaffUser, car: Car, bay: Unit, monthly_rent: Decimal | None = None) -> Car:
    """Assign Car or Move Vehicle: a bay the customer's booking holds today takes the car as it
    is; a free bay is first rented to the customer from today (Move in, its rent the one given or
    the bay's price). A bay booked by someone else is refused, and so is one holding a car."""
    car = Car.objects.select_related("customer", "bay").get(pk=car.pk)
    bay = Unit.objects.select_related("location", "unit_type").get(pk=bay.pk)
    if car.bay_id == bay.pk:
        raise ValidationError({"bay": "The car is already in this bay."})
    if booking_row_holding(car.customer, bay) is None:
        if bay_is_booked_by_another(car.customer, bay):
            raise ValidationError({"bay": f"Bay {bay.number} is booked by another customer."})
        if bay.cars.exists():
            raise ValidationError({"bay": f"Bay {bay.number} already holds a car."})
        booking_move_in(
            staff=staff,
            customer=car.customer,
            move_in=MoveIn(
                location=bay.location,
                units=[bay],
                starts_on=bay.location.local_now().date(),
                monthly_rents={} if monthly_rent is None else {bay.pk: monthly_rent},
            ),
        )
    actor = Actor.staff(staff)
    if car.bay_id is None:
        return cars.car_assign(actor=actor, car=car, bay=bay)
    return cars.car_move(actor=actor, car=car, bay=bay)
