import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0001_initial"),
        ("bookings", "0002_no_overlapping_bookings_on_postgresql"),
        ("facilities", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accessevent",
            name="booking",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="access_events",
                to="bookings.booking",
            ),
        ),
        migrations.AlterField(
            model_name="accessevent",
            name="location",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="access_events",
                to="facilities.location",
            ),
        ),
        migrations.AlterField(
            model_name="accessevent",
            name="unit",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="access_events",
                to="facilities.unit",
            ),
        ),
    ]
