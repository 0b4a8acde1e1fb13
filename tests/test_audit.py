import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor, audit_record
from keyport.facilities.models import Location
from keyport.facilities.services import location_create
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def test_audit_entry_rolls_back_with_the_change(actor):
    with pytest.raises(RuntimeError), transaction.atomic():
        location_create(
            actor=actor, name="Temp", street="x", postal_code="1", city="y", country="DE", time_zone="UTC"
        )
        raise RuntimeError("the surrounding work failed")
    assert not Location.objects.filter(name="Temp").exists()
    assert not AuditEntry.objects.exists()


def test_an_unsaved_object_cannot_be_audited(system_actor):
    with pytest.raises(ValueError, match="after it is saved"):
        audit_record(actor=system_actor, action="x", target=Location(name="unsaved"))


def test_system_and_staff_actors_are_labelled(owner):
    location = LocationFactory()
    audit_record(actor=Actor.system("nightly sweep"), action="thing.done", target=location)
    audit_record(actor=Actor.staff(owner), action="thing.done", target=location)
    labels = list(AuditEntry.objects.order_by("id").values_list("actor_kind", "actor_label"))
    assert labels == [("system", "nightly sweep"), ("staff", owner.email)]


def test_audit_log_cannot_be_edited_in_the_admin(client, owner):
    owner.is_staff = owner.is_superuser = True
    owner.save()
    client.force_login(owner)
    location = LocationFactory()
    entry = audit_record(actor=Actor.staff(owner), action="thing.done", target=location)
    response = client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_failed_validation_writes_no_audit_entry(actor):
    with pytest.raises(ValidationError):
        location_create(actor=actor, name="", street="", postal_code="", city="", country="", time_zone="UTC")
    assert not AuditEntry.objects.exists()


def test_actions_read_as_words_for_staff():
    from keyport.audit.models import AuditEntry

    assert AuditEntry(action="invoice.payment_recorded").action_label == "Invoice payment recorded"
    assert AuditEntry(action="access.booking_revoked").action_label == "Access revoked"
