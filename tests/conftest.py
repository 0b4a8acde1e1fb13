from collections.abc import Iterator

import pytest

from keyport.access.providers.sensorberg.provider import forget_cached_state
from keyport.audit.services import Actor
from tests.factories import StaffUserFactory
from tests.sensorberg_fake import FakeSensorberg


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Tasks run in the enqueuing process unless a test runs the real worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _no_access_sweep(settings):
    """The worker starts the access sweep's chain; tests that want it turn it back on."""
    settings.ACCESS_SWEEP_SECONDS = 0


@pytest.fixture(autouse=True)
def _no_overdue_check(settings):
    """The worker starts the overdue check's chain; tests that want it turn it back on."""
    settings.BILLING_OVERDUE_CHECK_MINUTES = 0


@pytest.fixture(autouse=True)
def _no_task_results_prune(settings):
    """The worker starts the daily pruning of task results; tests that want it turn it back on."""
    settings.TASK_RESULTS_KEEP_DAYS = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Staff passwords hashed in a microsecond, not in PBKDF2's half second: tests make hundreds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded files (documents, car photos, demo data) go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _mail_to_memory(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"


@pytest.fixture
def owner(db):
    return StaffUserFactory(email="owner@keyport.test", full_name="Olga Owner")


@pytest.fixture
def actor(owner):
    return Actor.staff(owner)


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def fake(settings) -> Iterator[FakeSensorberg]:
    """A local fake of Sensorberg's cloud on a free port of 127.0.0.1, which the settings then
    allow, with the adapter's token cache cleared."""
    settings.SENSORBERG_ALLOW_PRIVATE_HOSTS = True
    server = FakeSensorberg().start()
    forget_cached_state()
    yield server
    server.stop()
    forget_cached_state()
