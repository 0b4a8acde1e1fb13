"""Staff pages for cars: the list with Assign Car and Move Vehicle, photos and notes."""

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.cars import services
from keyport.cars.models import CarPhoto
from keyport.cars.queries import (
    cars_for_staff,
    free_bays,
    get_car_for_manager,
    get_car_for_staff,
    get_photo_for_staff,
    may_change_car,
)
from keyport.dashboard.sections_forms import (
    BayForm,
    CarForm,
    CarSearchForm,
    NotesForm,
    PhotoForm,
    form_status,
)
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.facilities.models import Unit
from keyport.frontdesk.queries import get_customer_for_manager
from keyport.staff.queries import locations_for_operator

CARS_SHOWN = 300


def _operable_bays(request: StaffRequest) -> QuerySet[Unit]:
    return free_bays(locations_for_operator(request.user))


@staff_required
def car_list(request: StaffRequest) -> HttpResponse:
    cars = cars_for_staff(request.user)
    search = CarSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    if query:
        cars = cars.filter(plate__icontains=query) | cars.filter(customer__name__icontains=query)
    shown = list(cars[:CARS_SHOWN])
    context = {
        "cars": shown,
        "car_count": cars.count() if len(shown) == CARS_SHOWN else len(shown),
        "q": query,
        "bays": list(_operable_bays(request)),
    }
    return render(request, "dashboard/cars/list.html", context)


@staff_required
def car_detail(request: StaffRequest, car_id: int) -> HttpResponse:
    car = get_car_for_staff(request.user, car_id)
    context = {
        "car": car,
        "can_change": may_change_car(request.user, car),
        "photo_form": PhotoForm(),
        "notes_form": NotesForm(initial={"notes": car.notes}),
        "bay_form": BayForm(bays=_operable_bays(request)),
    }
    return render(request, "dashboard/cars/detail.html", context)


def _place(request: StaffRequest, car_id: int, *, move: bool) -> HttpResponse:
    car = get_car_for_manager(request.user, car_id)
    form = BayForm(request.POST, bays=_operable_bays(request))
    if not form.is_valid():
        messages.error(request, "Choose a free bay at one of your locations.")
    else:
        place = services.car_move if move else services.car_assign
        try:
            place(actor=Actor.staff(request.user), car=car, bay=form.cleaned_data["bay"])
            messages.success(request, f"{car} is now in bay {form.cleaned_data['bay'].number}.")
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
    if request.POST.get("next") == "detail":
        return redirect("dashboard:car_detail", car_id=car.pk)
    return redirect("dashboard:car_list")


@require_POST
@staff_required
def car_assign(request: StaffRequest, car_id: int) -> HttpResponse:
    return _place(request, car_id, move=False)


@require_POST
@staff_required
def car_move(request: StaffRequest, car_id: int) -> HttpResponse:
    return _place(request, car_id, move=True)


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
