"""Staff password sign-in is throttled per account typed and per address, on the dashboard and the
Django admin alike, with one answer whether the account exists or not."""

import datetime as dt
import threading
from collections.abc import Iterator
from unittest import mock

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.db import connection
from django.test import Client
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.staff.models import StaffUser
from tests.factories import PASSWORD, StaffUserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("dashboard:login")
ADMIN_LOGIN = reverse("admin:login")
HOME = reverse("dashboard:home")
# The start of a 15-minute window, so a block lasts the whole 15 minutes.
START = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
BLOCKED = "Too many sign-in attempts. Try again in 15 minutes."
WRONG = "Please enter a correct email and password"


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def olga(db) -> StaffUser:
    return StaffUserFactory(email="olga@keyport.test", full_name="Olga Owner", is_staff=True)


def sign_in(client: Client, email: str, password: str, *, address: str = "203.0.113.7", url: str = LOGIN):
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=address)


def fail(client: Client, email: str, times: int, **kwargs: str) -> None:
    for _ in range(times):
        response = sign_in(client, email, "not the password", **kwargs)
        assert response.status_code == 200 and WRONG in response.content.decode()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def alert(response) -> str:
    return response.context["form"].non_field_errors().as_text()


def test_ten_wrong_passwords_then_the_right_one_is_refused_and_no_one_is_signed_in(client, olga, traveller):
    fail(client, "olga@keyport.test", 10)
    response = sign_in(client, "olga@keyport.test", PASSWORD)
    assert response.status_code == 200
    assert BLOCKED in response.content.decode()
    assert not signed_in(client)
    assert client.get(HOME).status_code == 302


def test_the_tenth_wrong_password_is_still_answered_as_a_wrong_password(client, olga, traveller):
    fail(client, "olga@keyport.test", 9)
    response = sign_in(client, "olga@keyport.test", "not the password")
    assert WRONG in response.content.decode()
    assert BLOCKED not in response.content.decode()


def test_the_account_is_counted_however_its_email_is_typed(client, olga, traveller):
    fail(client, "OLGA@keyport.test ", 5)
    fail(client, "olga@KEYPORT.test", 5)
    assert BLOCKED in sign_in(client, "olga@keyport.test", PASSWORD).content.decode()


def test_an_unknown_account_gets_the_same_answer_as_a_known_one(client, olga, traveller):
    fail(client, "olga@keyport.test", 10)
    fail(client, "nobody@keyport.test", 10)
    known = sign_in(client, "olga@keyport.test", PASSWORD)
    unknown = sign_in(client, "nobody@keyport.test", PASSWORD)
    assert (known.status_code, alert(known)) == (unknown.status_code, alert(unknown))
    assert alert(unknown) == f"* {BLOCKED}"


def test_a_refused_attempt_checks_no_password_for_known_or_unknown_accounts(client, olga, traveller):
    """The same work for both, so the time taken tells nothing either."""
    fail(client, "olga@keyport.test", 10)
    fail(client, "nobody@keyport.test", 10)
    with (
        mock.patch.object(StaffUser, "check_password") as check,
        mock.patch.object(StaffUser, "set_password") as dummy_hash,
    ):
        sign_in(client, "olga@keyport.test", PASSWORD)
        sign_in(client, "nobody@keyport.test", PASSWORD)
    assert (check.call_count, dummy_hash.call_count) == (0, 0)


def test_another_account_is_not_affected(client, olga, traveller):
    other = StaffUserFactory(email="max@keyport.test")
    fail(client, "olga@keyport.test", 10)
    response = sign_in(client, other.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_the_address_limit_holds_across_many_accounts(client, settings, traveller):
    settings.STAFF_SIGN_IN_FAILURES_PER_ADDRESS = 5
    members = [StaffUserFactory() for _ in range(6)]
    for member in members[:5]:
        fail(client, member.email, 1)
    response = sign_in(client, members[5].email, PASSWORD)
    assert BLOCKED in response.content.decode()
    assert not signed_in(client)
    assert sign_in(client, members[5].email, PASSWORD, address="198.51.100.9").status_code == 302


def test_an_address_past_its_limit_does_not_count_against_the_accounts_it_tries(
    client, olga, settings, traveller
):
    settings.STAFF_SIGN_IN_FAILURES_PER_ADDRESS = 3
    fail(client, "olga@keyport.test", 3)
    for _ in range(20):
        assert BLOCKED in sign_in(client, "olga@keyport.test", "guess").content.decode()
    assert sign_in(client, "olga@keyport.test", PASSWORD, address="198.51.100.9").status_code == 302


def test_right_passwords_do_not_count_against_the_address(client, olga, settings, traveller):
    settings.STAFF_SIGN_IN_FAILURES_PER_ADDRESS = 2
    for _ in range(4):
        assert sign_in(client, "olga@keyport.test", PASSWORD).status_code == 302
        client.logout()


def test_after_the_window_the_right_password_works(client, olga, traveller):
    fail(client, "olga@keyport.test", 10)
    traveller.shift(dt.timedelta(minutes=15) - dt.timedelta(seconds=1))
    response = sign_in(client, "olga@keyport.test", PASSWORD)
    assert "Too many sign-in attempts. Try again in 1 minute." in response.content.decode()
    traveller.shift(dt.timedelta(seconds=1))
    assert sign_in(client, "olga@keyport.test", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(olga.pk)


def test_the_wait_shown_is_what_is_left_of_the_window(client, olga, traveller):
    traveller.shift(dt.timedelta(minutes=6, seconds=30))
    fail(client, "olga@keyport.test", 10)
    assert "Try again in 9 minutes." in sign_in(client, "olga@keyport.test", PASSWORD).content.decode()


def test_a_successful_sign_in_clears_the_accounts_wrong_passwords(client, olga, traveller):
    fail(client, "olga@keyport.test", 9)
    assert sign_in(client, "olga@keyport.test", PASSWORD).status_code == 302
    client.logout()
    fail(client, "olga@keyport.test", 9)
    assert sign_in(client, "olga@keyport.test", PASSWORD).status_code == 302


def test_a_block_is_audited_once_naming_the_account_and_the_address(client, olga, traveller):
    fail(client, "olga@keyport.test", 10)
    for _ in range(5):
        sign_in(client, "olga@keyport.test", "guess")
    entry = AuditEntry.objects.get(action="staff.sign_in_blocked")
    assert (entry.target_type, entry.target_id, entry.actor_label) == (
        "staff.staffuser",
        olga.pk,
        "203.0.113.7",
    )
    assert entry.details == {
        "limit": "account",
        "account": "olga@keyport.test",
        "address": "203.0.113.7",
        "wrong_passwords": 10,
        "blocked_until": "2026-05-01T10:15:00+00:00",
    }


def test_a_block_of_an_unknown_account_is_audited_without_its_name(client, traveller):
    fail(client, "nobody@keyport.test", 10)
    sign_in(client, "nobody@keyport.test", "guess")
    entry = AuditEntry.objects.get(action="staff.sign_in_blocked")
    assert (entry.target_id, entry.target_label, entry.details["account"]) == (None, "Unknown account", None)
    assert entry.details["address"] == "203.0.113.7"
    assert "nobody" not in str(entry.details)


def test_an_address_block_is_audited_once(client, settings, traveller):
    settings.STAFF_SIGN_IN_FAILURES_PER_ADDRESS = 3
    for n in range(6):
        sign_in(client, f"p{n}@keyport.test", "guess")
    entry = AuditEntry.objects.get(action="staff.sign_in_blocked")
    assert (entry.details["limit"], entry.details["address"], entry.target_id) == (
        "address",
        "203.0.113.7",
        None,
    )


def test_the_next_block_after_the_window_is_audited_again(client, olga, traveller):
    fail(client, "olga@keyport.test", 10)
    traveller.shift(dt.timedelta(minutes=15))
    fail(client, "olga@keyport.test", 10)
    assert AuditEntry.objects.filter(action="staff.sign_in_blocked", target_id=olga.pk).count() == 2


def test_the_admin_login_is_throttled_too(client, olga, traveller):
    for _ in range(10):
        response = sign_in(client, "olga@keyport.test", "not the password", url=ADMIN_LOGIN)
        assert response.status_code == 200 and BLOCKED not in response.content.decode()
    response = sign_in(client, "olga@keyport.test", PASSWORD, url=ADMIN_LOGIN)
    assert BLOCKED in response.content.decode()
    assert not signed_in(client)


def test_wrong_passwords_on_the_dashboard_block_the_admin_login(client, olga, traveller):
    fail(client, "olga@keyport.test", 10)
    response = sign_in(client, "olga@keyport.test", PASSWORD, url=ADMIN_LOGIN)
    assert BLOCKED in response.content.decode()
    assert not signed_in(client)


def test_a_password_checked_without_a_request_is_throttled_per_account(olga, traveller):
    for _ in range(10):
        assert authenticate(username="olga@keyport.test", password="guess") is None
    assert authenticate(username="olga@keyport.test", password=PASSWORD) is None
    assert AuditEntry.objects.get(action="staff.sign_in_blocked").details["address"] is None


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_get_exactly_the_limit_of_checks_and_one_audit_row() -> None:
    StaffUserFactory(email="olga@keyport.test")
    requests = 24
    start = threading.Barrier(requests)
    answers: list[str] = []

    def guess(n: int) -> None:
        try:
            start.wait(timeout=30)
            content = sign_in(Client(), "olga@keyport.test", f"guess {n}").content.decode()
            answers.append("blocked" if BLOCKED in content else "wrong" if WRONG in content else "other")
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(requests)]
    with time_machine.travel(START + dt.timedelta(seconds=10), tick=True):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(answers) == ["blocked"] * 14 + ["wrong"] * 10
    assert AuditEntry.objects.filter(action="staff.sign_in_blocked").count() == 1


def test_the_block_shows_in_the_owners_recent_activity(client, olga, traveller):
    fail(client, "nobody@keyport.test", 10)
    client.force_login(olga)
    page = client.get(HOME).content.decode()
    assert "203.0.113.7 · <span" in page
    assert "Staff sign-in blocked after wrong passwords</span> · Unknown account" in page
