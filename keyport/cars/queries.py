from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

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
    try:
        return cars_for_staff(user).prefetch_related("photos").get(pk=car_id)
    except Car.DoesNotExist:
        raise Http404("No such car.") from None


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


def free_bays(locations: QuerySet[Location]) -> QuerySet[Unit]:
    return (
        Unit.objects.filter(
            location__in=locations, kind=UnitKind.PARKING_BAY, status=UnitStatus.AVAILABLE, cars__isnull=True
        )
        .select_related("location")
        .order_by("location__name", "number")
    )


def cars_for_customer(customer: Customer) -> QuerySet[Car]:
    return customer.cars.select_related("bay__location").prefetch_related("photos").order_by("make", "model")


def cars_of_customer_for_staff(user: StaffUser, customer: Customer) -> QuerySet[Car]:
    """Cars kept in a bay at a location the staff member does not see are left out; cars in no bay stay."""
    return cars_for_customer(customer).filter(
        Q(bay__isnull=True) | Q(bay__location__in=locations_for_staff(user))
    )


def get_photo_for_customer(customer: Customer, photo_id: int) -> CarPhoto:
    try:
        return CarPhoto.objects.get(pk=photo_id, car__customer=customer)
    except CarPhoto.DoesNotExist:
        raise Http404("No such photo.") from None


def get_photo_for_staff(user: StaffUser, photo_id: int) -> CarPhoto:
    try:
        return CarPhoto.objects.get(pk=photo_id, car__in=cars_for_staff(user))
    except CarPhoto.DoesNotExist:
        raise Http404("No such photo.") from None
