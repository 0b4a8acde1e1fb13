"""What the list benchmarks share: an owner signed in to the test client, and a page's median time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def signed_in_owner() -> tuple[Any, Any]:
    """The benchmarks' owner (a superuser, so the admin opens too) and a test client signed in as them."""
    from django.test import Client

    from keyport.staff.models import StaffUser

    owner = StaffUser.objects.filter(email="bench-owner@keyport.test").first()
    if owner is None:
        owner = StaffUser.objects.create_superuser("bench-owner@keyport.test", None, full_name="Bench Owner")
    client = Client()
    client.force_login(owner)
    return owner, client


def median_get(client: object, url: str, requests: int) -> float:
    """Seconds a request of the page takes, median of `requests` after a warm-up."""
    get: Callable[[str], object] = client.get  # type: ignore[attr-defined]
    response = get(url)  # warm-up; a new filter is remembered once, here
    assert response.status_code == 200, (url, response.status_code)  # type: ignore[attr-defined]
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        get(url)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
