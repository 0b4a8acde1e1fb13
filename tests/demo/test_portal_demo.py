import pytest

from keyport.contacts.models import AccountStatus, Contact, PortalAccess
from keyport.demo.data import GUEST_EMAIL, PARTNER_EMAIL, TENANT_EMAIL
from keyport.frontdesk.queries import with_portal_facts

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_covers_every_portal_state(demo):
    contacts = {c.email: c for c in with_portal_facts(Contact.objects.select_related("customer"))}
    tenant, partner, guest = contacts[TENANT_EMAIL], contacts[PARTNER_EMAIL], contacts[GUEST_EMAIL]
    assert (tenant.portal_access(), tenant.account_status()) == (
        PortalAccess.FULL,
        AccountStatus.NOT_SIGNED_IN,
    )
    assert partner.can_access_portal and not partner.is_primary
    assert partner.portal_access() == PortalAccess.FULL
    assert guest.portal_access() == PortalAccess.TICKET_ONLY
    statuses = {c.account_status() for c in contacts.values()}
    assert statuses == set(AccountStatus)
    assert any(c.shows_invite_button() for c in contacts.values())


def test_demo_tenant_can_ask_for_a_link_on_the_login_page(demo, client, django_capture_on_commit_callbacks):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/login/", {"email": TENANT_EMAIL})
    assert response.status_code == 200
    assert mail.outbox[0].to == [TENANT_EMAIL]
