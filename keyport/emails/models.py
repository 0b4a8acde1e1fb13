import urllib.parse

from django.conf import settings
from django.db import models
from django.utils import timezone


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Delivered"
    FAILED = "failed", "Failed"


class OutgoingEmail(models.Model):
    """The log of every email Keyport sends: to whom, which template, when, and how it went."""

    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    template = models.CharField(max_length=64, blank=True, db_index=True)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The bodies hold a placeholder for each secret (a one-time sign-in link, a guest's key); the
    # secrets wait here, by name, until the worker puts them into the message it sends, and are
    # emptied once the email is delivered or given up. The admin never shows this field.
    secrets_to_send = models.JSONField(default=dict, blank=True)
    # What to attach, by kind and id (keyport.emails.attachments): the files are made when it is sent.
    attachments = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"

    def message_id(self) -> str:
        """The same on every attempt: a worker that dies after the server took the email sends it
        again, and the recipient's mail system sees the same message, not a second one."""
        host = urllib.parse.urlsplit(settings.PUBLIC_BASE_URL).hostname or "keyport.invalid"
        return f"<keyport-email-{self.pk}.{self.created_at:%Y%m%d%H%M%S%f}@{host}>"


class EmailTemplate(models.Model):
    """An operator's own version of one of Keyport's emails; without a row, the shipped default is used."""

    key = models.CharField(max_length=64, unique=True)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
