"""Staff pages for cars: the list with Assign Car and Move Vehicle, a car's page with its photos,
notes and Edit."""

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.cars import services
from keyport.cars.models import Car, CarPhoto
from keyport.cars.queries import (
    bays_booked_by_customers,
    booking_row_holding,
    car_tasks,
    cars_for_staff,
    free_bays,
    get_car_for_manager,
    get_car_for_staff,
    get_photo_for_staff,
    may_change_car,
)
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.sections_forms import (
    BayForm,
    CarEditForm,
    CarForm,
    CarSearchForm,
    NotesForm,
    PhotoForm,
    bay_choices,
    form_status,
    free_bay_choices,
)
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.facilities.models import Unit, UnitKind
from keyport.frontdesk.queries import customers_with_a_contact_named, get_customer_for_manager
from keyport.frontdesk.services import car_to_bay
from keyport.staff.queries import locations_for_operator

CARS_SHOWN = 300


def _bay_form(request: StaffRequest, car: Car, data: dict[str, str] | None = None) -> BayForm:
    """Assign Car / Move Vehicle for one car: its customer's booked bays first, then free ones;
    any bay of the staff member's locations is accepted, for the service to judge."""
    locations = locations_for_operator(request.user)
    booked = bays_booked_by_customers([car.customer_id], locations).get(car.customer_id, [])
    return BayForm(
        data,
        bays=Unit.objects.filter(location__in=locations, kind=UnitKind.PARKING_BAY),
        booked=booked,
        free=free_bay_choices(list(free_bays(locations))),
    )


@staff_required
def car_list(request: StaffRequest) -> HttpResponse:
    cars = cars_for_staff(request.user)
    search = CarSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    if query:
        cars = (
            cars.filter(plate__icontains=query)
            | cars.filter(customer__name__icontains=query)
            | cars.filter(customer_id__in=customers_with_a_contact_named(query))
        )
    shown = list(cars[:CARS_SHOWN])
    locations = locations_for_operator(request.user)
    booked = bays_booked_by_customers({car.customer_id for car in shown}, locations)
    free = free_bay_choices(list(free_bays(locations)))
    context = {
        "rows": [(car, bay_choices(booked.get(car.customer_id, []), free)) for car in shown],
        "car_count": cars.count() if len(shown) == CARS_SHOWN else len(shown),
        "q": query,
        "can_place": locations.exists(),
    }
    return render(request, "dashboard/cars/list.html", context)


@staff_required
def car_detail(request: StaffRequest, car_id: int) -> HttpResponse:
    return _car_page(request, get_car_for_staff(request.user, car_id))


def _car_page(request: StaffRequest, car: Car, bay_form: BayForm | None = None) -> HttpResponse:
    row = booking_row_holding(car.customer, car.bay) if car.bay is not None else None
    context = {
        "car": car,
        "booking": row.booking if row is not None else None,
        "tasks": car_tasks(car),
        "can_change": may_change_car(request.user, car),
        "photo_form": PhotoForm(),
        "notes_form": NotesForm(initial={"notes": car.notes}),
        "bay_form": bay_form or _bay_form(request, car),
    }
    return render(request, "dashboard/cars/detail.html", context, status=400 if bay_form else 200)


def _place(request: StaffRequest, car_id: int) -> HttpResponse:
    """Assign Car / Move Vehicle, from the list (back to it, refusals as messages) or from the
    car's page (refusals beside the field)."""
    car = get_car_for_manager(request.user, car_id)
    from_page = request.POST.get("next") == "detail"
    form = _bay_form(request, car, request.POST)
    if form.is_valid():
        bay = form.cleaned_data["bay"]
        try:
            car_to_bay(staff=request.user, car=car, bay=bay, monthly_rent=form.cleaned_data["monthly_rent"])
        except ValidationError as error:
            apply_errors(form, error, rename={"monthly_rents": "monthly_rent", "units": "bay"})
        else:
            messages.success(request, f"{car} is now in bay {bay.number}.")
            return (
                redirect("dashboard:car_detail", car_id=car.pk)
                if from_page
                else redirect("dashboard:car_list")
            )
    if from_page:
        return _car_page(request, car, bay_form=form)
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, f"{car.plate}: {message}")
    return redirect("dashboard:car_list")


@require_POST
@staff_required
def car_assign(request: StaffRequest, car_id: int) -> HttpResponse:
    return _place(request, car_id)


@require_POST
@staff_required
def car_move(request: StaffRequest, car_id: int) -> HttpResponse:
    return _place(request, car_id)


@staff_required
def car_edit(request: StaffRequest, car_id: int) -> HttpResponse:
    car = get_car_for_manager(request.user, car_id)
    initial = {"plate": car.plate, "vin": car.vin, "colour": car.colour, "notes": car.notes}
    form = CarEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            car = services.car_update(actor=Actor.staff(request.user), car=car, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Car saved." + (f" {car.vin_warning}" if car.vin_warning else ""))
            return redirect("dashboard:car_detail", car_id=car.pk)
    return render(
        request, "dashboard/cars/edit.html", {"car": car, "form": form}, status=form_status(request)
    )


@require_POST
@staff_required
def car_photo_add(request: StaffRequest, car_id: int) -> HttpResponse:
    car = get_car_for_manager(request.user, car_id)
    form = PhotoForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise ValidationError("Choose a photo to upload.")
        services.car_photo_add(actor=Actor.staff(request.user), car=car, upload=form.cleaned_data["image"])
        messages.success(request, "Photo added.")
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("dashboard:car_detail", car_id=car.pk)


@require_POST
@staff_required
def car_notes(request: StaffRequest, car_id: int) -> HttpResponse:
    car = get_car_for_manager(request.user, car_id)
    form = NotesForm(request.POST)
    if form.is_valid():
        services.car_set_notes(actor=Actor.staff(request.user), car=car, notes=form.cleaned_data["notes"])
        messages.success(request, "Notes saved.")
    return redirect("dashboard:car_detail", car_id=car.pk)


def photo_response(photo: CarPhoto, *, thumbnail: bool) -> HttpResponse:
    stored = photo.thumbnail if thumbnail else photo.image
    response = FileResponse(stored.open("rb"), content_type="image/jpeg" if thumbnail else photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return cast(HttpResponse, response)  # streamed; the decorators only need a response


@staff_required
def car_photo(request: StaffRequest, car_id: int, photo_id: int) -> HttpResponse:
    photo = get_photo_for_staff(request.user, photo_id)
    if photo.car_id != car_id:
        raise Http404("No such photo.")
    return photo_response(photo, thumbnail=request.GET.get("size") == "thumbnail")


@staff_required
def car_create(request: StaffRequest, customer_id: int) -> HttpResponse:
    customer = get_customer_for_manager(request.user, customer_id)
    form = CarForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            car = services.car_create(actor=Actor.staff(request.user), customer=customer, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{car} added." + (f" {car.vin_warning}" if car.vin_warning else ""))
            return redirect("dashboard:car_detail", car_id=car.pk)
    context = {"customer": customer, "form": form}
    return render(request, "dashboard/cars/form.html", context, status=form_status(request))
