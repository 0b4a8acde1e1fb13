"""The admin shows what the services write and changes none of it: a change made there would skip
the rules, the audit and the access provider (a booking deleted with its grants, an account made
Inactive whose PINs still open the doors)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from keyport.access.models import AccessGrant, GrantState
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.models import BillingProfile, BillingSettings
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact, Customer
from keyport.facilities.models import AccessPoint, Unit
from tests import cast
from tests.factories import AccessPointFactory, LocationFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def shown_only(admin_client, model, obj) -> None:
    """The page shows the row; no form field, no save, no delete."""
    admin_url = f"/admin/{model._meta.app_label}/{model._meta.model_name}"
    change = f"{admin_url}/{obj.pk}/change/"
    page = admin_client.get(change)
    assert page.status_code == 200 and str(obj) in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(change, {}).status_code == 403
    assert admin_client.post(f"{admin_url}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get(f"{admin_url}/add/").status_code == 403


def test_bookings_accounts_and_people_are_shown_but_not_changed_or_deleted(
    admin_client, site, tenant
) -> None:
    booking = cast.book(tenant, site, starts_on=timezone.localdate())
    for model, obj in [
        (Booking, booking),
        (Customer, tenant.customer),
        (Contact, tenant),
    ]:
        shown_only(admin_client, model, obj)
    assert Booking.objects.filter(pk=booking.pk).exists()
    assert set(AccessGrant.objects.values_list("state", flat=True)) == {GrantState.ACTIVE}
    assert Customer.objects.get(pk=tenant.customer.pk).is_active


def test_invoices_and_the_lockout_settings_are_shown_but_not_changed(admin_client, site, tenant) -> None:
    cast.book(tenant, site, starts_on=timezone.localdate())
    rent = billing.LineInput(
        description="Rent", quantity=Decimal("1"), unit_price=Decimal("50"), tax_rate=Decimal("0")
    )
    invoice = billing.invoice_create(
        actor=ACTOR,
        location=site.location,
        customer=tenant.customer,
        due_on=timezone.localdate() + dt.timedelta(days=14),
        lines=[rent],
    )
    billing.customer_set_lockout_exempt(actor=ACTOR, customer=tenant.customer, exempt=True)
    shown_only(admin_client, type(invoice), invoice)
    shown_only(admin_client, BillingSettings, billing.billing_settings_of(site.location))
    shown_only(admin_client, BillingProfile, BillingProfile.objects.get(customer=tenant.customer))


def test_a_unit_keeps_its_location_and_number_and_a_door_its_location(admin_client) -> None:
    unit = UnitFactory(number="A001")
    door = AccessPointFactory(location=unit.location)
    elsewhere = LocationFactory()
    page = admin_client.get(f"/admin/facilities/unit/{unit.pk}/change/").content.decode()
    assert 'name="location"' not in page and 'name="number"' not in page and "A001" in page
    fields = {"location": elsewhere.pk, "number": "Z999", "kind": unit.kind, "size_m2": "5.00"}
    saved = admin_client.post(
        f"/admin/facilities/unit/{unit.pk}/change/",
        {**fields, "status": unit.status, "mapped_access_points": [door.pk]},
    )
    assert saved.status_code == 302
    unit = Unit.objects.get(pk=unit.pk)
    assert (unit.location_id, unit.number) == (door.location_id, "A001")
    assert list(unit.access_mappings.values_list("access_point_id", flat=True)) == [door.pk]

    other_door = AccessPointFactory(location=elsewhere)
    refused = admin_client.post(
        f"/admin/facilities/unit/{unit.pk}/change/",
        {**fields, "status": unit.status, "mapped_access_points": [other_door.pk]},
    )
    assert refused.status_code == 200 and "Not at this unit&#x27;s location" in refused.content.decode()

    door_url = f"/admin/facilities/accesspoint/{door.pk}/change/"
    assert 'name="location"' not in admin_client.get(door_url).content.decode()
    moved = {"location": elsewhere.pk, "name": "Gate", "kind": door.kind, "external_id": "G"}
    assert admin_client.post(door_url, moved).status_code == 302
    assert AccessPoint.objects.get(pk=door.pk).location_id == unit.location_id
    delete = admin_client.post(f"/admin/facilities/accesspoint/{door.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403


def test_a_location_keeps_its_time_zone_once_made(admin_client) -> None:
    location = LocationFactory(time_zone="Europe/Berlin")
    page = admin_client.get(f"/admin/facilities/location/{location.pk}/change/").content.decode()
    assert "Europe/Berlin" in page and 'name="time_zone"' not in page
    assert 'name="time_zone"' in admin_client.get("/admin/facilities/location/add/").content.decode()
