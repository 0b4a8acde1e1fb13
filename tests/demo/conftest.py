"""The demo, seeded once for every test of this package and rolled back after the last of them.

Seeding takes seconds, and these tests only read the demo (or change it inside their own
transaction), so they share one seeding: it is written inside a transaction that stays open while
the package runs, each test's own transaction nests in it as a savepoint, and leaving the package
rolls it back, so the tests after it find the database as empty as ever. Tests of the seeding
itself (a second seeding, the refusal with DEBUG off) that need an empty database stay outside, in
tests/test_seed_demo.py.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from keyport.facilities.models import Location


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Path]:
    """The seeded demo, and the folder its uploaded files (documents, car photos) went to."""
    media = tmp_path_factory.mktemp("demo-media")
    # What tests/conftest.py's autouse fixtures give each test, which a package fixture runs before.
    quiet = override_settings(
        TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        MEDIA_ROOT=media,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    with django_db_blocker.unblock():
        seeding = transaction.atomic()
        seeding.__enter__()
        try:
            with quiet:
                call_command("seed_demo", force=True, verbosity=0)
        except BaseException:
            transaction.set_rollback(True)
            seeding.__exit__(None, None, None)
            raise
    yield media
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        seeding.__exit__(None, None, None)
        assert not Location.objects.exists(), "the demo outlived its package"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, demo: Path) -> None:
    """The demo's uploaded files stay where the seeding put them (tests/conftest.py's fixture of
    this name would give each test an empty folder)."""
    settings.MEDIA_ROOT = demo
