import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from keyport.access.models import AccessEvent, AccessGrant, GrantState
from keyport.access.services import share_delete
from keyport.access.tasks import access_sweep
from keyport.audit.services import Actor
from keyport.lib.periodic import chain_ensure_scheduled
from tests import cast

pytestmark = pytest.mark.django_db
UTC = dt.UTC
KEY = re.compile(r"/key/(?P<key>[A-Za-z0-9_-]+)/")


@pytest.fixture
def shared(site, tenant, django_capture_on_commit_callbacks):
    """The owner tenant, booked on 2 March, shares A001 from 3 to 9 March: the share and its key."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site)
        with django_capture_on_commit_callbacks(execute=True):
            share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 9))
    key = KEY.search(mail.outbox[-1].body)["key"]
    return share, key


def test_the_guest_page_says_when_access_starts_then_opens_then_says_it_ended(client, shared, site) -> None:
    share, key = shared
    with time_machine.travel(dt.datetime(2026, 3, 2, 22, 59, 59, tzinfo=UTC), tick=False):
        page = client.get(f"/key/{key}/").content.decode()
        assert "Your access starts on Tue 3 Mar 2026 (Europe/Berlin time)" in page
        assert share.holder.pin not in page
        response = client.post(f"/key/{key}/open/{site.door.pk}/", follow=True)
        assert response.context["decision"].reason == "outside_window"
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False):
        page = client.get(f"/key/{key}/").content.decode()
        assert share.holder.pin in page and "Open Main door" in page and "Open A001 lock" in page
        # The window in the same words as the Shared Access email, the last day included.
        window = "from Tue 3 Mar 2026 to the end of Mon 9 Mar 2026 (Europe/Berlin time)"
        assert window in mail.outbox[-1].body and "F" + window[1:] in page
        response = client.post(f"/key/{key}/open/{site.door.pk}/", follow=True)
        assert response.context["decision"].allowed
        assert AccessEvent.objects.filter(channel="guest", allowed=True, holder=share.holder).count() == 1
    with time_machine.travel(dt.datetime(2026, 3, 9, 23, tzinfo=UTC), tick=False):
        page = client.get(f"/key/{key}/").content.decode()
        assert "Your access ended" in page and share.holder.pin not in page


def test_a_deleted_share_page_opens_nothing_and_a_wrong_key_is_404(client, shared, site, other_site) -> None:
    share, key = shared
    share_delete(actor=Actor.system("t"), share=share)
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False):
        assert "withdrawn" in client.get(f"/key/{key}/").content.decode()
        response = client.post(f"/key/{key}/open/{site.door.pk}/", follow=True)
        assert response.context["decision"].reason == "revoked"
    assert client.get("/key/not-a-key/").status_code == 404
    assert client.post(f"/key/{key}/open/{other_site.door.pk}/").status_code == 404


def test_open_answers_with_a_redirect_and_a_refresh_does_not_open_again(client, shared, site) -> None:
    share, key = shared
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False):
        response = client.post(f"/key/{key}/open/{site.door.pk}/")
        assert response.status_code == 302 and response["Location"] == f"/key/{key}/"
        page = client.get(f"/key/{key}/").content.decode()
        assert 'id="open-result"' in page and "Main door is open." in page
        refreshed = client.get(f"/key/{key}/").content.decode()
        assert 'id="open-result"' not in refreshed
    assert AccessEvent.objects.filter(channel="guest", holder=share.holder).count() == 1


def test_a_door_that_did_not_open_says_why_after_the_redirect(client, shared, site) -> None:
    share, key = shared
    with time_machine.travel(dt.datetime(2026, 3, 2, 22, 59, 59, tzinfo=UTC), tick=False):
        page = client.post(f"/key/{key}/open/{site.door.pk}/", follow=True).content.decode()
    assert "Main door did not open. Your access is not valid at this time." in page


def test_the_sweep_catches_up_after_downtime_and_queues_its_next_run(settings, site, tenant) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        cast.book(tenant, site, ends_on=dt.date(2026, 3, 5))
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.ACCESS_SWEEP_SECONDS = 30
    with time_machine.travel(dt.datetime(2026, 3, 8, 9, tzinfo=UTC), tick=False):  # the worker was down
        assert chain_ensure_scheduled(access_sweep) is True
        assert chain_ensure_scheduled(access_sweep) is False  # one chain only
        result = access_sweep.call(True)
        assert result["ended"] == 3
        assert not AccessGrant.objects.filter(state=GrantState.ACTIVE).exists()
        queued = DBTaskResult.objects.filter(
            task_path=access_sweep.module_path, status=TaskResultStatus.READY
        )
        assert queued.count() == 2
        assert dt.datetime(2026, 3, 8, 9, 0, 30, tzinfo=UTC) in {q.run_after for q in queued}


def test_a_booking_end_is_scheduled_for_its_end_instant(
    settings, django_capture_on_commit_callbacks, site, tenant
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    from keyport.access.tasks import booking_access_end

    with (
        time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 5))
    ends = [r for r in default_task_backend.results if r.task.func is booking_access_end.func]
    assert [r.task.run_after for r in ends] == [dt.datetime(2026, 3, 5, 23, tzinfo=UTC)]
    assert ends[0].args == [booking.pk]
