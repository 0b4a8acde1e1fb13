"""A customer's people at the front desk and in the portal: a contact added or changed, an account
paused or resumed, with the doors of the account's people (and their guests) in the same
transaction."""

from django.db import transaction
from django.utils.translation import gettext

from keyport.access.services import grants_sync_for_customer
from keyport.audit.services import Actor, audit_record, changes_between
from keyport.contacts.emails import email_changed_email
from keyport.contacts.models import Contact, Customer
from keyport.contacts.services import ContactDetails, contact_details_apply, portal_shut


@transaction.atomic
def contact_add(*, actor: Actor, customer: Customer, details: ContactDetails) -> Contact:
    """Add an additional contact (spouse, assistant, bookkeeper) to an account."""
    contact = Contact(customer=customer, is_primary=False)
    contact_details_apply(contact, details)
    contact.save()
    audit_record(
        actor=actor,
        action="contact.added",
        target=contact,
        customer=customer,
        details={"can_access_portal": contact.can_access_portal},
    )
    if contact.can_access_portal:
        grants_sync_for_customer(actor=actor, customer=customer)
    return contact


@transaction.atomic
def contact_update(*, actor: Actor, contact: Contact, details: ContactDetails) -> Contact:
    """Change a contact. A new email, or portal access switched off, ends their portal sessions
    and voids their links; the old address is told about the change."""
    contact = Contact.objects.select_for_update().select_related("customer").get(pk=contact.pk)
    before = _access_facts(contact)
    phone_before = contact.phone
    contact_details_apply(contact, details)
    contact.save()
    after = _access_facts(contact)
    changed = changes_between(before, after)
    # The phone reaches neither doors nor portal, but its change is recorded like the others.
    recorded = (
        {**changed, "phone": [phone_before, contact.phone]} if phone_before != contact.phone else changed
    )
    audit_details: dict[str, object] = {"changed": recorded}
    if _change_shuts_portal(before, after):
        audit_details["portal_sessions_ended"] = True
        audit_details["links_voided"] = portal_shut(contact)
    audit_record(
        actor=actor,
        action="contact.updated",
        target=contact,
        customer=contact.customer,
        details=audit_details,
    )
    if changed:
        grants_sync_for_customer(actor=actor, customer=contact.customer)
    old_email = before["email"]
    if "email" in changed and isinstance(old_email, str) and old_email:
        email_changed_email(contact=contact, old_email=old_email)
    return contact


@transaction.atomic
def contact_profile_update(
    *, actor: Actor, contact: Contact, first_name: str, last_name: str, phone: str
) -> Contact:
    """A person's own name and phone (portal Settings). Email and portal access are taken from the
    locked row, not from the copy read at the start of the request: a change staff made
    meanwhile (portal access off, a new email) stays."""
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    details = ContactDetails(
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        email=current.email or "",
        can_access_portal=current.can_access_portal,
    )
    return contact_update(actor=actor, contact=current, details=details)


def _change_shuts_portal(before: dict[str, object], after: dict[str, object]) -> bool:
    """A new email, or portal access switched off: the person's sessions and links end."""
    return before["email"] != after["email"] or bool(
        before["can_access_portal"] and not after["can_access_portal"]
    )


def _access_facts(contact: Contact) -> dict[str, object]:
    """What doors and the portal know of a contact: a change of any of these reaches both."""
    return {
        "email": contact.email,
        "can_access_portal": contact.can_access_portal,
        "name": contact.full_name,
    }


@transaction.atomic
def customer_set_active(*, actor: Actor, customer: Customer, is_active: bool) -> Customer:
    """Active / Inactive: Inactive pauses the relationship and keeps every record."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.is_active == is_active:
        return customer
    customer.is_active = is_active
    customer.save(update_fields=["is_active"])
    details = {}
    if not is_active:
        # Inactive ends every portal session of the account's people and voids their links.
        voided = sum(portal_shut(contact) for contact in customer.contacts.select_for_update())
        details = {"portal_sessions_ended": True, "links_voided": voided}
    audit_record(
        actor=actor,
        action="customer.activated" if is_active else "customer.deactivated",
        target=customer,
        customer=customer,
        details=details,
    )
    # The people and guests who lose (or get back) door access are told, as Revoke access tells them.
    grants_sync_for_customer(
        actor=actor, customer=customer, tell_people=True, reason=gettext("The customer account is paused.")
    )
    return customer
