from django.db import migrations, models

from keyport.cars.models import plate_search_key


def fill_plate_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    Car = apps.get_model("cars", "Car")
    cars = list(Car.objects.only("pk", "plate"))
    for car in cars:
        car.plate_key = plate_search_key(car.plate)
    Car.objects.bulk_update(cars, ["plate_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("cars", "0002_car_notes_car_vin_carphoto"),
    ]

    operations = [
        migrations.AddField(
            model_name="car",
            name="plate_key",
            field=models.CharField(
                default="", editable=False, help_text="The plate as search compares it.", max_length=20
            ),
        ),
        migrations.RunPython(fill_plate_keys, migrations.RunPython.noop),
    ]
