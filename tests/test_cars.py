import io
import struct
import warnings
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from keyport.audit.models import AuditEntry
from keyport.cars import services
from keyport.cars.vin import vin_check_digit_ok, vin_problem
from keyport.facilities.models import UnitKind
from tests.factories import CarFactory, CustomerFactory, LocationFactory, UnitFactory, booking_of, today

pytestmark = pytest.mark.django_db

GOOD_VIN = "1M8GDM9AXKP042788"  # the textbook example: check digit X


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def bay(location=None, *, for_car=None, **kwargs):
    """A parking bay; booked from today by the car's customer when `for_car` is given."""
    unit = UnitFactory(location=location or LocationFactory(), kind=UnitKind.PARKING_BAY, **kwargs)
    if for_car is not None:
        booking_of(for_car.customer, [unit], today())
    return unit


def test_vin_length_and_characters():
    assert vin_problem(GOOD_VIN) is None
    assert "17" in (vin_problem("1M8GDM9AXKP04278") or "")
    assert "I, O and Q" in (vin_problem("1M8GDM9AXKP04278O") or "")


def test_vin_check_digit():
    assert vin_check_digit_ok(GOOD_VIN)
    assert not vin_check_digit_ok("1M8GDM9A1KP042788")


def test_a_bad_vin_is_refused_and_a_wrong_check_digit_only_warns(actor):
    customer = CustomerFactory()
    with pytest.raises(ValidationError):
        services.car_create(actor=actor, customer=customer, make="Ford", model="T", plate="x", vin="ABC")
    car = services.car_create(
        actor=actor, customer=customer, make="Ford", model="T", plate="x", vin="1m8gdm9a1kp042788"
    )
    assert car.vin == "1M8GDM9A1KP042788"
    assert "check digit" in car.vin_warning
    ok = services.car_create(actor=actor, customer=customer, make="Ford", model="T", plate="y", vin=GOOD_VIN)
    assert ok.vin_warning == ""


def test_assign_car_puts_it_in_a_free_bay_and_audits(actor):
    car = CarFactory()
    target = bay(for_car=car)
    services.car_assign(actor=actor, car=car, bay=target)
    car.refresh_from_db()
    assert car.bay == target
    assert AuditEntry.objects.get(action="car.assigned").location == target.location


def test_a_bay_holds_one_car_and_storage_units_hold_none(actor):
    first = CarFactory()
    target = bay(for_car=first)
    first.bay = target
    first.save()
    second = CarFactory(customer=first.customer)
    with pytest.raises(ValidationError) as refused:
        services.car_assign(actor=actor, car=second, bay=target)
    assert "already holds a car" in str(refused.value)
    storage = UnitFactory(kind=UnitKind.STORAGE_UNIT)
    booking_of(second.customer, [storage], today())
    with pytest.raises(ValidationError):
        services.car_assign(actor=actor, car=second, bay=storage)
    second.refresh_from_db()
    assert second.bay is None


def test_move_vehicle_records_from_and_to(actor):
    location = LocationFactory(name="Austin")
    car = CarFactory()
    first, second = bay(location, number="P001", for_car=car), bay(location, number="P002", for_car=car)
    car.bay = first
    car.save()
    with pytest.raises(ValidationError):
        services.car_assign(actor=actor, car=car, bay=second)
    services.car_move(actor=actor, car=car, bay=second)
    car.refresh_from_db()
    assert car.bay == second
    assert AuditEntry.objects.get(action="car.moved").details == {"from": "Austin P001", "to": "Austin P002"}


def test_move_needs_a_car_in_a_bay(actor):
    with pytest.raises(ValidationError):
        services.car_move(actor=actor, car=CarFactory(), bay=bay())


def jpeg(size=(1600, 1200)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="JPEG")
    return SimpleUploadedFile("car.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_a_photo_gets_a_small_thumbnail(actor):
    photo = services.car_photo_add(actor=actor, car=CarFactory(), upload=jpeg())
    with Image.open(photo.thumbnail) as thumbnail:
        assert thumbnail.size[0] <= 480 and thumbnail.size[1] <= 360
    assert photo.content_type == "image/jpeg"


def huge_png(width: int = 12_000, height: int = 12_000) -> SimpleUploadedFile:
    """A valid black PNG of width × height pixels (144 megapixels by default) in a few kilobytes:
    one bit a pixel, every row the same, compressed once."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    rows = zlib.compress((b"\x00" + bytes((width + 7) // 8)) * height, 9)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    return SimpleUploadedFile("car.png", data, content_type="image/png")


def test_a_photo_with_too_many_pixels_is_refused_before_it_is_decoded(actor, monkeypatch, settings):
    car = CarFactory()
    upload = huge_png()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(upload.read())) as check:
            assert check.size == (12_000, 12_000)  # a real 144-megapixel image
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda image: decoded.append(image))
    with pytest.raises(ValidationError) as refused:
        services.car_photo_add(actor=actor, car=car, upload=upload)
    assert "too many pixels (at most 40 megapixels)" in str(refused.value.message_dict["image"])
    assert decoded == []
    assert not car.photos.exists()
    assert not AuditEntry.objects.filter(action="car.photo_added").exists()
    assert not any(path.is_file() for path in (settings.MEDIA_ROOT).rglob("*"))


def test_a_photo_at_the_pixel_cap_is_kept_with_its_thumbnail(actor):
    photo = services.car_photo_add(actor=actor, car=CarFactory(), upload=huge_png(8_000, 5_000))
    with Image.open(photo.thumbnail) as thumbnail:
        assert thumbnail.size == (480, 300)


def test_a_pdf_is_not_a_photo(actor):
    fake = SimpleUploadedFile("car.jpg", b"%PDF-1.7 not an image", content_type="image/jpeg")
    with pytest.raises(ValidationError):
        services.car_photo_add(actor=actor, car=CarFactory(), upload=fake)


def test_notes_are_kept_trimmed_and_audited(actor):
    car = services.car_set_notes(actor=actor, car=CarFactory(), notes="  Battery on a trickle charger.\n ")
    car.refresh_from_db()
    assert car.notes == "Battery on a trickle charger."
    assert AuditEntry.objects.get(action="car.notes_changed").target_id == car.pk


def test_a_car_is_created_with_its_details_and_its_bay(actor):
    customer = CustomerFactory()
    target = bay()
    booking_of(customer, [target], today())
    car = services.car_create(
        actor=actor,
        customer=customer,
        make=" Volvo ",
        model="P1800",
        plate="b  ms 1800",
        year=1967,
        colour="Red",
        vin=GOOD_VIN,
        bay=target,
    )
    car.refresh_from_db()
    assert (car.make, car.plate, car.year, car.colour, car.bay) == ("Volvo", "B MS 1800", 1967, "Red", target)
    assert AuditEntry.objects.get(action="car.created").location == target.location


def test_a_photo_over_20_mb_is_refused(actor):
    big = SimpleUploadedFile(
        "car.jpg", b"\xff\xd8\xff" + b"\x00" * (20 * 1024 * 1024), content_type="image/jpeg"
    )
    with pytest.raises(ValidationError):
        services.car_photo_add(actor=actor, car=CarFactory(), upload=big)


def test_a_new_car_cannot_take_a_bay_that_holds_one(actor):
    holder = CarFactory()
    target = bay(for_car=holder)
    holder.bay = target
    holder.save()
    with pytest.raises(ValidationError):
        services.car_create(
            actor=actor, customer=holder.customer, make="Ford", model="T", plate="x", bay=target
        )
    assert target.cars.count() == 1
