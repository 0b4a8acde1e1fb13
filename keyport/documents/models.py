from django.db import models
from django.utils import timezone

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


class Document(models.Model):
    """A file kept for a customer; stored under an unguessable name, served only by a view that checks."""

    customer = models.ForeignKey("contacts.Customer", on_delete=models.CASCADE, related_name="documents")
    car = models.ForeignKey(
        "cars.Car", null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    title = models.CharField(max_length=200)
    file = models.FileField(max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    visible_to_customer = models.BooleanField(
        "customer can see it", default=False, help_text="Shown in the customer portal when ticked."
    )
    uploaded_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def download_name(self) -> str:
        extension = self.file.name.rsplit(".", 1)[-1]
        stem = self.original_name.rsplit(".", 1)[0] or "document"
        return f"{stem}.{extension}"
