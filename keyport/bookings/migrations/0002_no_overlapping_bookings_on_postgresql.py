"""On PostgreSQL the database itself refuses two live bookings of a unit for overlapping dates.

SQLite has no exclusion constraints; there the booking service's check under
an IMMEDIATE transaction (one writer at a time) keeps the same promise.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE bookings_bookingunit ADD CONSTRAINT booking_unit_no_overlap
    EXCLUDE USING gist (unit_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
    WHERE (NOT is_cancelled);
"""
DROP = "ALTER TABLE bookings_bookingunit DROP CONSTRAINT IF EXISTS booking_unit_no_overlap;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
