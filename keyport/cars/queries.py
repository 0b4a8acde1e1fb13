from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from keyport.audit.models import AuditEntry
from keyport.bookings.models import BookingUnit, booked_between
from keyport.cars.models import Car, CarPhoto
from keyport.contacts.models import Customer
from keyport.facilities.models import Location, Unit, UnitKind, UnitStatus
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def cars_for_staff(user: StaffUser) -> QuerySet[Car]:
    """Cars kept at the staff member's locations, or of customers based there and not yet in a bay."""
    locations = locations_for_staff(user)
    return (
        Car.objects.filter(
            Q(bay__location__in=locations) | Q(bay__isnull=True, customer__home_location__in=locations)
        )
        .select_related("customer", "bay__location")
        .order_by("make", "model", "id")
    )


def get_car_for_staff(user: StaffUser, car_id: int) -> Car:
    return get_object_or_404(cars_for_staff(user).prefetch_related("photos"), pk=car_id)


def may_change_car(user: StaffUser, car: Car) -> bool:
    """A car in a bay is the bay's location's to change; one in no bay, its customer's managers'."""
    if car.bay is not None:
        return user.can_operate_location(car.bay.location)
    return user.can_change_customer(car.customer)


def get_car_for_manager(user: StaffUser, car_id: int) -> Car:
    """A car to place in a bay, photograph or note: 403 when `may_change_car` says no."""
    car = get_car_for_staff(user, car_id)
    if not may_change_car(user, car):
        raise PermissionDenied
    return car


def _held_today(locations: Iterable[Location]) -> Q:
    """Booking units (not cancelled) that hold their unit today, each location's own today."""
    held = Q(pk__in=[])
    for location in locations:
        today = location.local_now().date()
        held |= Q(unit__location=location) & booked_between(today, today)
    return held


def booking_row_holding(customer: Customer, bay: Unit) -> BookingUnit | None:
    """The customer's booking unit that holds the bay today (the bay's location's today), if any."""
    today = bay.location.local_now().date()
    return (
        BookingUnit.objects.filter(booked_between(today, today), booking__customer=customer, unit=bay)
        .select_related("booking")
        .first()
    )


def bay_is_booked_by_another(customer: Customer, bay: Unit) -> bool:
    """Whether a booking of someone else holds the bay on any day from today on."""
    today = bay.location.local_now().date()
    return (
        BookingUnit.objects.filter(booked_between(today, None), unit=bay)
        .exclude(booking__customer=customer)
        .exists()
    )


def bays_booked_by_customers(
    customer_ids: Iterable[int], locations: QuerySet[Location]
) -> dict[int, list[Unit]]:
    """Each customer's parking bays that their bookings hold today at these locations and that
    hold no car, by number; one query, for a list of cars."""
    rows = (
        BookingUnit.objects.filter(
            _held_today(locations),
            booking__customer_id__in=list(customer_ids),
            unit__kind=UnitKind.PARKING_BAY,
            unit__cars__isnull=True,
        )
        .select_related("unit__location", "booking")
        .order_by("unit__number", "unit__location__name")
    )
    booked: dict[int, list[Unit]] = {}
    for row in rows:
        booked.setdefault(row.booking.customer_id, []).append(row.unit)
    return booked


def free_bays(locations: QuerySet[Location]) -> QuerySet[Unit]:
    """Parking bays that can be rented now (Available, no booking from today on) and hold no car:
    a car goes into one with a Move in."""
    unbooked = Q(pk__in=[])
    for location in locations:
        today = location.local_now().date()
        booked = BookingUnit.objects.filter(booked_between(today, None), unit=OuterRef("pk"))
        unbooked |= Q(Q(location=location), ~Exists(booked))
    return (
        Unit.objects.filter(
            unbooked, kind=UnitKind.PARKING_BAY, status=UnitStatus.AVAILABLE, cars__isnull=True
        )
        .select_related("location", "unit_type")
        .order_by("location__name", "number")
    )


def cars_in_bays(bays: Iterable[Unit]) -> list[Car]:
    """The cars standing in these bays, by bay number."""
    return list(
        Car.objects.filter(bay__in=list(bays)).select_related("bay__location").order_by("bay__number")
    )


def car_tasks(car: Car) -> list[AuditEntry]:
    """The tasks for staff recorded about the car (a car left in a bay at a Move out), newest first."""
    return list(
        AuditEntry.objects.filter(action="car.task", target_type="cars.car", target_id=car.pk).order_by(
            "-created_at", "-pk"
        )
    )


def cars_for_customer(customer: Customer) -> QuerySet[Car]:
    return (
        customer.cars.select_related("bay__location")
        .prefetch_related("photos", "bay__location__opening_hours")
        .order_by("make", "model")
    )


def cars_of_customer_for_staff(user: StaffUser, customer: Customer) -> QuerySet[Car]:
    """Cars kept in a bay at a location the staff member does not see are left out; cars in no bay stay."""
    return cars_for_customer(customer).filter(
        Q(bay__isnull=True) | Q(bay__location__in=locations_for_staff(user))
    )


def get_photo_for_customer(customer: Customer, photo_id: int) -> CarPhoto:
    return get_object_or_404(CarPhoto.objects, pk=photo_id, car__customer=customer)


def get_photo_for_staff(user: StaffUser, photo_id: int) -> CarPhoto:
    return get_object_or_404(CarPhoto.objects, pk=photo_id, car__in=cars_for_staff(user))
