"""Dates, emails and ids people type stay inside what the calendar and the columns hold.

Out of range is an error beside its field and changes nothing; never a server error, on SQLite or
PostgreSQL.
"""

import datetime as dt
import importlib
import json
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from keyport.access.models import AccessEvent, AccessHolder, SharedAccess
from keyport.access.services import device_key_issue
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.contacts.models import Customer
from keyport.dashboard.access_events_forms import AccessEventsFilterForm
from keyport.dashboard.contact_forms import AllContactsForm, ContactForm
from keyport.dashboard.forms import StaffSignInForm
from keyport.dashboard.sections_forms import (
    BayForm,
    DocumentForm,
    EventForm,
    InvoiceForm,
    PaymentForm,
)
from keyport.dashboard.why_cant_forms import WhyCantForm
from keyport.events import services as events
from keyport.events.models import Event, Ticket
from keyport.facilities.admin import UnitAdminForm
from keyport.facilities.models import AccessPoint, Location, Unit
from keyport.lib import form_fields
from keyport.lib.admin import BoundedInput, ShownOnly
from keyport.portal.forms import SignInRequestForm
from keyport.portal.sections_forms import EmailChangeForm, InterestForm
from keyport.portal.share_forms import ShareForm
from keyport.staff.admin import StaffUserChangeForm
from tests import cast
from tests.factories import CarFactory, LocationFactory, StaffUserFactory
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
PAST_64_BITS = "99999999999999999999999"
LONG_EMAIL = "a" * 250 + "@example.com"  # 262 characters: valid to Django, too long for the column


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site)


def post_event(client: Client, location: Location, **changes: str) -> Any:
    data = {"location": location.pk, "title": "Open day", "place": "Hall B", "capacity": "30"}
    return client.post(reverse("dashboard:event_create"), data | {"starts_at": "2026-06-06T10:00"} | changes)


def post_share(client: Client, site, booking, **changes: Any) -> Any:
    data = {
        "emails": "friend@example.com",
        "units": [site.units[0].pk],
        "starts_on": "2026-03-03",
        "ends_on": "2026-03-09",
    }
    return client.post(reverse("portal:share_manage", args=[booking.pk]), data | changes)


def an_event(site, *, title: str, days_ahead: int) -> Any:
    return events.event_create(
        actor=Actor.system("tests"),
        location=site.location,
        title=title,
        starts_at=NOW + dt.timedelta(days=days_ahead),
        place="Hall B",
        capacity=3,
    )


def access_rows() -> tuple[int, int, int]:
    return SharedAccess.objects.count(), AccessHolder.objects.count(), AuditEntry.objects.count()


@time_machine.travel(NOW, tick=False)
def test_an_event_starting_in_year_9999_is_refused_beside_its_field_and_the_list_still_opens(
    owner_client,
) -> None:
    # West of UTC, 9999-12-31 23:59 local is an instant in year 10000.
    location = LocationFactory(time_zone="America/Chicago")
    client = owner_client
    response = post_event(client, location, starts_at="9999-12-31T23:59")
    assert response.status_code == 400
    assert 'id="id_starts_at-error"' in response.content.decode()
    assert not Event.objects.exists()
    assert client.get(reverse("dashboard:event_list")).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_an_event_ten_years_ahead_is_still_created(owner_client) -> None:
    location = LocationFactory(time_zone="America/Chicago")
    response = post_event(owner_client, location, starts_at="2036-03-02T10:00")
    assert response.status_code == 302
    assert Event.objects.get().local_starts_at().date() == dt.date(2036, 3, 2)


@time_machine.travel(NOW, tick=False)
def test_a_share_ending_in_year_9999_is_refused_beside_its_field(client, tenant, site, booking) -> None:
    sign_in_as(client, tenant)
    before = access_rows()
    response = post_share(client, site, booking, ends_on="9999-12-31")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="ends_on-error"' in page and "ten years from today" in page
    assert 'max="2036-03-02"' in page  # the browser's date picker stops there too
    assert access_rows() == before


@time_machine.travel(NOW, tick=False)
def test_a_guest_email_longer_than_its_column_is_refused_beside_its_field(
    client, tenant, site, booking
) -> None:
    sign_in_as(client, tenant)
    before = access_rows()
    response = post_share(client, site, booking, emails=f"friend@example.com, {LONG_EMAIL}")
    assert response.status_code == 400
    assert 'id="emails-error"' in response.content.decode()
    assert access_rows() == before


@time_machine.travel(NOW, tick=False)
def test_a_unit_id_past_64_bits_is_refused_beside_its_field(client, tenant, site, booking) -> None:
    sign_in_as(client, tenant)
    before = access_rows()
    response = post_share(client, site, booking, units=[PAST_64_BITS])
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="units-error"' in page and "Choose only units of this booking." in page
    assert access_rows() == before


@time_machine.travel(NOW, tick=False)
def test_asking_why_about_year_9999_west_of_utc_shows_the_error_beside_the_time(
    site, tenant, owner_client
) -> None:
    site.set(time_zone="America/Chicago")
    cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    query = {
        "why-person": f"contact-{tenant.pk}",
        "why-access_point": site.door.pk,
        "why-channel": "pin",
        "why-at": "9999-12-31T23:59",
    }
    url = reverse("dashboard:customer_detail", args=[tenant.customer_id])
    response = owner_client.get(url, query)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_why-at-error"' in page and "data-why-answer" not in page
    assert not AccessEvent.objects.exists()


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"unit": PAST_64_BITS}, 404),  # the page's answer for a unit not at this location
        ({"unit": "1.5"}, 404),
        ({"before": f"9999-12-31T23:59:59Z_{PAST_64_BITS}"}, 400),
        ({"before": "99999-01-01T00:00:00Z_1"}, 400),
    ],
)
def test_access_events_filters_out_of_range_are_refused_not_a_server_error(
    site, booking, query, status, owner_client
) -> None:
    url = reverse("dashboard:location_access_events", args=[site.location.pk])
    response = owner_client.get(url, query)
    assert response.status_code == status


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("location", [PAST_64_BITS, "-1", "1e3"])
def test_all_contacts_with_an_out_of_range_location_filter_shows_the_error(location, owner_client) -> None:
    response = owner_client.get(reverse("dashboard:all_contacts"), {"location": location})
    assert response.status_code == 200
    assert 'id="id_location-error"' in response.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL stores year 10000")
@time_machine.travel(NOW, tick=False)
def test_an_event_stored_past_year_9999_no_longer_breaks_the_lists(
    site, tenant, booking, owner_client
) -> None:
    """Stored before dates were bounded: the lists leave it out, as Python cannot read it back."""
    shown = an_event(site, title="Open day", days_ahead=30)
    stored = an_event(site, title="Far away", days_ahead=60)
    Ticket.objects.create(event=stored, contact=tenant)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_event SET starts_at = '10000-01-01 05:59:00+00' WHERE id = %s", [stored.pk]
        )
    client = owner_client
    listed = client.get(reverse("dashboard:event_list"))
    assert listed.status_code == 200
    assert "Open day" in listed.content.decode() and "Far away" not in listed.content.decode()
    assert client.get(reverse("dashboard:event_detail", args=[shown.pk])).status_code == 200
    assert client.get(reverse("dashboard:event_detail", args=[stored.pk])).status_code == 404
    sign_in_as(tenant_client := Client(), tenant)
    assert tenant_client.get(reverse("portal:tickets")).status_code == 200


# The forms, each with one out-of-range value a person could send: the field refuses it.


def _context(tenant, site, booking) -> dict[str, Any]:
    customer = tenant.customer
    CarFactory(customer=customer)
    locations = Location.objects.filter(pk=site.location.pk)
    return {
        "invoice": lambda data: InvoiceForm(
            data, location=site.location, customers=Customer.objects.filter(pk=customer.pk)
        ),
        "payment": lambda data: PaymentForm(data),
        "document": lambda data: DocumentForm(data, customer=customer, locations=locations),
        "event": lambda data: EventForm(data, locations=locations),
        "bay": lambda data: BayForm(
            data, bays=Unit.objects.filter(location=site.location), booked=[], free=[]
        ),
        "all_contacts": lambda data: AllContactsForm(data, locations=locations),
        "contact": lambda data: ContactForm(data),
        "access_events": lambda data: AccessEventsFilterForm(data, location=site.location),
        "why_cant": lambda data: WhyCantForm(
            _query({f"why-{key}": value for key, value in data.items()} | {"why-access_point": site.door.pk}),
            access_points=AccessPoint.objects.filter(location=site.location),
            holders=AccessHolder.objects.filter(location=site.location),
        ),
        "staff_sign_in": lambda data: StaffSignInForm(None, data),
        "share": lambda data: ShareForm(data, booking=booking),
        "sign_in": lambda data: SignInRequestForm(data),
        "interest": lambda data: InterestForm(data),
        "email_change": lambda data: EmailChangeForm(data),
        "admin_staff": lambda data: StaffUserChangeForm(data, instance=StaffUserFactory()),
        "admin_unit": lambda data: UnitAdminForm(data, instance=site.units[0]),
    }


def _query(data: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return query


def _other_script(number: int) -> str:
    """The id in Arabic-Indic digits, which Python's int() reads as the number itself."""
    return "".join(chr(0x660 + int(digit)) for digit in str(number))


def _ids(tenant, booking, site) -> dict[str, Callable[[], int]]:
    return {
        "customer": lambda: tenant.customer.pk,
        "booking": lambda: booking.pk,
        "car": lambda: tenant.customer.cars.get().pk,
        "location": lambda: site.location.pk,
        "unit": lambda: site.units[0].pk,
        "access_point": lambda: site.door.pk,
    }


DATES = ["9999-12-31", "2036-03-03", "1999-12-31"]
DATETIMES = ["9999-12-31T23:59", "2036-03-03T00:00", "1999-12-31T23:59"]
WALK = (
    [("invoice", "due_on", value) for value in DATES]
    + [("payment", "received_on", value) for value in DATES]
    + [("share", field, value) for field in ("starts_on", "ends_on") for value in DATES]
    + [("event", field, value) for field in ("starts_at", "rsvp_deadline") for value in DATETIMES]
    + [("why_cant", "at", value) for value in DATETIMES]
    + [("event", "capacity", PAST_64_BITS)]
    + [("bay", "monthly_rent", value) for value in ("-1", "1" * 12, "1.001")]
    + [(form, "email", LONG_EMAIL) for form in ("contact", "why_cant", "sign_in", "interest", "email_change")]
    + [("staff_sign_in", "username", LONG_EMAIL), ("share", "emails", LONG_EMAIL)]
    + [
        (form, field, value)
        for form, field, kind in [
            ("invoice", "customer", "customer"),
            ("invoice", "booking", "booking"),
            ("document", "car", "car"),
            ("document", "booking", "booking"),
            ("event", "location", "location"),
            ("bay", "bay", "unit"),
            ("all_contacts", "location", "location"),
            ("access_events", "unit", "unit"),
        ]
        for value in (PAST_64_BITS, f"other-script:{kind}", "-1", "1.0")
    ]
    + [
        (form, field, [value])
        for form, field, kind in [
            ("share", "units", "unit"),
            ("admin_staff", "locations", "location"),
            ("admin_unit", "mapped_access_points", "access_point"),
        ]
        for value in (PAST_64_BITS, f"other-script:{kind}", "-1", "")
    ]
)


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("form_name", "field", "value"), WALK)
def test_every_form_refuses_out_of_range_input_beside_its_field(
    tenant, site, booking, form_name, field, value
) -> None:
    build = _context(tenant, site, booking)[form_name]
    ids = _ids(tenant, booking, site)

    def resolved(item: str) -> str:
        if item.startswith("other-script:"):
            return _other_script(ids[item.split(":", 1)[1]]())
        return item

    value = [resolved(item) for item in value] if isinstance(value, list) else resolved(value)
    form = build({field: value})
    assert not form.is_valid()
    assert field in form.errors, form.errors


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("form_name", "field", "value"),
    [
        ("share", "ends_on", "2036-03-02"),
        ("event", "starts_at", "2036-03-02T23:59"),
        ("invoice", "due_on", "2000-01-01"),
        ("contact", "email", "b" * 242 + "@example.com"),
        ("share", "units", "unit"),
        ("bay", "bay", "unit"),
    ],
)
def test_the_edges_of_each_range_are_accepted(tenant, booking, site, form_name, field, value) -> None:
    if value in _ids(tenant, booking, site):
        value = str(_ids(tenant, booking, site)[value]())
        value = [value] if field == "units" else value
    form = _context(tenant, site, booking)[form_name]({field: value})
    form.is_valid()
    assert field not in form.errors, form.errors


def test_an_invitation_to_an_address_longer_than_its_column_is_refused(site, booking) -> None:
    event = an_event(site, title="Open day", days_ahead=30)
    with pytest.raises(ValidationError) as refused:
        events.event_invite(actor=Actor.system("tests"), event=event, emails=["ok@example.com", LONG_EMAIL])
    assert "emails" in refused.value.message_dict
    assert not Ticket.objects.exists()


def _user_forms() -> list[type[forms.BaseForm]]:
    """Every form class of the staff dashboard and the customer portal."""
    for package in ("keyport.dashboard", "keyport.portal"):
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{module.name}")
    found: list[type[forms.BaseForm]] = []
    pending: list[type[forms.BaseForm]] = [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith(("keyport.dashboard.", "keyport.portal.")):
            found.append(cls)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__name__}")


def _bounded_by_model(form: type[forms.BaseForm], name: str) -> bool:
    model = getattr(getattr(form, "_meta", None), "model", None)
    if model is None:
        return False
    return any(isinstance(v, MaxValueValidator) for v in model._meta.get_field(name).validators)


@pytest.mark.parametrize("form", _user_forms(), ids=lambda cls: cls.__name__)
def test_every_form_takes_dates_emails_and_ids_through_the_bounded_fields(form) -> None:
    """A new form that takes a date, an email, an id or a number gets its bounds too."""
    for name, field in form.base_fields.items():
        where = f"{form.__name__}.{name}"
        if isinstance(field, forms.DateTimeField):
            assert isinstance(field, form_fields.DateTimeField), where
        elif isinstance(field, forms.DateField):
            assert isinstance(field, form_fields.DateField), where
        elif isinstance(field, forms.EmailField):
            assert field.max_length is not None and field.max_length <= 254, where
        elif isinstance(field, forms.ModelMultipleChoiceField):
            assert isinstance(field, form_fields.ModelMultipleChoiceField), where
        elif isinstance(field, forms.ModelChoiceField):
            assert isinstance(field, form_fields.ModelChoiceField), where
        elif isinstance(field, forms.DecimalField):
            assert field.max_digits is not None, where
        elif isinstance(field, forms.IntegerField):
            assert field.max_value is not None or _bounded_by_model(form, name), where


# The access API: numbers a door sends that no column holds are a 400, never a 500.


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "body",
    [
        '{"access_point": 99999999999999999999999, "pin": "123456"}',
        '{"access_point": "DOOR", "pin": 99999999999999999999999}',
        '{"access_point": "DOOR", "pin": "99999999999999999999999"}',
        '{"access_point": ' + "9" * 4000 + ', "pin": "123456"}',
        '{"access_point": 1e400, "pin": "123456"}',
    ],
)
def test_the_access_api_answers_400_to_numbers_out_of_range(client, site, booking, body) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    response = client.post(
        "/api/v1/access/check",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    assert json.loads(response.content)["error"] == "bad_request"
    assert not AccessEvent.objects.exists()


def test_ids_are_whole_numbers_a_64_bit_column_holds() -> None:
    assert form_fields.id_from("1") == 1
    assert form_fields.id_from(" 42 ") == 42
    assert form_fields.id_from(str(2**63 - 1)) == 2**63 - 1
    for refused in [str(2**63), "0", "-1", "1.0", "1e3", "٤٢", "", "9" * 4000, True, None, 1.0]:
        assert form_fields.id_from(refused) is None, refused


# The admin: the same bounds on every form it can save.


@time_machine.travel(NOW, tick=False)
def test_the_admin_refuses_an_event_in_year_9999_beside_its_field(admin_client) -> None:
    location = LocationFactory(time_zone="America/Chicago")
    response = admin_client.post(
        "/admin/events/event/add/",
        {
            "location": location.pk,
            "title": "Open day",
            "place": "Hall B",
            "capacity": "30",
            "starts_at_0": "9999-12-31",
            "starts_at_1": "23:59:00",
            "created_at_0": "2026-03-02",
            "created_at_1": "09:00:00",
            "tickets-TOTAL_FORMS": "0",
            "tickets-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "ten years from today" in response.content.decode()
    assert not Event.objects.exists()


def test_every_admin_that_saves_takes_input_through_the_bounded_fields() -> None:
    checked = []
    for model_admin in admin.site._registry.values():
        if not type(model_admin).__module__.startswith("keyport."):
            continue
        for part in [type(model_admin), *model_admin.inlines]:
            if not issubclass(part, ShownOnly):
                assert issubclass(part, BoundedInput), part.__name__
                checked.append(part)
    assert len(checked) >= 5
