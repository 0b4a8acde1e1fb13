import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from keyport.audit.models import ActorKind
from keyport.audit.services import Actor, audit_changes, audit_record
from keyport.contacts.emails import portal_invite_email, portal_sign_in_link_email
from keyport.contacts.models import (
    AccountStatus,
    Contact,
    Customer,
    CustomerAppSettings,
    CustomerKind,
    PortalLink,
    PortalLinkPurpose,
)
from keyport.facilities.models import Location
from keyport.lib.background import enqueue_on_commit
from keyport.lib.email_addresses import normalize_email_address
from keyport.lib.tokens import token_hash

SEARCH_REFRESH_BATCH = 2000


@dataclass(frozen=True, kw_only=True)
class ContactDetails:
    first_name: str
    last_name: str = ""
    email: str = ""
    phone: str = ""
    can_access_portal: bool = False


def contact_details_apply(contact: Contact, details: ContactDetails) -> None:
    contact.first_name = details.first_name.strip()
    contact.last_name = details.last_name.strip()
    contact.email = normalize_email_address(details.email) or None
    contact.phone = details.phone.strip()
    contact.can_access_portal = details.can_access_portal
    if contact.can_access_portal and not contact.email:
        raise ValidationError(
            {"email": "A contact who can access the customer portal needs their own email address."}
        )
    contact.full_clean(exclude=["customer"], validate_unique=False, validate_constraints=False)
    _check_email_is_free(contact)
    contact.search_text = contact.folded_search_text()


def contact_search_texts_refresh(*, location: Location) -> int:
    """Fold again the search text of the people of every account at home at this location: its
    country decides whether German spellings are kept too (after the country changed). Returns how
    many were folded."""
    contacts = Contact.objects.filter(customer__home_location=location).select_related(
        "customer__home_location"
    )
    batch: list[Contact] = []
    count = 0
    for contact in contacts.order_by("pk").iterator(chunk_size=SEARCH_REFRESH_BATCH):
        contact.search_text = contact.folded_search_text()
        batch.append(contact)
        if len(batch) == SEARCH_REFRESH_BATCH:
            count += Contact.objects.bulk_update(batch, ["search_text"])
            batch = []
    return count + Contact.objects.bulk_update(batch, ["search_text"])


def _check_email_is_free(contact: Contact) -> None:
    if contact.email is None:
        return
    taken = Contact.objects.filter(email=contact.email).exclude(pk=contact.pk).exists()
    if taken:
        raise ValidationError({"email": "Another contact already uses this email address."})


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    name: str,
    primary: ContactDetails,
    kind: str = CustomerKind.STORAGE,
    home_location: Location | None = None,
) -> Customer:
    """Open an account with its primary contact."""
    customer = Customer(name=name.strip(), kind=kind, home_location=home_location)
    customer.full_clean()
    contact = Contact(customer=customer, is_primary=True)
    contact_details_apply(contact, primary)
    customer.save()
    contact.customer = customer
    contact.save()
    audit_record(
        actor=actor,
        action="customer.created",
        target=customer,
        customer=customer,
        location=home_location,
        details={"primary_contact": contact.full_name},
    )
    return customer


@dataclass(frozen=True, kw_only=True)
class NewCustomer:
    """New customer at the front desk: a person's name, how to reach them, their home location."""

    name: str
    email: str = ""
    phone: str = ""
    home_location: Location | None = None
    kind: str = CustomerKind.STORAGE


@transaction.atomic
def new_customer_create(*, actor: Actor, new: NewCustomer) -> Customer:
    """Open an account whose primary contact is the person named; with an email they can access
    the customer portal. The name's last word is the contact's last name."""
    first_name, _, last_name = new.name.strip().rpartition(" ")
    primary = ContactDetails(
        first_name=first_name or last_name,
        last_name=last_name if first_name else "",
        email=new.email,
        phone=new.phone,
        can_access_portal=bool(new.email.strip()),
    )
    return customer_create(
        actor=actor, name=new.name, primary=primary, kind=new.kind, home_location=new.home_location
    )


# Customer portal sign-in --------------------------------------------------------------------


def contact_actor(contact: Contact) -> Actor:
    """A portal contact as the actor of a change they made."""
    return Actor(kind=ActorKind.CONTACT, label=contact.email or contact.full_name, id=contact.pk)


def portal_shut(contact: Contact) -> int:
    """End the contact's portal sessions on every device and void their unused links.

    Returns how many links were voided; the caller's audit entry records it.
    """
    now = timezone.now()
    voided = contact.portal_links.filter(used_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
    Contact.objects.filter(pk=contact.pk).update(session_epoch=F("session_epoch") + 1)
    contact.refresh_from_db(fields=["session_epoch"])
    return voided


def portal_link_lifetime(purpose: PortalLinkPurpose) -> dt.timedelta:
    """How long a link works: an invite (or a Welcome) for days, a requested sign-in link for minutes."""
    if purpose == PortalLinkPurpose.INVITE:
        return dt.timedelta(hours=settings.PORTAL_INVITE_HOURS)
    return dt.timedelta(minutes=settings.PORTAL_SIGN_IN_LINK_MINUTES)


def portal_link_issue(
    *, actor: Actor, contact: Contact, purpose: PortalLinkPurpose
) -> tuple[PortalLink, str]:
    """Void the person's earlier unused links and make a new one; the caller emails its token.

    The link's `sent_to` is what makes the person's Account Status Email Sent.
    """
    assert contact.email is not None  # noqa: S101 - callers check may_sign_in
    now = timezone.now()
    contact.portal_links.filter(used_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
    token = secrets.token_urlsafe(32)  # 256 random bits; only the hash is stored.
    link = PortalLink.objects.create(
        contact=contact,
        purpose=purpose,
        token_hash=token_hash(token),
        sent_to=contact.email,
        created_at=now,
        expires_at=now + portal_link_lifetime(purpose),
    )
    audit_record(
        actor=actor,
        action=f"contact.portal_{purpose}_sent",
        target=contact,
        customer=contact.customer,
        details={"expires_at": link.expires_at.isoformat()},
    )
    return link, token


def _portal_link_send(*, actor: Actor, contact: Contact, purpose: PortalLinkPurpose) -> PortalLink:
    """Make a new link and email it."""
    link, token = portal_link_issue(actor=actor, contact=contact, purpose=purpose)
    send_email = portal_invite_email if purpose == PortalLinkPurpose.INVITE else portal_sign_in_link_email
    send_email(contact=contact, token=token, lifetime=portal_link_lifetime(purpose))
    return link


@transaction.atomic
def invite_send(*, actor: Actor, contact: Contact) -> PortalLink:
    """Send Invite / Resend Invite: a magic-link email that lets the person sign in once."""
    contact = Contact.objects.select_for_update().select_related("customer").get(pk=contact.pk)
    if not contact.email:
        raise ValidationError("Add an email address before sending an invite.")
    if not contact.can_access_portal:
        raise ValidationError("Turn on portal access for this contact before sending an invite.")
    if not contact.customer.is_active:
        raise ValidationError("This customer is inactive; activate them before sending an invite.")
    if contact.account_status() == AccountStatus.SIGNED_IN:
        raise ValidationError("This person has signed in already; they ask for a new link on the login page.")
    return _portal_link_send(actor=actor, contact=contact, purpose=PortalLinkPurpose.INVITE)


@transaction.atomic
def sign_in_link_request(*, email: str) -> None:
    """The login page's request. The lookup and the email happen in the worker, so a known and an
    unknown address cost the request the same."""
    from keyport.contacts.tasks import send_sign_in_link

    enqueue_on_commit(send_sign_in_link, normalize_email_address(email))


@transaction.atomic
def sign_in_link_send(*, email: str) -> PortalLink | None:
    """Email a sign-in link if the address belongs to someone who may sign in; otherwise do nothing."""
    contact = (
        Contact.objects.select_for_update()
        .select_related("customer")
        .filter(email=normalize_email_address(email))
        .first()
    )
    if contact is None or not contact.may_sign_in:
        return None
    return _portal_link_send(actor=contact_actor(contact), contact=contact, purpose=PortalLinkPurpose.SIGN_IN)


def portal_link_redeem(*, token: str) -> Contact | None:
    """Use a link once: the person is signed in (first sign-in recorded). None if the link is no good."""
    with transaction.atomic():  # not a decorator: mutmut (make mutate) mutates no decorated function
        link = (
            PortalLink.objects.select_for_update()
            .select_related("contact", "contact__customer")
            .filter(token_hash=token_hash(token))
            .first()
        )
        now = timezone.now()
        if link is None or not link.is_usable_at(now):
            return None
        contact = link.contact
        if not contact.may_sign_in or contact.email != link.sent_to:
            return None
        link.used_at = now
        link.save(update_fields=["used_at"])
        first = contact.first_signed_in_at is None
        contact.first_signed_in_at = contact.first_signed_in_at or now
        contact.last_signed_in_at = now
        contact.save(update_fields=["first_signed_in_at", "last_signed_in_at"])
        audit_record(
            actor=contact_actor(contact),
            action="contact.portal_signed_in",
            target=contact,
            customer=contact.customer,
            details={"purpose": link.purpose, "first_sign_in": first},
        )
        return contact


# Settings > Website & customer app ---------------------------------------------------------

CUSTOMER_APP_SECTIONS = ("show_cars", "show_billing", "show_documents", "show_events", "show_settings")


@transaction.atomic
def customer_app_settings_update(
    *, actor: Actor, location: Location, sections: dict[str, bool]
) -> CustomerAppSettings:
    """Which portal sections this location's customers see."""
    unknown = set(sections) - set(CUSTOMER_APP_SECTIONS)
    if unknown:
        raise TypeError(f"Not customer app sections: {', '.join(sorted(unknown))}")
    app_settings, _ = CustomerAppSettings.objects.select_for_update().get_or_create(location=location)
    changed = {
        name: [getattr(app_settings, name), value]
        for name, value in sections.items()
        if getattr(app_settings, name) != value
    }
    if not changed:
        return app_settings
    for name, (_, value) in changed.items():
        setattr(app_settings, name, value)
    app_settings.save()
    audit_changes(
        actor=actor,
        action="location.customer_app_updated",
        target=location,
        location=location,
        changed=changed,
    )
    return app_settings
