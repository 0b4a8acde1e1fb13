"""Rate limits every web process counts together, kept in a table of their own.

Two kinds:
- `rate_limit_hit`: a fixed window ("20 a minute"). One statement per attempt (INSERT … ON
  CONFLICT DO UPDATE … RETURNING, the same SQL on SQLite and PostgreSQL), so parallel
  requests are counted exactly: the limit-th is accepted, the next is refused.
- `rate_limit_slow_down`: a growing delay ("a few at once, then each one waits twice as long
  as the one before"), for limits that must slow an attacker down without ever locking the
  real person out. A row lock serialises the read and the write.

Counters are rows of RateLimitCounter, not cache entries: a cache may evict a live counter.
Expired rows are deleted whenever a new counter starts, so the table holds only live windows.
The project has one limiter for everything (sign-in links, staff passwords, forms); Redis is
not needed for it even when REDIS_URL is set.
"""

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from keyport.lib.models import RateLimitCounter

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    table, key, count = quote(RateLimitCounter._meta.db_table), quote("key"), quote("count")
    return (
        f"INSERT INTO {table} ({key}, {count}, window_start, last_at, expires_at)"  # noqa: S608 - no input in it
        f" VALUES (%s, 1, %s, %s, %s) ON CONFLICT ({key}) DO UPDATE"
        f" SET {count} = {table}.{count} + 1, last_at = excluded.last_at RETURNING {count}"
    )


@dataclass(frozen=True)
class RateLimitAnswer:
    allowed: bool
    count: int  # attempts counted in the window, this one included (slow_down: accepted ones)
    retry_after: int  # seconds until the next attempt may be accepted; 0 when allowed

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def _key(scope: str, identity: str, suffix: str = "") -> str:
    """Keyed with SECRET_KEY, so a dump of the table does not give emails or addresses back by
    hashing a list of guesses."""
    digest = salted_hmac("keyport.lib.rate_limits", identity, algorithm="sha256").hexdigest()[:40]
    return f"{scope[:40]}:{digest}{suffix}"


def _window(now: dt.datetime, window_seconds: int) -> tuple[int, dt.datetime, dt.datetime]:
    number = int((now - EPOCH).total_seconds() // window_seconds)
    start = EPOCH + dt.timedelta(seconds=number * window_seconds)
    return number, start, start + dt.timedelta(seconds=window_seconds)


def _db(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _prune(now: dt.datetime, *, keep: str) -> None:
    """Delete expired counters, skipping any another request holds (two prunes that waited for
    each other's rows would deadlock)."""
    expired = (
        RateLimitCounter.objects.filter(expires_at__lte=now)
        .exclude(key=keep)
        .select_for_update(skip_locked=True)
        .values("pk")
    )
    with transaction.atomic():
        RateLimitCounter.objects.filter(pk__in=expired).delete()


def rate_limit_hit(*, scope: str, identity: str, limit: int, window_seconds: int) -> RateLimitAnswer:
    """Count one attempt; refused once more than `limit` attempts fell in the current window.

    Refused attempts count too: they do not lengthen the wait, which ends with the window.
    """
    now = timezone.now()
    number, start, end = _window(now, window_seconds)
    key = _key(scope, identity, f":{number}")
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [key, _db(start), _db(now), _db(end)])
        count = int(cursor.fetchone()[0])
    if count == 1:
        _prune(now, keep=key)
    allowed = count <= limit
    return RateLimitAnswer(allowed=allowed, count=count, retry_after=0 if allowed else _seconds(end - now))


def rate_limit_allows(*, scope: str, identity: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False once more than `limit` attempts fell in the current window."""
    return rate_limit_hit(scope=scope, identity=identity, limit=limit, window_seconds=window_seconds).allowed


def rate_limit_give_back(*, scope: str, identity: str, window_seconds: int) -> None:
    """Uncount one attempt of the current window (one that turned out not to be what is limited,
    such as a sign-in with the right password)."""
    number, _, _ = _window(timezone.now(), window_seconds)
    RateLimitCounter.objects.filter(key=_key(scope, identity, f":{number}"), count__gt=0).update(
        count=F("count") - 1
    )


def rate_limit_reset(*, scope: str, identity: str, window_seconds: int) -> None:
    """Forget every attempt of the current window (a staff member's wrong passwords once they
    gave the right one)."""
    number, _, _ = _window(timezone.now(), window_seconds)
    RateLimitCounter.objects.filter(key=_key(scope, identity, f":{number}")).delete()


def rate_limit_window_end(*, window_seconds: int) -> dt.datetime:
    """When the current window ends, and with it a block `rate_limit_hit` answers in it."""
    _, _, end = _window(timezone.now(), window_seconds)
    return end


@transaction.atomic
def rate_limit_slow_down(
    *,
    scope: str,
    identity: str,
    free: int,
    first_delay_seconds: int,
    max_delay_seconds: int,
    forget_after_seconds: int,
) -> RateLimitAnswer:
    """Accept `free` attempts at once, then each next one only after a delay since the last one
    accepted: `first_delay_seconds`, doubling each time, at most `max_delay_seconds`. Refused
    attempts do not count and do not lengthen the delay. The count starts again once nothing was
    accepted for `forget_after_seconds`.
    """
    now = timezone.now()
    key = _key(scope, identity)
    forget_at = now + dt.timedelta(seconds=forget_after_seconds)
    RateLimitCounter.objects.bulk_create(
        [RateLimitCounter(key=key, count=0, window_start=now, last_at=now, expires_at=forget_at)],
        ignore_conflicts=True,
    )
    counter = RateLimitCounter.objects.select_for_update().get(key=key)
    if counter.expires_at <= now:
        counter.count, counter.window_start = 0, now
    if counter.count == 0:
        _prune(now, keep=key)
    if counter.count >= free:
        delay = min(first_delay_seconds * 2 ** (counter.count - free), max_delay_seconds)
        wait = counter.last_at + dt.timedelta(seconds=delay) - now
        if wait > dt.timedelta(0):
            counter.save(update_fields=["count", "window_start"])
            return RateLimitAnswer(allowed=False, count=counter.count, retry_after=_seconds(wait))
    counter.count += 1
    counter.last_at = now
    counter.expires_at = forget_at
    counter.save(update_fields=["count", "window_start", "last_at", "expires_at"])
    return RateLimitAnswer(allowed=True, count=counter.count, retry_after=0)


def _seconds(delta: dt.timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
