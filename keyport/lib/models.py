from django.db import models


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
