"""A portal contact changes their own email: confirmed from the new address, the old one told.

The confirmation link carries a signed, time-limited token naming the contact, the old and the
new address; it stops working once the address has changed (the old address no longer matches),
so it works once, and when the person's portal sessions end (portal access off, account
Inactive: the session epoch it names has moved on), as their sign-in links do. The change
itself is contact_update's: sessions end, links are voided, and the old address is told.
"""

import datetime as dt

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from keyport.audit.services import audit_record
from keyport.contacts.emails import email_change_confirm_email
from keyport.contacts.models import Contact
from keyport.contacts.services import ContactDetails, contact_actor
from keyport.frontdesk.services import contact_update
from keyport.lib.email_addresses import normalize_email_address

SALT = "keyport.contacts.email-change"
CONFIRM_WITHIN_SECONDS = 24 * 3600


@transaction.atomic
def contact_email_change_request(*, contact: Contact, new_email: str) -> None:
    """Send a confirmation link to the new address; nothing changes until it is used."""
    new_email = normalize_email_address(new_email)
    validate_email(new_email)
    if new_email == contact.email:
        raise ValidationError({"email": "This is already your email address."})
    if Contact.objects.filter(email=new_email).exclude(pk=contact.pk).exists():
        raise ValidationError({"email": "Another contact already uses this email address."})
    token = signing.dumps(
        {"c": contact.pk, "old": contact.email, "new": new_email, "e": contact.session_epoch}, salt=SALT
    )
    email_change_confirm_email(
        contact=contact,
        new_email=new_email,
        token=token,
        lifetime=dt.timedelta(seconds=CONFIRM_WITHIN_SECONDS),
    )
    audit_record(
        actor=contact_actor(contact),
        action="contact.email_change_requested",
        target=contact,
        customer=contact.customer,
        details={"new_email": new_email},
    )


def email_change_read(token: str, *, for_update: bool = False) -> tuple[Contact, str] | None:
    """The contact and new address a confirmation token names, or None when it is not (or no longer)
    valid; `for_update` locks the contact's row until the transaction ends."""
    try:
        data = signing.loads(token, salt=SALT, max_age=CONFIRM_WITHIN_SECONDS)
    except signing.BadSignature:
        return None
    contacts = Contact.objects.select_related("customer")
    if for_update:
        contacts = contacts.select_for_update(of=("self",))
    contact = contacts.filter(pk=data.get("c")).first()
    if contact is None or contact.email != data.get("old") or not contact.may_sign_in:
        return None
    if contact.session_epoch != data.get("e"):
        return None
    return contact, str(data["new"])


@transaction.atomic
def contact_email_change_confirm(*, token: str) -> Contact | None:
    # Locked: staff may switch portal access off or change the email at the same moment.
    found = email_change_read(token, for_update=True)
    if found is None:
        return None
    contact, new_email = found
    details = ContactDetails(
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=new_email,
        phone=contact.phone,
        can_access_portal=contact.can_access_portal,
    )
    return contact_update(actor=contact_actor(contact), contact=contact, details=details)
