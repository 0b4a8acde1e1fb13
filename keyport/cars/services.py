import io

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from keyport.audit.services import Actor, audit_record
from keyport.cars.models import Car, CarPhoto
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
        _check_bay_takes_a_car(bay)
    car = Car(
        customer=customer,
        make=make.strip(),
        model=model.strip(),
        plate=" ".join(plate.upper().split()),
        year=year,
        colour=colour.strip(),
        vin=normalize_vin(vin),
        notes=notes.strip(),
        bay=bay,
    )
    car.full_clean()
    car.save()
    audit_record(
        actor=actor,
        action="car.created",
        target=car,
        customer=customer,
        location=bay.location if bay else None,
    )
    return car


def _check_bay_takes_a_car(bay: Unit, *, moving: Car | None = None) -> None:
    if bay.kind != UnitKind.PARKING_BAY:
        raise ValidationError({"bay": "Cars are kept in parking bays, not storage units."})
    if bay.status != UnitStatus.AVAILABLE:
        raise ValidationError({"bay": f"Bay {bay.number} is {bay.get_status_display().lower()}."})
    taken = Car.objects.filter(bay=bay)
    if moving is not None:
        taken = taken.exclude(pk=moving.pk)
    if taken.exists():
        raise ValidationError({"bay": f"Bay {bay.number} already holds a car."})


def _locked_bay(bay: Unit) -> Unit:
    """The bay's row, locked so that two cars cannot be put in it at the same moment."""
    return Unit.objects.select_for_update().select_related("location").get(pk=bay.pk)


def _place(actor: Actor, car: Car, bay: Unit, *, action: str) -> Car:
    bay = _locked_bay(bay)
    _check_bay_takes_a_car(bay, moving=car)
    previous = car.bay
    car.bay = bay
    car.save(update_fields=["bay"])
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
