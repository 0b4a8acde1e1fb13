"""What each kind of person sees in the customer portal, and every portal URL for every kind of person."""

import pytest
from django.urls import URLPattern, URLResolver, reverse

from keyport.contacts.models import Contact, CustomerAppSettings, CustomerKind, PortalAccess
from keyport.frontdesk.queries import customer_portal_access, with_portal_facts
from keyport.portal import urls as portal_urls
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
    booking_of,
    today,
)
from tests.portal_helpers import sign_in_as

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest")]

# Pages only Full customers have; the rest (home, tickets, sign-out) every signed-in person has.
FULL_ONLY = {"cars", "billing", "documents"}
EVERYONE = {"home", "tickets", "events", "settings"}
POST_ONLY = {"sign_out", "settings_profile", "settings_email", "settings_preferences"}


def my_routes():
    """The portal routes this module knows; share_* and guest_* routes are tested with their feature."""
    for pattern in portal_urls.urlpatterns:
        known = pattern.name in FULL_ONLY | EVERYONE | POST_ONLY if isinstance(pattern, URLPattern) else False
        if known and not pattern.pattern.converters:
            yield pattern.name


def test_every_argument_free_portal_route_is_classified():
    unclassified = [
        pattern.name
        for pattern in portal_urls.urlpatterns
        if isinstance(pattern, URLPattern)
        and not pattern.pattern.converters
        and pattern.name not in FULL_ONLY | EVERYONE | POST_ONLY
        and not str(pattern.name).startswith(("share", "guest"))
    ]
    assert unclassified == [], "say whether these portal pages are Full-only or for everyone"
    assert not [p for p in portal_urls.urlpatterns if isinstance(p, URLResolver)]


@pytest.mark.parametrize("name", sorted(FULL_ONLY | EVERYONE))
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(f"portal:{name}"))
    assert response.status_code == 302
    assert response["Location"] == "/login/"


@pytest.mark.parametrize("who", ["tenant", "partner"])
@pytest.mark.parametrize("name", sorted(FULL_ONLY | EVERYONE))
def test_full_customers_and_their_contacts_reach_every_page(client, request, who, name):
    sign_in_as(client, request.getfixturevalue(who))
    assert client.get(reverse(f"portal:{name}")).status_code == 200


@pytest.mark.parametrize("name", sorted(FULL_ONLY))
def test_ticket_only_guests_are_refused_every_full_only_page(client, guest, name):
    sign_in_as(client, guest)
    response = client.get(reverse(f"portal:{name}"))
    assert response.status_code == 404
    assert "not part of your portal" in response.content.decode()


def test_ticket_only_guests_see_only_their_tickets(client, guest):
    sign_in_as(client, guest)
    assert client.get(reverse("portal:home"))["Location"] == reverse("portal:tickets")
    page = client.get(reverse("portal:tickets")).content.decode()
    assert "Your tickets" in page
    for hidden in ("Your Bookings", 'href="/portal/cars/"', 'href="/portal/billing/"'):
        assert hidden not in page


def test_the_routes_checked_cover_the_portal(site):
    assert set(my_routes()) == FULL_ONLY | EVERYONE | POST_ONLY


# Portal Access is derived --------------------------------------------------------------------


def _access(contact: Contact) -> tuple[str, str]:
    annotated = with_portal_facts(Contact.objects.filter(pk=contact.pk)).get()
    fresh = Contact.objects.get(pk=contact.pk)
    return annotated.portal_access(), customer_portal_access(fresh.customer)


def test_portal_access_follows_the_account_in_the_query_and_on_the_object():
    location = LocationFactory()
    storage = ContactFactory(customer=CustomerFactory(kind=CustomerKind.STORAGE))
    lead = ContactFactory(customer=CustomerFactory(kind=CustomerKind.LEAD))
    lead_with_car = ContactFactory(customer=CustomerFactory(kind=CustomerKind.LEAD))
    CarFactory(customer=lead_with_car.customer)
    lead_with_booking = ContactFactory(customer=CustomerFactory(kind=CustomerKind.LEAD))
    booking_of(lead_with_booking.customer, [UnitFactory(location=location)], today())
    inactive_storage = ContactFactory(customer=CustomerFactory(kind=CustomerKind.STORAGE, is_active=False))
    assert _access(storage) == (PortalAccess.FULL, PortalAccess.FULL)
    assert _access(lead) == (PortalAccess.TICKET_ONLY, PortalAccess.TICKET_ONLY)
    assert _access(lead_with_car) == (PortalAccess.FULL, PortalAccess.FULL)
    assert _access(lead_with_booking) == (PortalAccess.FULL, PortalAccess.FULL)
    assert _access(inactive_storage) == (PortalAccess.TICKET_ONLY, PortalAccess.TICKET_ONLY)


def test_a_cancelled_booking_does_not_make_a_storage_customer():
    lead = ContactFactory(customer=CustomerFactory(kind=CustomerKind.LEAD))
    booking = booking_of(lead.customer, [UnitFactory()], today())
    booking.status = "cancelled"
    booking.save()
    assert _access(lead) == (PortalAccess.TICKET_ONLY, PortalAccess.TICKET_ONLY)


def test_a_ticket_only_guest_becomes_full_when_they_become_a_storage_customer(client, guest, site):
    sign_in_as(client, guest)
    assert client.get(reverse("portal:cars")).status_code == 404
    booking_of(guest.customer, [UnitFactory(location=site.location)], today())
    assert client.get(reverse("portal:cars")).status_code == 200
    assert "Your Bookings" in client.get(reverse("portal:home")).content.decode()


# What a Full customer sees -----------------------------------------------------------------------


def test_your_bookings_lists_units_dates_and_location(client, tenant):
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:home")).content.decode()
    assert "Your Bookings" in page
    assert "A010" in page and "A011" in page
    assert "Lager Kreuzberg" in page
    assert today().strftime("%Y").lstrip("0") in page
    assert "B001" not in page  # another tenant's unit


def test_your_bookings_keeps_a_place_for_booking_actions(client, tenant):
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:home")).content.decode()
    assert 'class="booking-actions"' in page


def test_the_additional_contact_sees_the_same_account(client, partner):
    sign_in_as(client, partner)
    cars = client.get(reverse("portal:cars")).content.decode()
    assert "Volvo P1800" in cars and "B MS 1800" in cars
    assert "Jaguar" not in cars
    assert "A010" in client.get(reverse("portal:home")).content.decode()


def test_sections_with_nothing_linked_say_so_and_what_to_do(client):
    location = LocationFactory()
    customer = CustomerFactory(home_location=location)
    contact = ContactFactory(customer=customer)
    sign_in_as(client, contact)
    assert "No bookings are linked" in client.get(reverse("portal:home")).content.decode()
    assert "No cars are linked" in client.get(reverse("portal:cars")).content.decode()
    for name in ("billing", "documents", "events"):
        text = client.get(reverse(f"portal:{name}")).content.decode()
        assert "linked to your account yet" in text


def test_settings_shows_name_email_and_phone(client, tenant):
    tenant.phone = "+49 30 5550 1010"
    tenant.save()
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:settings")).content.decode()
    assert "Mara Schneider" in page and "tenant@example.com" in page and "+49 30 5550 1010" in page


# Settings > Website & customer app ----------------------------------------------------------------


@pytest.mark.parametrize("section", sorted(FULL_ONLY))
def test_a_section_turned_off_is_hidden_and_answers_404(client, site, tenant, section):
    CustomerAppSettings.objects.create(location=site.location, **{f"show_{section}": False})
    sign_in_as(client, tenant)
    assert client.get(reverse(f"portal:{section}")).status_code == 404
    home = client.get(reverse("portal:home")).content.decode()
    assert f'href="/portal/{section}/"' not in home
    others = FULL_ONLY - {section}
    assert all(f'href="/portal/{name}/"' in home for name in others)


def test_without_a_home_location_the_first_bookings_location_decides(client):
    first, later = LocationFactory(), LocationFactory()
    customer = CustomerFactory(home_location=None)
    contact = ContactFactory(customer=customer)
    booking_of(customer, [UnitFactory(location=later)], today())
    booking_of(customer, [UnitFactory(location=first)], today().replace(year=today().year - 1))
    CustomerAppSettings.objects.create(location=first, show_cars=False)
    CustomerAppSettings.objects.create(location=later, show_billing=False)
    sign_in_as(client, contact)
    assert client.get(reverse("portal:cars")).status_code == 404
    assert client.get(reverse("portal:billing")).status_code == 200


@pytest.mark.parametrize("name", ["settings_profile", "settings_email"])
def test_settings_forms_refuse_anonymous_visitors_and_ticket_only_guests(client, guest, name):
    url = reverse(f"portal:{name}")
    assert client.post(url, {})["Location"] == "/login/"
    sign_in_as(client, guest)
    assert client.post(url, {}).status_code == 404
