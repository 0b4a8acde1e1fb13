"""An email's secret (a one-time link, a guest's key) waits in its own field until the worker sends
it, instead of in the logged body until delivery.

Emails still queued move their secret out of the body: the old log text is the body with each
occurrence of the secret replaced by one of the old placeholders, so the secret is what fills those
gaps. A body this cannot account for is left as it was and goes out as logged.
"""

from django.db import migrations, models
from django.utils.html import escape, urlize

OLD_PLACEHOLDERS = (
    "[one-time link, removed from the log after sending]",
    "[confirmation link, removed from the log after sending]",
)
# keyport.emails.rendering.secret_placeholder("link") as this migration was written.
PLACEHOLDER = "[link: added when sent, never kept in the log]"


def _secret_in(body: str, logged: str, placeholder: str) -> str | None:
    parts = logged.split(placeholder)
    gaps = len(parts) - 1
    missing = len(body) - sum(len(part) for part in parts)
    if gaps == 0 or missing <= 0 or missing % gaps:
        return None
    start = len(parts[0])
    secret = body[start : start + missing // gaps]
    return secret if secret.join(parts) == body else None


def move_secrets_out_of_queued_bodies(apps, schema_editor):  # type: ignore[no-untyped-def]
    OutgoingEmail = apps.get_model("emails", "OutgoingEmail")
    for email in OutgoingEmail.objects.filter(status="queued").exclude(body_text_after_sending=""):
        for placeholder in OLD_PLACEHOLDERS:
            secret = _secret_in(email.body_text, email.body_text_after_sending, placeholder)
            if secret:
                break
        else:
            continue
        email.body_text = email.body_text_after_sending.replace(placeholder, PLACEHOLDER)
        email.body_html = email.body_html_after_sending.replace(placeholder, PLACEHOLDER)
        email.secrets_to_send = {"link": secret}
        email.save(update_fields=["body_text", "body_html", "secrets_to_send"])


def put_secrets_back_into_queued_bodies(apps, schema_editor):  # type: ignore[no-untyped-def]
    OutgoingEmail = apps.get_model("emails", "OutgoingEmail")
    for email in OutgoingEmail.objects.filter(status="queued").exclude(secrets_to_send={}):
        email.body_text_after_sending, email.body_html_after_sending = email.body_text, email.body_html
        for name, secret in email.secrets_to_send.items():
            placeholder = f"[{name}: added when sent, never kept in the log]"
            email.body_text = email.body_text.replace(placeholder, secret)
            email.body_html = email.body_html.replace(
                escape(placeholder), urlize(secret, nofollow=True, autoescape=True)
            )
        email.save(
            update_fields=["body_text", "body_html", "body_text_after_sending", "body_html_after_sending"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("emails", "0003_html_body_after_sending"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingemail",
            name="secrets_to_send",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(move_secrets_out_of_queued_bodies, put_secrets_back_into_queued_bodies),
        migrations.RemoveField(model_name="outgoingemail", name="body_html_after_sending"),
        migrations.RemoveField(model_name="outgoingemail", name="body_text_after_sending"),
    ]
