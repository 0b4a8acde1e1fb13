from django.db import migrations, models

from keyport.contacts.models import contact_search_text


def fill_search_texts(apps, schema_editor):  # type: ignore[no-untyped-def]
    Contact = apps.get_model("contacts", "Contact")
    contacts = list(Contact.objects.only("pk", "first_name", "last_name", "email", "phone"))
    for contact in contacts:
        contact.search_text = contact_search_text(contact)
    Contact.objects.bulk_update(contacts, ["search_text"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0003_contact_list_sort_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=models.TextField(
                default="",
                editable=False,
                help_text="Name, email and phone in lower case: what search looks in.",
            ),
        ),
        migrations.RunPython(fill_search_texts, migrations.RunPython.noop),
    ]
