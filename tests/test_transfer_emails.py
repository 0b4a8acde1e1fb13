"""The tenant's portal people are told of a transfer of their booking, and of its cancellation."""

import datetime as dt

import pytest
import time_machine

from keyport.audit.services import Actor
from keyport.emails.models import OutgoingEmail
from keyport.frontdesk.services import booking_create, booking_transfer, booking_transfer_cancel
from tests.factories import ContactFactory, LocationFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)  # 10:00 in Berlin
TODAY = dt.date(2026, 3, 4)


@pytest.fixture
def rental():
    with time_machine.travel(NOW, tick=False):
        location = LocationFactory(name="Lager Kreuzberg", time_zone="Europe/Berlin")
        old, new = (
            UnitFactory(location=location, number="A001"),
            UnitFactory(location=location, number="B001"),
        )
        tenant = ContactFactory(first_name="Mara", email="mara@example.com")
        ContactFactory(customer=tenant.customer, is_primary=False, first_name="Jon", email="jon@example.com")
        booking = booking_create(
            actor=ACTOR, customer=tenant.customer, units=[old], starts_on=dt.date(2026, 3, 1)
        )
        return booking, old, new


def sent(template: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(template=template).order_by("to"))


@time_machine.travel(NOW, tick=False)
def test_a_transfer_today_tells_every_portal_person_which_unit_opens_now(
    rental, django_capture_on_commit_callbacks
):
    booking, old, new = rental
    with django_capture_on_commit_callbacks(execute=True):
        booking_transfer(actor=ACTOR, booking=booking, from_unit=old, to_unit=new)
    emails = sent("unit_transfer")
    assert [email.to for email in emails] == ["jon@example.com", "mara@example.com"]
    assert f"{new} instead of {old}" in emails[0].subject
    assert f"open {new} now, and {old} no longer" in emails[1].body_text
    assert emails[1].body_text.startswith("Hello Mara,")


@time_machine.travel(NOW, tick=False)
def test_a_scheduled_transfer_says_from_when_and_its_cancellation_says_the_unit_stays(
    rental, django_capture_on_commit_callbacks
):
    booking, old, new = rental
    with django_capture_on_commit_callbacks(execute=True):
        booking_transfer(actor=ACTOR, booking=booking, from_unit=old, to_unit=new, on=dt.date(2026, 3, 10))
    (email, _) = sent("unit_transfer")
    assert "from Tue 10 Mar 2026 your rental at Lager Kreuzberg" in email.body_text
    assert "from the start of that day (Europe/Berlin time)" in email.body_text
    assert not sent("unit_transfer_cancelled")
    with django_capture_on_commit_callbacks(execute=True):
        booking_transfer_cancel(actor=ACTOR, booking=booking, from_unit=old)
    (cancelled, _) = sent("unit_transfer_cancelled")
    assert f"You keep {old}" in cancelled.subject
    assert "on Tue 10 Mar 2026 is cancelled" in cancelled.body_text
