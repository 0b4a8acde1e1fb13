import datetime as dt

from django.db import models
from django.utils import timezone


class RateLimitCounter(models.Model):
    """How often one identity (an address, an email, an account) did one thing lately.

    A table of its own, not the cache: a cache may evict or cull a live counter (the database
    cache culls a third of its entries when full), which would let anyone reset a limit by
    filling it with other keys. Rows are deleted once they expire. The key holds a keyed hash
    of the identity, never the identity itself.
    """

    key = models.CharField(max_length=100, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(help_text="When the count began.")
    last_at = models.DateTimeField(help_text="When the last counted attempt was.")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class OneTimeLink(models.Model):
    """A link sent by email that works once, until it expires or a newer one voids it. Only the
    SHA-256 of its token is kept (keyport.lib.tokens.token_hash)."""

    token_hash = models.CharField(max_length=64, unique=True)
    sent_to = models.EmailField(help_text="The address the link was sent to.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def is_usable_at(self, when: dt.datetime) -> bool:
        return self.used_at is None and self.voided_at is None and when < self.expires_at
