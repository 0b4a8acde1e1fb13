import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from keyport.audit.models import AuditEntry
from keyport.contacts.models import Contact, Customer
from keyport.contacts.services import ContactDetails, customer_create
from keyport.frontdesk.services import contact_add, contact_update, customer_set_active
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_customer_create_makes_the_primary_contact_with_a_normalised_email(actor):
    customer = customer_create(
        actor=actor,
        name="Mara Schneider",
        primary=ContactDetails(first_name="Mara", last_name="Schneider", email="  Mara.S@Example.COM "),
    )
    contact = customer.contacts.get()
    assert contact.is_primary
    assert contact.email == "mara.s@example.com"
    assert AuditEntry.objects.filter(action="customer.created", customer=customer).count() == 1


def test_an_email_belongs_to_one_person_only_whatever_its_case(actor):
    ContactFactory(email="jonas@example.com")
    with pytest.raises(ValidationError) as error:
        customer_create(
            actor=actor, name="Other", primary=ContactDetails(first_name="J", email="JONAS@example.com")
        )
    assert error.value.message_dict["email"] == ["Another contact already uses this email address."]
    assert not Customer.objects.filter(name="Other").exists()


def test_portal_access_needs_an_email_of_their_own(actor):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as error:
        contact_add(
            actor=actor, customer=customer, details=ContactDetails(first_name="Jonas", can_access_portal=True)
        )
    assert "needs their own email" in error.value.message_dict["email"][0]
    assert not customer.contacts.exists()


def test_invalid_email_is_refused_beside_the_field(actor):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as error:
        contact_add(
            actor=actor, customer=customer, details=ContactDetails(first_name="Jonas", email="not-an-email")
        )
    assert "email" in error.value.message_dict


def test_additional_contact_is_added_and_audited(actor):
    customer = CustomerFactory()
    ContactFactory(customer=customer, is_primary=True)
    partner = contact_add(
        actor=actor,
        customer=customer,
        details=ContactDetails(first_name="Jonas", email="jonas@example.com", can_access_portal=True),
    )
    assert not partner.is_primary
    assert customer.contacts.count() == 2
    assert AuditEntry.objects.get(action="contact.added").details == {"can_access_portal": True}


def test_contact_update_records_what_changed(actor):
    contact = ContactFactory(email="old@example.com", can_access_portal=False)
    contact_update(
        actor=actor,
        contact=contact,
        details=ContactDetails(
            first_name=contact.first_name,
            last_name=contact.last_name,
            email="new@example.com",
            can_access_portal=True,
        ),
    )
    entry = AuditEntry.objects.get(action="contact.updated")
    assert entry.details["changed"] == {
        "email": ["old@example.com", "new@example.com"],
        "can_access_portal": [False, True],
    }


def test_contact_update_records_a_changed_phone_number(actor):
    contact = ContactFactory(email="mara@example.com", phone="+49 30 1111")
    contact_update(
        actor=actor,
        contact=contact,
        details=ContactDetails(
            first_name=contact.first_name,
            last_name=contact.last_name,
            email="mara@example.com",
            phone="+49 30 2222",
            can_access_portal=contact.can_access_portal,
        ),
    )
    entry = AuditEntry.objects.get(action="contact.updated")
    assert entry.details["changed"] == {"phone": ["+49 30 1111", "+49 30 2222"]}


def test_a_customer_has_one_primary_contact_at_most():
    customer = CustomerFactory()
    ContactFactory(customer=customer, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(customer=customer, is_primary=True)


def test_the_database_refuses_portal_access_without_email():
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(email=None, can_access_portal=True)


def test_inactive_keeps_every_record_and_is_audited(actor):
    customer = CustomerFactory()
    ContactFactory(customer=customer)
    customer_set_active(actor=actor, customer=customer, is_active=False)
    customer.refresh_from_db()
    assert not customer.is_active
    assert customer.status_label == "Inactive"
    assert customer.contacts.count() == 1
    customer_set_active(actor=actor, customer=customer, is_active=False)
    customer_set_active(actor=actor, customer=customer, is_active=True)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["customer.deactivated", "customer.activated"]


def test_contact_full_name():
    assert Contact(first_name="Mara", last_name="").full_name == "Mara"
    assert Contact(first_name="Mara", last_name="Schneider").full_name == "Mara Schneider"


def test_an_accounts_portal_people_are_those_with_portal_access_oldest_first_even_when_paused():
    customer = CustomerFactory()
    first = ContactFactory(customer=customer, can_access_portal=True)
    ContactFactory(customer=customer, is_primary=False, can_access_portal=False)
    second = ContactFactory(customer=customer, is_primary=False, can_access_portal=True)
    ContactFactory(can_access_portal=True)  # another account's
    assert customer.portal_people() == [first, second]
    assert all(contact.may_sign_in for contact in customer.portal_people())
    customer.is_active = False
    customer.save()
    assert customer.portal_people() == [first, second]  # still told of their access
