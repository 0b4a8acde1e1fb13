"""The project's one rate limiter: exact under parallel requests, and not reset by a full cache."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client

from keyport.lib.models import RateLimitCounter
from keyport.lib.rate_limits import (
    rate_limit_give_back,
    rate_limit_hit,
    rate_limit_reset,
    rate_limit_slow_down,
    rate_limit_window_end,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
LOGIN = "/login/"


def hit(identity: str = "203.0.113.5", limit: int = 3, window: int = 60):
    return rate_limit_hit(scope="test", identity=identity, limit=limit, window_seconds=window)


def test_the_limit_th_attempt_is_accepted_and_the_next_refused_until_the_window_ends() -> None:
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, 15, tzinfo=UTC), tick=False) as traveller:
        assert [hit().allowed for _ in range(4)] == [True, True, True, False]
        assert hit().retry_after == 45
        traveller.shift(dt.timedelta(seconds=44))
        assert not hit().allowed
        traveller.shift(dt.timedelta(seconds=1))
        assert hit().allowed


def test_a_given_back_attempt_is_not_counted() -> None:
    hit(limit=2)
    hit(limit=2)
    rate_limit_give_back(scope="test", identity="203.0.113.5", window_seconds=60)
    assert hit(limit=2).allowed
    assert not hit(limit=2).allowed


def test_a_reset_forgets_every_attempt_of_the_window_and_only_of_that_identity() -> None:
    for _ in range(4):
        hit(limit=2)
        hit(identity="198.51.100.1", limit=2)
    rate_limit_reset(scope="test", identity="203.0.113.5", window_seconds=60)
    assert [hit(limit=2).allowed for _ in range(3)] == [True, True, False]
    assert not hit(identity="198.51.100.1", limit=2).allowed


def test_the_window_end_is_when_a_block_ends() -> None:
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 7, 30, tzinfo=UTC), tick=False):
        assert rate_limit_window_end(window_seconds=900) == dt.datetime(2026, 5, 1, 10, 15, tzinfo=UTC)


def test_filling_the_cache_with_other_keys_does_not_reset_a_limited_address(client, settings) -> None:
    settings.LOGIN_RATE_PER_ADDRESS_PER_MINUTE = 2
    for n in range(2):
        assert client.post(LOGIN, {"email": f"p{n}@example.com"}).status_code == 200
    assert client.post(LOGIN, {"email": "p2@example.com"}).status_code == 429
    for n in range(400):  # past the database cache's 300 entries: it culls a third, oldest keys first
        cache.set(f"zz-filler-{n}", n)
    assert client.post(LOGIN, {"email": "p3@example.com"}).status_code == 429


def test_counters_hold_no_address_or_email_in_clear() -> None:
    hit(identity="203.0.113.5")
    rate_limit_slow_down(
        scope="test-email",
        identity="tenant@example.com",
        free=1,
        first_delay_seconds=60,
        max_delay_seconds=600,
        forget_after_seconds=3600,
    )
    keys = " ".join(RateLimitCounter.objects.values_list("key", flat=True))
    assert "203.0.113.5" not in keys and "tenant@example.com" not in keys


def test_expired_counters_are_deleted_when_a_new_one_starts() -> None:
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC), tick=False) as traveller:
        for n in range(5):
            hit(identity=f"10.0.0.{n}")
        traveller.shift(dt.timedelta(minutes=2))
        hit(identity="10.0.0.99")
    assert RateLimitCounter.objects.count() == 1


def slow_down(**overrides):
    arguments = {"free": 2, "first_delay_seconds": 60, "max_delay_seconds": 600, "forget_after_seconds": 3600}
    return rate_limit_slow_down(scope="test-email", identity="tenant@example.com", **(arguments | overrides))


def test_the_slow_down_lets_a_few_through_then_doubles_the_wait_up_to_its_cap() -> None:
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC), tick=False) as traveller:
        assert slow_down().allowed and slow_down().allowed
        waits = []
        for _ in range(6):
            refused = slow_down()
            assert not refused.allowed
            waits.append(refused.retry_after)
            traveller.shift(dt.timedelta(seconds=refused.retry_after - 1))
            assert not slow_down().allowed  # one second early
            traveller.shift(dt.timedelta(seconds=1))
            assert slow_down().allowed
    assert waits == [60, 120, 240, 480, 600, 600]


def test_the_slow_down_starts_again_after_a_quiet_hour() -> None:
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC), tick=False) as traveller:
        slow_down()
        slow_down()
        assert not slow_down().allowed
        traveller.shift(dt.timedelta(hours=1))
        assert [slow_down().allowed for _ in range(3)] == [True, True, False]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_parallel_sign_in_requests_from_one_address_accept_exactly_the_limit(settings) -> None:
    settings.LOGIN_RATE_PER_ADDRESS_PER_MINUTE = 16
    requests = 32
    start = threading.Barrier(requests)
    statuses: list[int] = []

    def ask(n: int) -> None:
        try:
            start.wait(timeout=30)
            statuses.append(Client().post(LOGIN, {"email": f"p{n}@example.com"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(requests)]
    with time_machine.travel(dt.datetime(2026, 5, 1, 10, 0, 10, tzinfo=UTC), tick=True):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [200] * 16 + [429] * 16


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_parallel_slow_downs_of_one_email_let_exactly_the_free_ones_through() -> None:
    requests = 16
    start = threading.Barrier(requests)
    allowed: list[bool] = []

    def ask() -> None:
        try:
            start.wait(timeout=30)
            allowed.append(slow_down(free=3).allowed)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False] * 13 + [True] * 3
