"""The Sensorberg adapter and the sync outbox against a local fake of the vendor's cloud."""

import datetime as dt
import time

import pytest
from django.db import transaction
from django.utils import timezone

from keyport.access.location_settings import SensorbergCredentials, location_set_access_provider
from keyport.access.models import (
    AccessGrant,
    GrantState,
    SensorbergAccount,
    SyncIntent,
    SyncIntentStatus,
    SyncState,
)
from keyport.access.providers.sensorberg import provider as sensorberg
from keyport.access.services import (
    SYNC_MAX_ATTEMPTS,
    booking_restore_access,
    booking_revoke_access,
    share_delete,
    sync_intent_process,
    sync_reconcile,
    sync_redrive,
)
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from tests import cast
from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
LATER = dt.timedelta(days=1)


def connect(site, tenant, fake: FakeSensorberg, *, fail_first: int = 0) -> Booking:
    """The owner tenant books the site from today, then the site moves to Sensorberg: the booking's
    grants are made again and pushed, the first `fail_first` pushes answered with a 5xx."""
    from keyport.facilities.models import Location

    today = timezone.localdate()
    # The account must exist before the booking's grants are pushed, so build in two steps.
    booking = cast.book(tenant, site, starts_on=today)
    Location.objects.filter(pk=site.location.pk).update(access_provider="sensorberg")
    site.location.refresh_from_db()
    SensorbergAccount.objects.create(
        location=site.location, base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    for unit in site.units:
        fake.add_group(unit.number)
    fake.fail_next(fail_first)
    from keyport.access.services import grants_sync_for_customer

    AccessGrant.objects.filter(booking=booking).delete()
    grants_sync_for_customer(actor=ACTOR, customer=tenant.customer)
    booking.location.refresh_from_db()
    return booking


def drain(times: int = 1, *, ahead: dt.timedelta = LATER) -> None:
    for _ in range(times):
        sync_redrive(now=timezone.now() + ahead)


def test_grants_become_group_memberships_with_pin_and_validity(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    assert AccessGrant.objects.filter(sync_state=SyncState.PENDING).count() == 3
    drain()
    members = fake.members("A001")
    [(ref, body)] = members.items()
    grant = AccessGrant.objects.get(unit=site.units[0])
    assert ref == grant.membership_ref
    assert body["credential"] == {"type": "pin", "code": site.holder(tenant).pin}
    assert body["valid_from"] == grant.starts_at.isoformat() and body["valid_until"] is None
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}
    assert all(key for _, _, key in fake.state.writes)  # every write carries an Idempotency-Key


def test_the_provider_down_for_a_while_then_back_nothing_lost_nothing_doubled(fake, site, tenant) -> None:
    booking = connect(site, tenant, fake)
    drain()
    share = cast.share(
        booking, "friend@example.com", timezone.localdate(), timezone.localdate() + dt.timedelta(days=3)
    )
    fake.fail_next(2, 503)
    drain(2)  # the push fails twice
    grant = share.grants.get()
    assert grant.sync_state == SyncState.PENDING and "503" in grant.sync_error
    share_delete(actor=ACTOR, share=share)  # revoked while the provider is down
    fake.fail_next(2, 502)
    drain()
    assert SyncIntent.objects.filter(grant=grant, status=SyncIntentStatus.PENDING).count() == 1
    drain(3)  # back up
    assert grant.membership_ref not in fake.members("A001")
    assert AccessGrant.objects.get(pk=grant.pk).sync_state == SyncState.SYNCED
    assert not SyncIntent.objects.filter(status=SyncIntentStatus.PENDING).exists()
    # The tenant's own memberships were pushed once each and are still there.
    puts = [path for method, path, _ in fake.state.writes if method == "PUT"]
    assert len(puts) == len(set(puts))
    assert len(fake.members("A001")) == 1


def test_revoke_reaches_the_provider_and_restore_puts_it_back(fake, site, tenant) -> None:
    booking = connect(site, tenant, fake)
    cast.share(
        booking, "friend@example.com", timezone.localdate(), timezone.localdate() + dt.timedelta(days=3)
    )
    drain()
    assert len(fake.members("A001")) == 2
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    drain()
    assert fake.members("A001") == {} and fake.members("A002") == {}
    booking_restore_access(actor=ACTOR, booking=booking)
    drain()
    assert len(fake.members("A001")) == 2


def test_timeouts_429_and_expired_tokens_are_retried(fake, monkeypatch, site, tenant) -> None:
    monkeypatch.setattr(sensorberg, "TIMEOUT_SECONDS", 0.3)
    connect(site, tenant, fake)
    fake.slow_next(1, 1.0)
    drain()
    intent = SyncIntent.objects.filter(status=SyncIntentStatus.PENDING).order_by("pk").first()
    assert intent is not None and "did not answer" in intent.last_error
    fake.rate_limit_next(1, 120)
    drain()
    limited = SyncIntent.objects.filter(last_error__contains="429").get()
    assert limited.next_attempt_at >= timezone.now() + dt.timedelta(seconds=119)
    drain(3)
    assert not SyncIntent.objects.filter(status=SyncIntentStatus.PENDING).exists()
    fake.expire_tokens()
    from keyport.access.services import grants_push_for_location

    writes = len(fake.state.writes)
    with transaction.atomic():
        grants_push_for_location(location=site.location)  # every grant sent again, on an old token
    drain()
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}
    assert len(fake.state.writes) == writes + 3


def test_backoff_is_capped_then_the_grant_shows_failed(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    fake.fail_next(1000, 500)
    for _ in range(SYNC_MAX_ATTEMPTS + 2):
        sync_redrive(now=timezone.now() + dt.timedelta(days=1))
    grants = AccessGrant.objects.all()
    assert {g.sync_state for g in grants} == {SyncState.FAILED}
    assert all("500" in g.sync_error for g in grants)
    assert SyncIntent.objects.filter(status=SyncIntentStatus.FAILED).count() == 3


def test_reconcile_re_drives_what_drifted(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    drain()
    group = fake.state.groups["A001"]
    fake.state.memberships[group].clear()  # someone deleted it in the vendor's dashboard
    fake.state.memberships[group]["keyport-grant-999999"] = {"email": "stale@example.com"}
    assert sync_reconcile(location=site.location) == 2  # one missing, one with no grant behind it
    drain()
    assert list(fake.members("A001")) == [site.holder(tenant).grants.get(unit=site.units[0]).membership_ref]
    assert AuditEntry.objects.filter(action="access.orphan_memberships_removed").count() == 1
    assert sync_reconcile(location=site.location) == 0


def test_reconcile_in_slices_goes_through_every_unit_in_turn(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    drain()
    for unit in site.units:
        fake.state.memberships[fake.state.groups[unit.number]].clear()
    read_back = len(fake.state.answers)
    assert sync_reconcile(location=site.location, units=2) == 2  # A001 and A002
    asked = [path for method, path, _ in fake.state.answers[read_back:] if method == "GET"]
    assert len([path for path in asked if path.endswith("/memberships")]) == 2
    assert sync_reconcile(location=site.location, units=2) == 1  # A003, then from the first again
    drain()
    assert all(fake.members(unit.number) for unit in site.units)
    assert sync_reconcile(location=site.location, units=2) == 0
    assert sync_reconcile(location=site.location, units=2) == 0


def test_reconcile_in_slices_goes_on_where_it_stopped_when_the_cache_is_emptied(fake, site, tenant) -> None:
    from django.core.cache import cache

    connect(site, tenant, fake)
    drain()
    for unit in site.units:
        fake.state.memberships[fake.state.groups[unit.number]].clear()
    assert sync_reconcile(location=site.location, units=2) == 2  # A001 and A002
    cache.clear()  # culled, evicted or cleared: the cursor is not in it
    read_back = len(fake.state.answers)
    assert sync_reconcile(location=site.location, units=2) == 1  # A003
    asked = [path for method, path, _ in fake.state.answers[read_back:] if method == "GET"]
    group = fake.state.groups["A003"]
    assert [path for path in asked if path.endswith("/memberships")] == [
        path for path in asked if path.endswith(f"{group}/memberships")
    ]


def test_reconcile_puts_back_a_membership_changed_at_the_vendor(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    drain()
    grant = site.holder(tenant).grants.get(unit=site.units[0])
    group = fake.state.groups["A001"]
    fake.state.memberships[group][grant.membership_ref]["valid_until"] = "2020-01-01T00:00:00+00:00"
    fake.state.memberships[group][grant.membership_ref]["credential"] = {"type": "pin", "code": "000000"}
    assert sync_reconcile(location=site.location) == 1
    drain()
    held = fake.members("A001")[grant.membership_ref]
    assert held["valid_until"] is None and held["credential"]["code"] == site.holder(tenant).pin
    assert sync_reconcile(location=site.location) == 0


def test_the_secret_is_masked_and_not_in_repr(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    account = SensorbergAccount.objects.get(location=site.location)
    assert CLIENT_SECRET not in repr(account) and CLIENT_SECRET not in account.masked_secret
    provider = sensorberg.SensorbergProvider.for_location(site.location)
    assert CLIENT_SECRET not in repr(provider)


def test_the_admin_shows_the_login_without_its_secret_and_cannot_change_it(
    fake, admin_client, site, tenant
) -> None:
    connect(site, tenant, fake)
    account = SensorbergAccount.objects.get(location=site.location)
    url = f"/admin/access/sensorbergaccount/{account.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and account.client_id in page.content.decode()
    assert CLIENT_SECRET not in page.content.decode()
    data = {"location": site.location.pk, "base_url": "http://example.com", "client_id": "x"}
    assert admin_client.post(url, data).status_code == 403
    assert SensorbergAccount.objects.get(pk=account.pk).base_url == account.base_url


def test_a_push_that_lands_after_its_grant_was_revoked_is_taken_back(fake, monkeypatch, site, tenant) -> None:
    booking = connect(site, tenant, fake)
    drain()
    today = timezone.localdate()
    share = cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=3))
    real_push = sensorberg.SensorbergProvider.push

    def slow_push(self, grant, *, idempotency_key):
        # While this push is in flight, the tenant deletes the share and another worker removes it.
        monkeypatch.setattr(sensorberg.SensorbergProvider, "push", real_push)
        share_delete(actor=ACTOR, share=share)
        drain()
        real_push(self, grant, idempotency_key=idempotency_key)

    monkeypatch.setattr(sensorberg.SensorbergProvider, "push", slow_push)
    drain()
    grant = share.grants.get()
    assert grant.membership_ref in fake.members("A001")  # the late push landed...
    drain()
    assert grant.membership_ref not in fake.members("A001")  # ...and was taken back


def test_a_contact_email_change_is_pushed_with_the_membership(fake, site, tenant) -> None:
    from keyport.contacts.services import ContactDetails
    from keyport.frontdesk.services import contact_update

    connect(site, tenant, fake)
    drain()
    details = ContactDetails(
        first_name=tenant.first_name,
        last_name=tenant.last_name,
        email="moved@example.com",
        phone=tenant.phone,
        can_access_portal=True,
    )
    contact_update(actor=ACTOR, contact=tenant, details=details)
    assert AccessGrant.objects.filter(sync_state=SyncState.PENDING).count() == 3
    drain()
    [(_, body)] = fake.members("A001").items()
    assert body["email"] == "moved@example.com"


def test_switching_a_location_to_sensorberg_pushes_its_current_grants(fake, site, tenant) -> None:
    from keyport.access.location_settings import SensorbergCredentials, location_set_access_provider

    cast.book(tenant, site, starts_on=timezone.localdate())
    for unit in site.units:
        fake.add_group(unit.number)
    location_set_access_provider(
        actor=ACTOR,
        location=site.location,
        provider="sensorberg",
        sensorberg=SensorbergCredentials(
            base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ),
    )
    assert AccessGrant.objects.filter(sync_state=SyncState.PENDING).count() == 3
    drain()
    assert len(fake.members("A001")) == 1
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}


def test_a_new_client_secret_alone_pushes_no_grants_but_a_new_client_id_does(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    drain()
    intents = SyncIntent.objects.count()

    location_set_access_provider(
        actor=ACTOR,
        location=site.location,
        provider="sensorberg",
        sensorberg=SensorbergCredentials(
            base_url=fake.base_url, client_id=CLIENT_ID, client_secret="rotated"
        ),
    )
    assert SyncIntent.objects.count() == intents
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}
    entry = AuditEntry.objects.filter(action="location.access_provider_set").latest("pk")
    assert entry.details == {"changed": {"sensorberg_client_secret": "changed"}}

    location_set_access_provider(
        actor=ACTOR,
        location=site.location,
        provider="sensorberg",
        sensorberg=SensorbergCredentials(base_url=fake.base_url, client_id="new-client"),
    )
    assert SyncIntent.objects.count() == intents + 3
    entry = AuditEntry.objects.filter(action="location.access_provider_set").latest("pk")
    assert entry.details["changed"]["grants_pushed"] == 3


def test_an_intent_is_sent_once_while_its_lease_runs_and_not_before_it_is_due(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    intent = SyncIntent.objects.order_by("pk").first()
    assert intent is not None
    SyncIntent.objects.filter(pk=intent.pk).update(next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
    sync_intent_process(intent_id=intent.pk)  # a retry's task running early, or the sweep
    assert fake.state.writes == []
    SyncIntent.objects.filter(pk=intent.pk).update(
        status=SyncIntentStatus.SENDING, next_attempt_at=timezone.now() + dt.timedelta(seconds=30)
    )
    sync_intent_process(intent_id=intent.pk)  # another worker is sending it
    assert fake.state.writes == []
    sync_redrive(now=timezone.now() + dt.timedelta(minutes=1))  # that worker died: its lease runs out
    assert (
        len(fake.state.writes) == 3 and SyncIntent.objects.get(pk=intent.pk).status == SyncIntentStatus.DONE
    )


def test_a_share_deleted_while_its_push_is_on_the_way_ends_removed(fake, monkeypatch, site, tenant) -> None:
    booking = connect(site, tenant, fake)
    drain()
    share = cast.share(
        booking, "friend@example.com", timezone.localdate(), timezone.localdate() + dt.timedelta(days=3)
    )
    grant = share.grants.get()
    (first,) = SyncIntent.objects.filter(grant=grant, status=SyncIntentStatus.PENDING)
    real_push = sensorberg.SensorbergProvider.push
    deletes_sent_meanwhile = []

    def push_while_the_tenant_deletes(provider, pushed, *, idempotency_key):
        share_delete(actor=ACTOR, share=share)
        (second,) = SyncIntent.objects.filter(grant=grant, status=SyncIntentStatus.PENDING)
        sync_intent_process(intent_id=second.pk)  # another worker takes the removal at once
        deletes_sent_meanwhile.extend(m for m, _, _ in fake.state.writes if m == "DELETE")
        real_push(provider, pushed, idempotency_key=idempotency_key)  # the push lands after it

    monkeypatch.setattr(sensorberg.SensorbergProvider, "push", push_while_the_tenant_deletes)
    sync_intent_process(intent_id=first.pk)
    monkeypatch.setattr(sensorberg.SensorbergProvider, "push", real_push)
    assert deletes_sent_meanwhile == []  # the removal waited for the push
    drain()
    assert grant.membership_ref not in fake.members("A001")
    assert AccessGrant.objects.get(pk=grant.pk).sync_state == SyncState.SYNCED
    assert list(SyncIntent.objects.filter(grant=grant).values_list("operation", "status")) == [
        ("upsert", "done"),
        ("delete", "done"),
    ]


def test_a_fault_of_any_kind_is_a_failed_attempt_and_the_others_go_on(
    fake, monkeypatch, site, tenant
) -> None:
    connect(site, tenant, fake)
    real_push = sensorberg.SensorbergProvider.push

    def push_a001_breaks(provider, grant, *, idempotency_key):
        if grant.unit.number == "A001":
            raise KeyError("items")
        real_push(provider, grant, idempotency_key=idempotency_key)

    monkeypatch.setattr(sensorberg.SensorbergProvider, "push", push_a001_breaks)
    drain()
    broken = AccessGrant.objects.get(unit__number="A001")
    assert broken.sync_state == SyncState.PENDING and "could not send" in broken.sync_error
    assert set(AccessGrant.objects.exclude(pk=broken.pk).values_list("sync_state", flat=True)) == {
        SyncState.SYNCED
    }
    monkeypatch.setattr(sensorberg.SensorbergProvider, "push", real_push)
    drain()
    assert AccessGrant.objects.get(pk=broken.pk).sync_state == SyncState.SYNCED


def test_grants_of_several_locations_each_go_to_their_own_provider(
    fake, site, tenant, other_site, other_tenant
) -> None:
    booking = connect(site, tenant, fake)
    drain()
    builtin = cast.book(other_tenant, other_site, starts_on=timezone.localdate())
    both = list(AccessGrant.objects.filter(booking__in=[builtin, booking]).order_by("-pk"))
    from keyport.access.services.grants import _end_grants

    with transaction.atomic():
        _end_grants(both, state=GrantState.REVOKED, reason="test")  # the built-in location's first
    drain()
    assert fake.members("A001") == {} and fake.members("A002") == {}
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}


def test_the_sweep_reconciles_every_location_when_one_has_no_login_yet(
    fake, site, tenant, other_site, other_tenant
) -> None:
    from keyport.access.tasks import access_sweep_run
    from keyport.facilities.models import Location

    cast.book(other_tenant, other_site, starts_on=timezone.localdate())
    Location.objects.filter(pk=other_site.location.pk).update(access_provider="sensorberg")
    connect(site, tenant, fake)
    drain()
    group = fake.state.groups["A001"]
    fake.state.memberships[group].clear()
    assert access_sweep_run()["reconciled"] == 1
    drain()
    assert site.holder(tenant).grants.get(unit=site.units[0]).membership_ref in fake.members("A001")


def test_leaving_sensorberg_removes_there_everything_even_while_it_is_down(fake, site, tenant) -> None:
    from django.core.exceptions import ValidationError

    booking = connect(site, tenant, fake)
    share = cast.share(
        booking, "friend@example.com", timezone.localdate(), timezone.localdate() + dt.timedelta(days=3)
    )
    drain()
    assert len(fake.members("A001")) == 2
    fake.fail_next(1000, 503)
    share_delete(actor=ACTOR, share=share)
    drain(2)  # Sensorberg is down: the removal waits
    other_account = SensorbergCredentials(
        base_url=fake.base_url, client_id="another-client", client_secret="s"
    )
    with pytest.raises(ValidationError, match="still sending 1 access change to this Sensorberg account"):
        location_set_access_provider(
            actor=ACTOR, location=site.location, provider="sensorberg", sensorberg=other_account
        )
    location_set_access_provider(actor=ACTOR, location=site.location, provider="builtin")
    with transaction.atomic():  # a change at the built-in location while the removals still wait
        booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.PENDING}
    fake.state.failures.clear()  # back up
    drain()
    assert fake.members("A001") == {} and fake.members("A002") == {}
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}
    entry = AuditEntry.objects.filter(action="location.access_provider_set").latest("pk")
    assert entry.details["changed"]["grants_removed"] == 4  # the three current, the deleted share's
    booking_restore_access(actor=ACTOR, booking=booking)  # nothing to send now
    assert not SyncIntent.objects.filter(status=SyncIntentStatus.PENDING).exists()


def test_staff_retry_sends_failed_grants_again_from_the_first_attempt(
    fake, site, tenant, other_site, other_tenant
) -> None:
    from keyport.access.queries import grants_failed_to_sync
    from keyport.access.services import sync_intent_retry

    connect(site, tenant, fake)
    other = cast.book(other_tenant, other_site, starts_on=timezone.localdate())
    fake.fail_next(1000, 500)
    for _ in range(SYNC_MAX_ATTEMPTS):
        sync_redrive(now=timezone.now() + dt.timedelta(days=1))
    failed = list(grants_failed_to_sync(site.location))
    assert len(failed) == 3
    fake.state.failures.clear()
    others = list(AccessGrant.objects.filter(booking=other))
    assert sync_intent_retry(actor=ACTOR, location=site.location, grants=failed + others) == 3
    assert sync_intent_retry(actor=ACTOR, location=site.location, grants=failed) == 0  # pending now
    drain()
    assert not grants_failed_to_sync(site.location).exists()
    assert len(fake.members("A001")) == 1
    entry = AuditEntry.objects.get(action="access.sync_retried")
    assert sorted(entry.details["grants"]) == sorted(g.pk for g in failed)


def test_staff_see_what_failed_on_the_location_page_and_retry_it(fake, client, owner, site, tenant) -> None:
    from django.urls import reverse

    from keyport.staff.models import Role
    from tests.factories import StaffUserFactory

    booking = connect(site, tenant, fake)
    fake.fail_next(1000, 500)
    for _ in range(SYNC_MAX_ATTEMPTS):
        sync_redrive(now=timezone.now() + dt.timedelta(days=1))
    fake.state.failures.clear()
    employee = StaffUserFactory(email="employee@keyport.test", role=Role.EMPLOYEE, all_locations=True)
    client.force_login(employee)
    location_url = reverse("dashboard:location_detail", args=[site.location.pk])
    page = client.get(location_url).content.decode()
    assert "provider-sync" in page and "Sensorberg answered 500" in page and "Retry all failed" not in page
    retry_all = reverse("dashboard:location_sync_retry", args=[site.location.pk])
    assert client.post(retry_all).status_code == 403
    client.force_login(owner)
    grant = AccessGrant.objects.filter(unit=site.units[0]).get()
    booking_page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert reverse("dashboard:grant_sync_retry", args=[booking.pk, grant.pk]) in booking_page
    client.post(reverse("dashboard:grant_sync_retry", args=[booking.pk, grant.pk]))
    drain()
    assert list(fake.members("A001")) == [grant.membership_ref] and fake.members("A002") == {}
    assert "Retry all failed" in client.get(location_url).content.decode()
    response = client.post(retry_all, follow=True)
    assert "2 changes sent to the provider again." in response.content.decode()
    drain()
    assert "provider-sync" not in client.get(location_url).content.decode()
    assert len(fake.members("A002")) == 1


def test_removals_that_failed_before_leaving_sensorberg_still_get_there(fake, site, tenant) -> None:
    from keyport.access.services import sync_intent_retry

    booking = connect(site, tenant, fake)
    drain()
    fake.fail_next(100_000, 503)
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    for _ in range(SYNC_MAX_ATTEMPTS):
        sync_redrive(now=timezone.now() + dt.timedelta(days=1))
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.FAILED}
    location_set_access_provider(actor=ACTOR, location=site.location, provider="builtin")
    for _ in range(SYNC_MAX_ATTEMPTS):  # still down: the removals fail once more
        sync_redrive(now=timezone.now() + dt.timedelta(days=1))
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.FAILED}
    fake.state.failures.clear()  # back up; staff retry
    site.location.refresh_from_db()
    retried = sync_intent_retry(
        actor=ACTOR, location=site.location, grants=AccessGrant.objects.select_related("booking__location")
    )
    assert retried == 3
    drain()
    assert fake.members("A001") == {} and fake.members("A002") == {}
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the fake never got there"
        time.sleep(0.02)


@pytest.fixture
def late_push_booking(site, tenant, fake, monkeypatch, settings):
    """The owner tenant's booking at a Sensorberg site in sync, whose calls time out after 0.3 s
    and whose pushes that got no answer may land for 30 s."""
    monkeypatch.setattr(sensorberg, "TIMEOUT_SECONDS", 0.3)
    settings.SENSORBERG_LATE_PUSH_SECONDS = 30
    booking = connect(site, tenant, fake)
    drain()
    return booking


def membership_path(fake: FakeSensorberg, grant: AccessGrant) -> str:
    return f"/v1/access-groups/{fake.state.groups['A001']}/memberships/{grant.membership_ref}"


def pending_intent(grant: AccessGrant) -> SyncIntent:
    (intent,) = SyncIntent.objects.filter(grant=grant, status=SyncIntentStatus.PENDING)
    return intent


def test_a_removal_answered_404_while_a_timed_out_push_may_still_land_is_sent_again_after_it(
    fake, late_push_booking, site, tenant
) -> None:
    booking = late_push_booking
    today = timezone.localdate()
    share = cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=3))
    grant = share.grants.get()
    fake.slow_next(1, 1.0, method="PUT")  # Sensorberg applies the push after Keyport gave up on it
    push = pending_intent(grant)
    sync_intent_process(intent_id=push.pk)
    assert "did not answer within 0.3 seconds" in SyncIntent.objects.get(pk=push.pk).last_error
    share_delete(actor=ACTOR, share=share)  # revoked while the push is still on its way there
    sync_intent_process(intent_id=pending_intent(grant).pk)
    path = membership_path(fake, grant)
    assert ("DELETE", path, 404) in fake.state.answers  # nothing there yet to remove
    assert AccessGrant.objects.get(pk=grant.pk).sync_state == SyncState.PENDING

    wait_until(lambda: grant.membership_ref in fake.members("A001"))  # the late push lands
    grant.refresh_from_db()
    assert grant.sync_state == SyncState.PENDING and "may still arrive" in grant.sync_error
    sync_redrive()  # while the push may still land, the removal waits
    assert grant.membership_ref in fake.members("A001")
    sync_redrive(now=timezone.now() + dt.timedelta(seconds=31))  # then it is sent again
    assert grant.membership_ref not in fake.members("A001")
    grant.refresh_from_db()
    assert (grant.sync_state, grant.sync_error) == (SyncState.SYNCED, "")
    assert not SyncIntent.objects.filter(grant=grant, status=SyncIntentStatus.PENDING).exists()


def test_a_removal_that_found_the_membership_is_sent_again_while_a_newer_push_may_land(
    fake, late_push_booking, site, tenant
) -> None:
    from keyport.access.services import grants_push_for_location

    booking = late_push_booking
    grant = site.holder(tenant).grants.get(unit=site.units[0])
    with transaction.atomic():
        grants_push_for_location(location=site.location)  # every grant sent again
    fake.slow_next(1, 1.0, method="PUT")
    sync_intent_process(intent_id=pending_intent(grant).pk)  # this one gets no answer
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    sync_intent_process(intent_id=pending_intent(grant).pk)  # removes the membership pushed before
    path = membership_path(fake, grant)
    assert ("DELETE", path, 204) in fake.state.answers
    wait_until(lambda: grant.membership_ref in fake.members("A001"))  # the late push holds it again
    assert AccessGrant.objects.get(pk=grant.pk).sync_state == SyncState.PENDING
    drain(ahead=dt.timedelta(seconds=31))
    assert fake.members("A001") == {} and fake.members("A002") == {}
    assert set(AccessGrant.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}


def test_a_removal_after_the_late_push_window_is_done_at_once(fake, late_push_booking, site, tenant) -> None:
    booking = late_push_booking
    today = timezone.localdate()
    share = cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=3))
    grant = share.grants.get()
    fake.slow_next(1, 1.0, method="PUT")
    sync_intent_process(intent_id=pending_intent(grant).pk)
    wait_until(lambda: grant.membership_ref in fake.members("A001"))
    share_delete(actor=ACTOR, share=share)
    deletes = len([write for write in fake.state.writes if write[0] == "DELETE"])
    sync_intent_process(intent_id=pending_intent(grant).pk, now=timezone.now() + dt.timedelta(seconds=31))
    assert grant.membership_ref not in fake.members("A001")
    assert len([write for write in fake.state.writes if write[0] == "DELETE"]) == deletes + 1
    assert AccessGrant.objects.get(pk=grant.pk).sync_state == SyncState.SYNCED
