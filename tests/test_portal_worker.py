"""`make run`'s path: the login page enqueues, the database worker looks the email up and writes
the sign-in email as a file under the mail directory."""

import signal

import pytest
from django.core.management import call_command

from keyport.contacts.models import PortalLink
from keyport.emails.backends import read_message_file
from tests.portal_helpers import LINK


@pytest.fixture
def worker_setup(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EMAIL_BACKEND = "keyport.emails.backends.OneFilePerMessageBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield tmp_path / "mail"
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_requested_link_arrives_as_a_file_after_the_worker_runs(client, worker_setup):
    client.post("/login/", {"email": "tenant@example.com"})
    client.post("/login/", {"email": "nobody@example.com"})
    assert not PortalLink.objects.exists(), "the request itself looks nothing up"
    call_command("run_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)
    files = list(worker_setup.glob("*.eml"))
    assert len(files) == 1
    to, body = read_message_file(files[0])
    assert to == "tenant@example.com"
    assert LINK.search(body)
    assert body.count("http://127.0.0.1:8000/login/link/") == 1
