from django.db.models import Q, QuerySet
from django.http import Http404

from keyport.cars.models import Car, CarPhoto
from keyport.contacts.models import Customer
from keyport.facilities.models import Location, Unit, UnitKind, UnitStatus


def cars_for_staff(locations: QuerySet[Location]) -> QuerySet[Car]:
    """Cars kept at these locations, or of customers based there and not yet in a bay."""
    return (
        Car.objects.filter(
            Q(bay__location__in=locations) | Q(bay__isnull=True, customer__home_location__in=locations)
        )
        .select_related("customer", "bay__location")
        .order_by("make", "model", "id")
    )


def get_car_for_staff(locations: QuerySet[Location], car_id: int) -> Car:
    try:
        return cars_for_staff(locations).prefetch_related("photos").get(pk=car_id)
    except Car.DoesNotExist:
        raise Http404("No such car.") from None


def free_bays(locations: QuerySet[Location]) -> QuerySet[Unit]:
    return (
        Unit.objects.filter(
            location__in=locations, kind=UnitKind.PARKING_BAY, status=UnitStatus.AVAILABLE, cars__isnull=True
        )
        .select_related("location")
        .order_by("location__name", "number")
    )


def cars_for_customer(customer: Customer, *, locations: QuerySet[Location] | None = None) -> QuerySet[Car]:
    """With `locations`, cars kept in a bay elsewhere are left out; cars in no bay stay."""
    cars = customer.cars.select_related("bay__location").prefetch_related("photos").order_by("make", "model")
    if locations is not None:
        cars = cars.filter(Q(bay__isnull=True) | Q(bay__location__in=locations))
    return cars


def get_photo_for_customer(customer: Customer, photo_id: int) -> CarPhoto:
    try:
        return CarPhoto.objects.get(pk=photo_id, car__customer=customer)
    except CarPhoto.DoesNotExist:
        raise Http404("No such photo.") from None


def get_photo_for_staff(locations: QuerySet[Location], photo_id: int) -> CarPhoto:
    try:
        return CarPhoto.objects.get(pk=photo_id, car__in=cars_for_staff(locations))
    except CarPhoto.DoesNotExist:
        raise Http404("No such photo.") from None
