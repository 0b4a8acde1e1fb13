"""Search ignores accents and case both ways ("kruger" finds "Krüger" and "Kruger", "Krüger" finds
both), and where a site is in Germany or Austria "Müller" and "Mueller" find each other: in All
Contacts, Move in's customer search, Rentals and Cars, on SQLite and PostgreSQL alike."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from keyport.access.location_settings import location_details_update
from keyport.audit.services import Actor
from keyport.contacts.models import Contact
from keyport.contacts.services import ContactDetails, NewCustomer, new_customer_create
from keyport.frontdesk.queries import find_customers_to_move_in
from keyport.frontdesk.services import contact_update
from keyport.lib.search_text import fold, fold_german, foldings, search_text_of, spells_german
from keyport.staff.models import Role
from tests.factories import CarFactory, LocationFactory, UnitFactory, booking_of

pytestmark = pytest.mark.django_db
ALL_CONTACTS = reverse("dashboard:all_contacts")
SYSTEM = Actor.system("tests")


def test_folding_drops_accents_and_case_and_writes_umlauts_out_the_german_way():
    assert fold("Krüger") == fold("KRUGER") == fold("kruger") == "kruger"
    assert fold("Ångström Ćosić Ｆｕｌｌ") == "angstrom cosic full"
    assert fold("Straße") == "strasse"
    assert fold_german("Müller-Lüdenscheid Öz Äbi") == "mueller-luedenscheid oez aebi"
    assert foldings("Müller") == {"muller", "mueller"}
    assert foldings("Mueller") == {"mueller"}
    assert search_text_of(["Max", "Müller"], german=True) == "max muller max mueller"
    assert search_text_of(["Max", "Müller"], german=False) == "max muller"
    assert search_text_of(["Ben", "Kruger"], german=True) == "ben kruger"
    assert spells_german("DE") and spells_german("at") and not spells_german("US") and not spells_german(None)


def _person(name: str, location, email: str = "") -> Contact:
    customer = new_customer_create(
        actor=SYSTEM, new=NewCustomer(name=name, email=email, home_location=location)
    )
    return customer.contacts.get()


def _names(client, text: str) -> set[str]:
    response = client.get(ALL_CONTACTS, {"q": text})
    return {contact.full_name for contact in response.context["page"].contacts}


@pytest.fixture
def berlin():
    return LocationFactory(name="Berlin", country="DE")


@pytest.fixture
def austin():
    return LocationFactory(name="Austin", country="US", time_zone="America/Chicago")


def test_all_contacts_finds_a_name_with_or_without_its_accents(owner_client, berlin, austin):
    _person("Anna Krüger", berlin)
    _person("Ben Kruger", austin)
    _person("Cleo Kröger", berlin)
    for text in ("kruger", "Krüger", "KRÜGER", "krúger"):
        assert _names(owner_client, text) == {"Anna Krüger", "Ben Kruger"}, text
    assert _names(owner_client, "anna krug") == {"Anna Krüger"}


def test_in_germany_and_austria_an_umlaut_and_its_written_out_form_find_each_other(
    owner_client, berlin, austin
):
    vienna = LocationFactory(name="Wien", country="AT", time_zone="Europe/Vienna")
    _person("Max Müller", berlin)
    _person("Lena Mueller", berlin)
    _person("Jörg Weiß", vienna)
    _person("Tom Müller", austin)
    for text in ("mueller", "Müller", "MÜLLER"):
        assert _names(owner_client, text) >= {"Max Müller", "Lena Mueller"}, text
    # In Texas "Müller" is not spelled "Mueller": the written-out form finds no one there.
    assert "Tom Müller" not in _names(owner_client, "mueller")
    assert _names(owner_client, "muller") == {"Max Müller", "Tom Müller"}
    assert _names(owner_client, "joerg weiss") == _names(owner_client, "jorg weiß") == {"Jörg Weiß"}


def test_a_changed_name_is_folded_again(owner_client, berlin):
    contact = _person("Anna Krüger", berlin, email="anna@example.com")
    contact_update(
        actor=SYSTEM,
        contact=contact,
        details=ContactDetails(first_name="Anna", last_name="Gödel", email="anna@example.com"),
    )
    assert _names(owner_client, "kruger") == set()
    assert _names(owner_client, "goedel") == _names(owner_client, "godel") == {"Anna Gödel"}


def test_move_in_finds_the_customer_without_the_accent(owner, berlin):
    _person("Anna Krüger", berlin)
    assert [customer.name for customer in find_customers_to_move_in(owner, "kruger")] == ["Anna Krüger"]


def test_rentals_and_cars_find_a_customer_by_a_contacts_name_without_its_accents(owner_client, berlin):
    contact = _person("Anna Krüger", berlin)
    other = _person("Ben Fischer", berlin)
    booking = booking_of(contact.customer, [UnitFactory(location=berlin)], dt.date(2026, 1, 1))
    booking_of(other.customer, [UnitFactory(location=berlin)], dt.date(2026, 1, 1))
    rentals = owner_client.get(reverse("dashboard:rentals"), {"q": "kruger"}).context["page"].rentals
    assert [rental.booking.pk for rental in rentals] == [booking.pk]
    car = CarFactory(customer=contact.customer, plate="B AK 1")
    CarFactory(customer=other.customer, plate="B BF 1")
    cars = owner_client.get(reverse("dashboard:car_list"), {"q": "krüger"}).context["rows"]
    assert [row[0].pk for row in cars] == [car.pk]


def test_search_stays_within_the_staff_members_locations(staff_client, berlin):
    elsewhere = LocationFactory(name="Nord", country="DE")
    _person("Anna Krüger", elsewhere)
    assert _names(staff_client(Role.MANAGER, berlin), "kruger") == set()


def test_a_location_moved_to_another_country_folds_its_customers_again(owner_client, austin):
    _person("Tom Müller", austin)
    assert _names(owner_client, "mueller") == set()
    location_details_update(actor=SYSTEM, location=austin, country="at")
    assert _names(owner_client, "mueller") == _names(owner_client, "muller") == {"Tom Müller"}
    location_details_update(actor=SYSTEM, location=austin, country="US")
    assert _names(owner_client, "mueller") == set()


def test_the_migration_folds_every_existing_contact(berlin, austin):
    _person("Max Müller", berlin)
    _person("Tom Müller", austin)
    Contact.objects.update(search_text="")
    migration = importlib.import_module("keyport.contacts.migrations.0005_contact_search_text_folded")
    migration.fold_existing(apps, None)
    texts = dict(Contact.objects.values_list("first_name", "search_text"))
    assert texts == {"Max": "max muller max mueller", "Tom": "tom muller"}
