from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0008_grant_push_may_land_until"),
    ]

    operations = [
        migrations.AddField(
            model_name="sensorbergaccount",
            name="access_token",
            field=models.CharField(blank=True, default="", max_length=2000),
        ),
        migrations.AddField(
            model_name="sensorbergaccount",
            name="token_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
