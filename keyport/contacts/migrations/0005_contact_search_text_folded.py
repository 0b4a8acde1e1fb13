"""Contact.search_text: kept by the services, folded in Python (accents, case, German spellings)
instead of lower-cased by the database; every existing contact's text is folded again here."""

from django.db import migrations, models

from keyport.lib.search_text import search_text_of, spells_german

BATCH = 2000


def fold_existing(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    rows = Contact.objects.select_related("customer__home_location").order_by("pk")
    batch = []
    for contact in rows.iterator(chunk_size=BATCH):
        location = contact.customer.home_location
        contact.search_text = search_text_of(
            [contact.first_name, contact.last_name, contact.email or "", contact.phone],
            german=spells_german(location.country if location else None),
        )
        batch.append(contact)
        if len(batch) == BATCH:
            Contact.objects.bulk_update(batch, ["search_text"])
            batch = []
    Contact.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_contact_search_text"),
    ]

    operations = [
        # A generated column cannot be altered into a plain one: it is dropped and added again.
        migrations.RemoveField(model_name="contact", name="search_text"),
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=models.TextField(
                default="",
                editable=False,
                help_text="Name, email and phone without accents or case: what search looks in.",
            ),
        ),
        migrations.RunPython(fold_existing, migrations.RunPython.noop, elidable=True),
    ]
