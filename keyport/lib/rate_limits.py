"""Fixed-window rate limits kept in Django's cache, so every web process counts together."""

import hashlib
import time

from django.core.cache import cache


def rate_limit_allows(*, scope: str, identity: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False once more than `limit` attempts fell in the current window.

    The identity is hashed: cache keys are stored (database cache) and must not hold emails
    or addresses in clear. The database cache's incr is read-then-write, so two requests at the
    same instant can both pass; a limit that is off by one under a race is acceptable here.
    """
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    window = int(time.time() // window_seconds)
    key = f"rate:{scope}:{digest}:{window}"
    cache.add(key, 0, timeout=window_seconds + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds + 5)
        count = 1
    return count <= limit
