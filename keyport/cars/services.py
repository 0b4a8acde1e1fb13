import io

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from keyport.audit.services import Actor, audit_record
from keyport.bookings.models import Booking
from keyport.cars.models import Car, CarPhoto
from keyport.cars.queries import bay_is_booked_by_another, booking_row_holding
from keyport.cars.vin import normalize_vin
from keyport.contacts.models import Customer
from keyport.facilities.models import Unit, UnitKind, UnitStatus
from keyport.lib.uploads import (
    MAX_IMAGE_PIXELS,
    ImageTooLarge,
    open_uploaded_image,
    sniff_content_type,
    unguessable_name,
)

MAX_PHOTO_BYTES = 20 * 1024 * 1024
THUMBNAIL_SIZE = (480, 360)


@transaction.atomic
def car_create(
    *,
    actor: Actor,
    customer: Customer,
    make: str,
    model: str,
    plate: str,
    year: int | None = None,
    colour: str = "",
    vin: str = "",
    notes: str = "",
    bay: Unit | None = None,
) -> Car:
    if bay is not None:
        bay = _locked_bay(bay)
        _check_bay_takes_a_car(bay, customer=customer)
    car = Car(
        customer=customer,
        make=make.strip(),
        model=model.strip(),
        plate=_plate(plate),
        year=year,
        colour=colour.strip(),
        vin=normalize_vin(vin),
        notes=notes.strip(),
        bay=bay,
    )
    car.full_clean()
    _save_holding_bay(car)
    audit_record(
        actor=actor,
        action="car.created",
        target=car,
        customer=customer,
        location=bay.location if bay else None,
    )
    return car


def _plate(plate: str) -> str:
    return " ".join(plate.upper().split())


def _check_bay_takes_a_car(bay: Unit, *, customer: Customer, moving: Car | None = None) -> None:
    """A car stands only in a parking bay its customer's booking holds today, one car a bay."""
    if bay.kind != UnitKind.PARKING_BAY:
        raise ValidationError({"bay": "Cars are kept in parking bays, not storage units."})
    if bay.status != UnitStatus.AVAILABLE:
        raise ValidationError({"bay": f"Bay {bay.number} is {bay.get_status_display().lower()}."})
    if booking_row_holding(customer, bay) is None:
        if bay_is_booked_by_another(customer, bay):
            raise ValidationError({"bay": f"Bay {bay.number} is booked by another customer."})
        raise ValidationError(
            {
                "bay": f"Bay {bay.number} is not booked for {customer.name}: choose one of their bays, "
                "or a free bay with a Move in."
            }
        )
    taken = Car.objects.filter(bay=bay)
    if moving is not None:
        taken = taken.exclude(pk=moving.pk)
    if taken.exists():
        raise ValidationError({"bay": f"Bay {bay.number} already holds a car."})


def _save_holding_bay(car: Car, update_fields: list[str] | None = None) -> None:
    """Save the car; the database's one-car-a-bay constraint catches a car put in the bay meanwhile."""
    try:
        with transaction.atomic():
            car.save(update_fields=update_fields)
    except IntegrityError:
        number = car.bay.number if car.bay else ""
        raise ValidationError({"bay": f"Bay {number} already holds a car."}) from None


def _locked_bay(bay: Unit) -> Unit:
    """The bay's row, locked so that two cars cannot be put in it at the same moment."""
    return Unit.objects.select_for_update().select_related("location").get(pk=bay.pk)


def _place(actor: Actor, car: Car, bay: Unit, *, action: str) -> Car:
    bay = _locked_bay(bay)
    _check_bay_takes_a_car(bay, customer=car.customer, moving=car)
    previous = car.bay
    car.bay = bay
    _save_holding_bay(car, update_fields=["bay"])
    audit_record(
        actor=actor,
        action=action,
        target=car,
        customer=car.customer,
        location=bay.location,
        details={
            "from": f"{previous.location.name} {previous.number}" if previous else None,
            "to": f"{bay.location.name} {bay.number}",
        },
    )
    return car


@transaction.atomic
def car_assign(*, actor: Actor, car: Car, bay: Unit) -> Car:
    """Assign Car: put a car that has no bay into one."""
    car = Car.objects.select_for_update().get(pk=car.pk)
    if car.bay_id is not None:
        raise ValidationError({"bay": "This car already has a bay; use Move Vehicle."})
    return _place(actor, car, bay, action="car.assigned")


@transaction.atomic
def car_move(*, actor: Actor, car: Car, bay: Unit) -> Car:
    """Move Vehicle: from its bay to another one (at any of the operator's sites)."""
    car = Car.objects.select_for_update().get(pk=car.pk)
    if car.bay_id is None:
        raise ValidationError({"bay": "This car has no bay yet; use Assign Car."})
    if car.bay_id == bay.pk:
        raise ValidationError({"bay": "The car is already in this bay."})
    return _place(actor, car, bay, action="car.moved")


@transaction.atomic
def car_leave_bay(*, actor: Actor, car: Car, booking: Booking, task: str) -> Car:
    """A booking's Move out takes the car's bay away: the car is in no bay from now, and a task
    for staff (an audit entry on the car, shown on its page and the Overview) says what to do."""
    car = (
        Car.objects.select_for_update(of=("self",)).select_related("bay__location", "customer").get(pk=car.pk)
    )
    bay = car.bay
    if bay is None:
        return car
    car.bay = None
    car.save(update_fields=["bay"])
    where = f"{bay.location.name} {bay.number}"
    audit_record(
        actor=actor,
        action="car.left_bay",
        target=car,
        customer=car.customer,
        location=bay.location,
        details={"from": where, "because": "booking.moved_out", "booking": booking.pk},
    )
    audit_record(
        actor=actor,
        action="car.task",
        target=car,
        customer=car.customer,
        location=bay.location,
        details={"task": task, "bay": where, "booking": booking.pk},
    )
    return car


CAR_DETAILS = ("plate", "vin", "colour", "notes")


@transaction.atomic
def car_update(*, actor: Actor, car: Car, plate: str, vin: str, colour: str, notes: str) -> Car:
    """Edit a car's plate, VIN (checked as when it was added), colour and notes."""
    car = (
        Car.objects.select_for_update(of=("self",)).select_related("bay__location", "customer").get(pk=car.pk)
    )
    before = {name: getattr(car, name) for name in CAR_DETAILS}
    car.plate, car.vin, car.colour, car.notes = (
        _plate(plate),
        normalize_vin(vin),
        colour.strip(),
        notes.strip(),
    )
    changed = sorted(name for name in CAR_DETAILS if getattr(car, name) != before[name])
    if not changed:
        return car
    car.full_clean(exclude=["customer", "bay"])
    car.save(update_fields=changed)
    details: dict[str, object] = {"changed": changed}
    if "plate" in changed:
        details["plate"] = {"from": before["plate"], "to": car.plate}
    location = car.bay.location if car.bay is not None else None
    audit_record(
        actor=actor,
        action="car.updated",
        target=car,
        customer=car.customer,
        location=location,
        details=details,
    )
    return car


@transaction.atomic
def car_set_notes(*, actor: Actor, car: Car, notes: str) -> Car:
    car = Car.objects.select_for_update().get(pk=car.pk)
    car.notes = notes.strip()
    car.save(update_fields=["notes"])
    audit_record(actor=actor, action="car.notes_changed", target=car, customer=car.customer)
    return car


def _thumbnail(upload: File, *, content_type: str) -> bytes:
    """The photo scaled down to THUMBNAIL_SIZE as a JPEG without the original's metadata; the
    portal shows only this copy."""
    try:
        with open_uploaded_image(upload, content_type=content_type) as opened:
            opened.draft("RGB", THUMBNAIL_SIZE)  # a JPEG decodes at a fraction of its size
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            upright.thumbnail(THUMBNAIL_SIZE)
            buffer = io.BytesIO()
            upright.convert("RGB").save(buffer, format="JPEG", quality=82)
    except ImageTooLarge:
        megapixels = MAX_IMAGE_PIXELS // 1_000_000
        raise ValidationError(
            {"image": f"This photo has too many pixels (at most {megapixels} megapixels); use a smaller one."}
        ) from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationError({"image": "This file is not a readable image."}) from None
    return buffer.getvalue()


@transaction.atomic
def car_photo_add(*, actor: Actor, car: Car, upload: File) -> CarPhoto:
    """Keep a photo of a car (PNG, JPEG or WebP, read from its content) with a thumbnail."""
    if upload.size is None or upload.size > MAX_PHOTO_BYTES:
        raise ValidationError({"image": "Photos up to 20 MB only."})
    upload.seek(0)
    kind = sniff_content_type(upload.read(16))
    if kind is None or not kind[0].startswith("image/"):
        raise ValidationError({"image": "Only PNG, JPEG or WebP photos can be uploaded."})
    upload.seek(0)
    thumbnail = _thumbnail(upload, content_type=kind[0])
    upload.seek(0)
    photo = CarPhoto(car=car, content_type=kind[0], uploaded_by=actor.label[:200])
    photo.image.save(unguessable_name("cars", kind[1]), upload, save=False)
    photo.thumbnail.save(unguessable_name("cars/thumbnails", ".jpg"), ContentFile(thumbnail), save=False)
    photo.save()
    audit_record(actor=actor, action="car.photo_added", target=car, customer=car.customer)
    return photo
