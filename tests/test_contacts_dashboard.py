"""Staff side of the portal: All Contacts, Send Invite, the customer page, email templates, customer app."""

import base64
import datetime as dt
import json
import re
from dataclasses import replace

import pytest
from django.core import mail
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.bookings.models import BookingUnit
from keyport.contacts.models import AccountStatus, Contact, CustomerAppSettings, PortalLink
from keyport.contacts.services import ContactDetails, invite_send
from keyport.dashboard.contacts_views import COLUMNS
from keyport.emails.models import EmailTemplate, OutgoingEmail
from keyport.emails.services import email_deliver
from keyport.frontdesk.queries import (
    ContactFilters,
    contact_sort_keys,
    decode_cursor,
    encode_cursor,
    filter_contacts,
    stream_contacts,
)
from keyport.frontdesk.services import contact_update
from keyport.staff.models import ContactListSettings, Role
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
    booking_of,
    today,
)
from tests.portal_helpers import last_token_sent_to, press_continue

pytestmark = pytest.mark.django_db

ALL_CONTACTS = "/dashboard/contacts/"


def invite(client, contact, layout="row"):
    return client.post(
        reverse("dashboard:contact_invite", args=[contact.pk]), {"layout": layout}, HTTP_HX_REQUEST="true"
    )


# All Contacts --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_all_contacts_shows_portal_access_and_account_status(owner_client, site):
    page = owner_client.get(ALL_CONTACTS).content.decode()
    assert "All Contacts" in page and "Filters &amp; Settings" in page
    assert "Portal Access" in page and "Account Status" in page
    assert "Full" in page and "Ticket-only" in page
    assert "Not signed in yet" in page
    assert "View Details" in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_row_shows_units_cars_location_and_active(owner_client, tenant):
    page = owner_client.get(ALL_CONTACTS, {"q": "tenant@"}).content.decode()
    row = page[page.index(f'id="contact-{tenant.pk}"') :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r'<td class="text-end">(\d+)</td>', row)
    assert cells == ["2", "1"]  # two units booked, one car
    assert "Lager Kreuzberg" in row and "Active" in row


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_units_column_counts_current_and_upcoming_booked_units_only(owner_client, site):
    customer = CustomerFactory()
    contact = ContactFactory(customer=customer, email="counted@example.com")
    location = LocationFactory()
    day = dt.timedelta(days=1)
    booking_of(customer, [UnitFactory(location=location)], today() - 30 * day)  # open-ended: counts
    booking_of(customer, [UnitFactory(location=location)], today() + 10 * day, today() + 20 * day)
    booking_of(customer, [UnitFactory(location=location)], today() - 30 * day, today() - day)  # ended
    cancelled = booking_of(customer, [UnitFactory(location=location)], today() - 5 * day)
    BookingUnit.objects.filter(booking=cancelled).update(is_cancelled=True)
    page = owner_client.get(ALL_CONTACTS, {"q": "counted@"}).content.decode()
    row = page[page.index(f'id="contact-{contact.pk}"') :]
    row = row[: row.index("</tr>")]
    assert re.findall(r'<td class="text-end">(\d+)</td>', row) == ["2", "0"]


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_search_finds_a_contact_by_email(owner_client, site):
    page = owner_client.get(ALL_CONTACTS, {"q": "partner@example"}).content.decode()
    assert "Jonas Schneider" in page
    assert "Otto" not in page


@pytest.mark.parametrize("text", ["B MS 1800", "b-ms1800", "bms 18", "MS-1800"])
@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_search_finds_the_people_of_a_car_plate_however_it_is_typed(owner_client, site, text):
    page = owner_client.get(ALL_CONTACTS, {"q": text}).content.decode()
    assert ">Mara Schneider</a>" in page and ">Jonas Schneider</a>" in page
    assert ">Otto Example</a>" not in page


@pytest.mark.parametrize("text", ["+49 30 1234567", "30 123-4567", "(30) 1234567", "1234567"])
@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_search_finds_a_phone_number_by_its_digits(owner_client, other_tenant, text):
    Contact.objects.filter(pk=other_tenant.pk).update(phone="+49 30 123 45 67")
    page = owner_client.get(ALL_CONTACTS, {"q": text}).content.decode()
    assert ">Otto Example</a>" in page
    assert ">Mara Schneider</a>" not in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_search_finds_a_name_with_an_accented_capital(owner_client, site):
    ContactFactory(first_name="Özlem", last_name="Şahin", customer=CustomerFactory())
    texts = ["Özlem", "ÖZLEM", "Özlem Şahin"]
    if connection.vendor == "postgresql":  # SQLite's lower() folds only A-Z
        texts.append("özlem şahin")
    for text in texts:
        page = owner_client.get(ALL_CONTACTS, {"q": text}).content.decode()
        assert ">Özlem Şahin</a>" in page, text


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_search_by_first_and_last_name(owner_client, site):
    page = owner_client.get(ALL_CONTACTS, {"q": "mara schneider"}).content.decode()
    assert ">Mara Schneider</a>" in page and ">Jonas Schneider</a>" not in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_search_follows_a_changed_name_and_email(owner_client, partner):
    details = ContactDetails(
        first_name="Jona",
        last_name="Meyer-Lüdenscheid",
        email="jona.meyer@example.org",
        phone=partner.phone,
        can_access_portal=partner.can_access_portal,
    )
    contact_update(actor=_system(), contact=partner, details=details)
    for text in ("meyer-lüden", "JONA.MEYER@example", "Lüdenscheid jona"):
        page = owner_client.get(ALL_CONTACTS, {"q": text}).content.decode()
        assert ">Jona Meyer-Lüdenscheid</a>" in page, text
    page = owner_client.get(ALL_CONTACTS, {"q": "partner@example"}).content.decode()
    assert "Meyer" not in page
    # The services keep the search column: the next change is found at once, the old name not.
    contact_update(actor=_system(), contact=partner, details=replace(details, last_name="Zander"))
    assert "Lüdenscheid" not in owner_client.get(ALL_CONTACTS, {"q": "ludenscheid"}).content.decode()
    page = owner_client.get(ALL_CONTACTS, {"q": "zander"}).content.decode()
    assert ">Jona Zander</a>" in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_filter_by_portal_access_and_account_status(owner_client, partner):
    page = owner_client.get(ALL_CONTACTS, {"access": "ticket_only"}).content.decode()
    assert ">Sam Example</a>" in page and ">Mara Schneider</a>" not in page
    invite_send(actor=_system(), contact=partner)
    page = owner_client.get(ALL_CONTACTS, {"status": "email_sent"}).content.decode()
    assert ">Jonas Schneider</a>" in page and ">Mara Schneider</a>" not in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_filter_by_active_and_location(owner_client, site):
    elsewhere = LocationFactory(name="Elsewhere")
    ContactFactory(customer=CustomerFactory(home_location=elsewhere, is_active=False), first_name="Paused")
    page = owner_client.get(ALL_CONTACTS, {"active": "inactive"}).content.decode()
    assert ">Paused Example</a>" in page and ">Mara Schneider</a>" not in page
    page = owner_client.get(ALL_CONTACTS, {"location": site.location.pk}).content.decode()
    assert ">Mara Schneider</a>" in page and ">Paused Example</a>" not in page
    page = owner_client.get(ALL_CONTACTS, {"location": elsewhere.pk}).content.decode()
    assert ">Paused Example</a>" in page and ">Mara Schneider</a>" not in page


def _names(page: str) -> list[str]:
    return [part.split("</a>", 1)[0].split(">")[-1] for part in page.split('<th scope="row">')[1:]]


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_sort_by_a_column_head_and_back(owner_client, site):
    page = owner_client.get(ALL_CONTACTS).content.decode()
    assert _names(page) == ["Jonas Schneider", "Mara Schneider", "Otto Example", "Sam Example"]
    assert 'aria-sort="ascending"' in page and "sort=-name" in page
    page = owner_client.get(ALL_CONTACTS, {"sort": "email"}).content.decode()
    assert _names(page) == ["Sam Example", "Otto Example", "Jonas Schneider", "Mara Schneider"]
    page = owner_client.get(ALL_CONTACTS, {"sort": "-name"}).content.decode()
    assert _names(page) == ["Sam Example", "Otto Example", "Mara Schneider", "Jonas Schneider"]
    page = owner_client.get(ALL_CONTACTS, {"sort": "nonsense"}).content.decode()
    assert _names(page)[0] == "Jonas Schneider"


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_htmx_search_answers_with_the_results_only(owner_client, site):
    response = owner_client.get(
        ALL_CONTACTS, {"q": "Mara"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="contacts-results"
    )
    text = response.content.decode()
    assert text.startswith('<div id="contacts-results"')
    assert "Mara Schneider" in text and "<h1" not in text
    # The Filters panel's sort follows a sort chosen from a column head.
    assert 'id="contacts-sort" hx-swap-oob="true"' in text


def _walk(client, params, direction="after"):
    """Follow the Next links from the first page; the names on each page."""
    pages, params = [], dict(params)
    while True:
        response = client.get(ALL_CONTACTS, params, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="contacts-results")
        page = response.content.decode()
        pages.append(page)
        found = re.search(r'rel="next" href="\?([^"]+)"', page)
        if not found:
            return pages
        params = dict(QueryDict(found.group(1).replace("&amp;", "&")).items())


@pytest.mark.parametrize("sort", ["name", "-name", "email", "-email", "phone", "-created"])
def test_next_pages_seek_through_every_contact_once_in_order(owner_client, sort):
    location = LocationFactory()
    for n in range(120):
        customer = CustomerFactory(home_location=location)
        ContactFactory(
            customer=customer,
            first_name=["Ann", "Bea", "Cem"][n % 3],  # ties on the first name, as in real data
            last_name=f"L{n % 7}",
            email=None if n % 10 == 0 else f"c{n:03d}@example.com",
            can_access_portal=n % 10 != 0,
            phone=f"+49 {n % 4}",
        )
    pages = _walk(owner_client, {"sort": sort})
    assert len(pages) == 3
    ids = [int(pk) for page in pages for pk in re.findall(r'<tr data-contact-row id="contact-(\d+)"', page)]
    keys, descending = contact_sort_keys(sort)
    expected = filter_contacts(Contact.objects.all(), ContactFilters(sort=sort)).values_list("pk", flat=True)
    assert ids == list(expected)
    assert len(set(ids)) == 120


def test_previous_goes_back_to_the_same_page(owner_client):
    for n in range(120):
        ContactFactory(first_name=f"P{n:03d}")
    first, second, third = _walk(owner_client, {"sort": "name"})
    back = re.search(r'rel="prev" href="\?([^"]+)"', third).group(1).replace("&amp;", "&")
    page = owner_client.get(f"{ALL_CONTACTS}?{back}").content.decode()
    assert _names(page) == _names(second)
    back = re.search(r'rel="prev" href="\?([^"]+)"', page).group(1).replace("&amp;", "&")
    page = owner_client.get(f"{ALL_CONTACTS}?{back}").content.decode()
    assert _names(page) == _names(first)
    assert 'rel="prev"' not in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_cursor_that_does_not_decode_starts_at_the_first_page(owner_client, site):
    for cursor in ("nonsense", "W10", "WyJhIiwiYiIsInN0cmluZyJd", "!!"):
        page = owner_client.get(ALL_CONTACTS, {"sort": "created", "after": cursor}).content.decode()
        assert len(_names(page)) == 4


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_cursor_holding_a_nul_character_starts_at_the_first_page(owner_client, site):
    # PostgreSQL refuses text with NUL in it: such a cursor must not reach the database.
    keys = contact_sort_keys("name")[0]
    cursor = base64.urlsafe_b64encode(json.dumps(["Mara\u0000", "", 1]).encode()).decode()
    assert decode_cursor(cursor, keys) is None
    for direction in ("after", "before"):
        response = owner_client.get(ALL_CONTACTS, {direction: cursor})
        assert response.status_code == 200 and len(_names(response.content.decode())) == 4


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_filters_and_settings_are_remembered_for_the_staff_member(client, owner, site):
    client.force_login(owner)
    client.post(reverse("dashboard:contacts_table_settings"), {"view": "cards", "columns": ["email"]})
    saved = ContactListSettings.objects.get(user=owner)
    assert saved.view == "cards" and saved.columns == ["email"]
    client.get(ALL_CONTACTS, {"q": "", "active": "active", "sort": "email"})
    assert ContactListSettings.objects.get(user=owner).query == "active=active&sort=email"

    other_device = Client()
    other_device.force_login(owner)
    response = other_device.get(ALL_CONTACTS)
    assert response.status_code == 302 and response["Location"] == f"{ALL_CONTACTS}?active=active&sort=email"
    page = other_device.get(response["Location"]).content.decode()
    assert 'class="card h-100"' in page
    other_device.post(reverse("dashboard:contacts_table_settings"), {"view": "table", "columns": ["email"]})
    page = other_device.get(ALL_CONTACTS, {"q": ""}).content.decode()
    assert 'href="?q=&amp;sort=email" hx-get="?q=&amp;sort=email">Email</a></th>' in page
    assert "Portal Access</th>" not in page
    assert ContactListSettings.objects.get(user=owner).query == ""
    assert other_device.get(ALL_CONTACTS).status_code == 200


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_search_too_long_to_remember_is_still_run(client, owner, site):
    client.force_login(owner)
    client.get(ALL_CONTACTS, {"active": "active"})
    # 100 letters (the longest search) take 900 characters in a query string: more than is kept.
    response = client.get(ALL_CONTACTS, {"q": "漢" * 100, "active": "active"})
    assert response.status_code == 200 and "No contacts match." in response.content.decode()
    assert ContactListSettings.objects.get(user=owner).query == "active=active"


def test_unknown_settings_are_refused_and_change_nothing(owner_client, owner):
    url = reverse("dashboard:contacts_table_settings")
    owner_client.post(url, {"view": "cards", "columns": ["name", "email"]})
    response = owner_client.post(url, {"view": "poster", "columns": ["name", "password"]})
    assert response.status_code == 400 and "nothing was changed" in response.content.decode()
    settings = ContactListSettings.objects.get(user=owner)
    assert (settings.view, settings.columns) == ("cards", ["name", "email"])


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_each_staff_member_has_their_own_settings(client, owner, site, manager_client):
    client.force_login(owner)
    client.post(reverse("dashboard:contacts_table_settings"), {"view": "cards", "columns": ["email"]})
    page = manager_client.get(ALL_CONTACTS).content.decode()
    assert 'class="card h-100"' not in page and "Portal Access</th>" in page


def _queries_of(client, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ALL_CONTACTS, params)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("view", ["table", "cards"])
def test_all_contacts_makes_the_same_number_of_queries_for_1_row_50_rows_and_a_deep_page(
    owner_client, owner, view
):
    location = LocationFactory()
    for n in range(160):
        customer = CustomerFactory(home_location=location, is_active=n % 5 != 0)
        ContactFactory(customer=customer, first_name=f"P{n:03d}")
        if n % 3 == 0:
            booking_of(customer, [UnitFactory(location=location)], today())
        if n % 4 == 0:
            CarFactory(customer=customer)
    owner_client.post(
        reverse("dashboard:contacts_table_settings"), {"view": view, "columns": [k for k, _ in COLUMNS]}
    )
    params = {"sort": "name", "location": location.pk}
    owner_client.get(ALL_CONTACTS, params)  # remembers the filters: the pages below only read
    full, page = _queries_of(owner_client, params)
    assert len(re.findall(r'data-contact-row id="contact-', page)) == 50
    deep_cursor = encode_cursor(Contact.objects.get(first_name="P100"), ("first_name", "last_name", "id"))
    deep, page = _queries_of(owner_client, {**params, "after": deep_cursor})
    assert len(re.findall(r'data-contact-row id="contact-', page)) == 50 and "P101" in page
    last_cursor = encode_cursor(Contact.objects.get(first_name="P158"), ("first_name", "last_name", "id"))
    one, page = _queries_of(owner_client, {**params, "after": last_cursor})
    assert len(re.findall(r'data-contact-row id="contact-', page)) == 1
    assert full == deep == one <= 6


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_scoped_managers_pages_make_a_constant_number_of_queries(site, manager_client):
    for _ in range(60):
        ContactFactory(customer=CustomerFactory(home_location=site.location))
    manager_client.get(ALL_CONTACTS, {"sort": "created"})
    many, page = _queries_of(manager_client, {"sort": "created"})
    assert len(re.findall(r'data-contact-row id="contact-', page)) == 50
    few, page = _queries_of(
        manager_client, {"sort": "created", "after": re.search(r'after=([^"&]+)', page).group(1)}
    )
    assert len(re.findall(r'data-contact-row id="contact-', page)) == 14
    assert many == few <= 9


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_customer_report_exports_the_same_columns(owner_client, tenant):
    tenant.first_name = "=HYPERLINK(1)"
    tenant.save()
    response = owner_client.get(reverse("dashboard:customer_report"))
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    assert lines[0] == (
        "Name,Customer,Primary,Email,Phone,Portal Access,Account Status,First signed in (UTC),"
        "Active,Location,Units,Cars,Created (UTC)"
    )
    assert any("Ticket-only" in line and "guest@example.com" in line for line in lines)
    assert "'=HYPERLINK(1)" in text
    tenant_line = next(line for line in lines if "tenant@example.com" in line)
    assert ",Active,Lager Kreuzberg,2,1," in tenant_line


@pytest.mark.django_db(transaction=True)
def test_the_export_holds_no_write_lock_on_sqlite():
    for n in range(3):
        ContactFactory(first_name=f"Row{n}")
    streamed = stream_contacts(Contact.objects.all(), chunk_size=1)
    next(streamed)
    # PostgreSQL streams inside a transaction; SQLite's would block every writer until the end.
    assert connection.in_atomic_block == (connection.vendor == "postgresql")
    assert len(list(streamed)) == 2


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_customer_report_applies_the_search_and_filters(owner_client, site):
    response = owner_client.get(reverse("dashboard:customer_report"), {"access": "full", "q": "Schneider"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3
    assert all("Schneider" in line for line in lines[1:])


# Send Invite / Resend Invite --------------------------------------------------------------------


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_send_invite_sends_the_magic_link_and_the_row_shows_email_sent(owner_client, tenant):
    assert "Send Invite" in owner_client.get(ALL_CONTACTS, {"q": "tenant@"}).content.decode()
    response = invite(owner_client, tenant)
    row = response.content.decode()
    assert row.startswith("<tr data-contact-row")
    assert "Email Sent" in row and "Resend Invite" in row
    assert "Invite sent to tenant@example.com" in row
    assert PortalLink.objects.get(contact=tenant).purpose == "invite"
    assert last_token_sent_to("tenant@example.com")
    assert AuditEntry.objects.filter(action="contact.portal_invite_sent", target_id=tenant.pk).exists()


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_invite_email_is_delivered_after_commit(owner_client, tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(owner_client, tenant)
    assert mail.outbox[0].to == ["tenant@example.com"]
    assert "/login/link/" in mail.outbox[0].body


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_after_sign_in_the_invite_button_is_gone(owner_client, tenant, client):
    invite_send(actor=_system(), contact=tenant)
    token = last_token_sent_to("tenant@example.com")
    from django.test import Client

    press_continue(Client(), token)
    page = owner_client.get(ALL_CONTACTS, {"q": "tenant@"}).content.decode()
    assert "Signed In" in page
    assert "Send Invite" not in page and "Resend Invite" not in page
    assert invite(owner_client, tenant).content.decode().count("already") == 1


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_no_invite_button_without_email_or_portal_access(owner_client, tenant):
    ContactFactory(
        customer=tenant.customer,
        is_primary=False,
        first_name="Nomail",
        email=None,
        can_access_portal=False,
    )
    ContactFactory(customer=tenant.customer, is_primary=False, first_name="Noportal", can_access_portal=False)
    for name in ("Nomail", "Noportal"):
        page = owner_client.get(ALL_CONTACTS, {"q": name}).content.decode()
        assert name in page
        assert "Send Invite" not in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_invite_from_the_customer_page_answers_with_its_row(owner_client, partner):
    row = invite(owner_client, partner, layout="customer").content.decode()
    assert "Additional contact" in row and "Resend Invite" in row


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_employees_may_send_invites(tenant, employee_client):
    assert invite(employee_client, tenant).status_code == 200
    assert PortalLink.objects.filter(contact=tenant).exists()


# Scope -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_scoped_manager_sees_only_customers_of_their_locations(site, manager_client):
    other = LocationFactory(name="Elsewhere")
    stranger = ContactFactory(customer=CustomerFactory(home_location=other), first_name="Stranger")
    visiting = ContactFactory(customer=CustomerFactory(home_location=other), first_name="Visiting")
    booking_of(visiting.customer, [UnitFactory(location=site.location)], today())
    page = manager_client.get(ALL_CONTACTS).content.decode()
    assert "Mara Schneider" in page and "Visiting" in page
    assert "Stranger" not in page
    assert (
        manager_client.get(reverse("dashboard:customer_detail", args=[stranger.customer_id])).status_code
        == 404
    )
    assert (
        manager_client.get(reverse("dashboard:customer_detail", args=[visiting.customer_id])).status_code
        == 200
    )
    assert invite(manager_client, stranger).status_code == 404
    report = b"".join(manager_client.get(reverse("dashboard:customer_report")).streaming_content).decode()
    assert "Stranger" not in report


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_a_manager_does_not_change_a_customer_at_home_at_another_location(site, tenant, manager_client):
    other = LocationFactory(name="Elsewhere")
    visiting = ContactFactory(
        customer=CustomerFactory(home_location=other), first_name="Visiting", email="visiting@example.com"
    )
    booking_of(visiting.customer, [UnitFactory(location=site.location)], today())
    customer_url = reverse("dashboard:customer_detail", args=[visiting.customer_id])
    active = manager_client.post(reverse("dashboard:customer_active", args=[visiting.customer_id]), {})
    add = manager_client.post(
        reverse("dashboard:contact_add", args=[visiting.customer_id]), {"new-first_name": "X"}
    )
    prefix = f"c{visiting.pk}"
    edit = manager_client.post(
        reverse("dashboard:contact_edit", args=[visiting.pk]),
        {f"{prefix}-first_name": "X", f"{prefix}-email": "x@example.com"},
    )
    assert (active.status_code, add.status_code, edit.status_code) == (403, 403, 403)
    visiting.refresh_from_db()
    assert visiting.customer.is_active and visiting.email == "visiting@example.com"
    assert visiting.customer.contacts.count() == 1
    page = manager_client.get(customer_url).content.decode()
    assert "Add Contact" not in page and "Set Inactive" not in page
    # Their own location's customers they still change.
    mine = reverse("dashboard:customer_active", args=[tenant.customer_id])
    assert manager_client.post(mine, {"is_active": "false", "confirm": "1"}).status_code == 302


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_active_switch_without_a_choice_changes_nothing(owner_client, tenant):
    url = reverse("dashboard:customer_active", args=[tenant.customer_id])
    for sent in ({}, {"is_active": "no"}):
        refused = owner_client.post(url, sent)
        assert refused.status_code == 400 and "nothing was changed" in refused.content.decode()
    tenant.customer.refresh_from_db()
    assert tenant.customer.is_active


# The customer page -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_customer_page_has_crm_information_contacts_and_portal_check(owner_client, tenant):
    page = owner_client.get(reverse("dashboard:customer_detail", args=[tenant.customer_id])).content.decode()
    for text in (
        "CRM Information",
        "Active / Inactive",
        "Contacts",
        "Add Contact",
        "Edit Contact",
        "Can access customer portal (login with their email)",
        "Portal check",
        "Jonas Schneider",
    ):
        assert text in page
    assert "Send Invite, or walk them through the login page." in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_inactive_pauses_the_customer_and_keeps_records(owner_client, tenant):
    url = reverse("dashboard:customer_active", args=[tenant.customer_id])
    response = owner_client.post(url, {"is_active": "false", "confirm": "1"})
    assert response.status_code == 302
    tenant.customer.refresh_from_db()
    assert not tenant.customer.is_active
    assert tenant.customer.contacts.count() == 2
    assert tenant.customer.bookings.count() == 1
    page = owner_client.get(reverse("dashboard:customer_detail", args=[tenant.customer_id])).content.decode()
    assert "Set Active" in page
    assert "switch CRM Information to Active" in page
    owner_client.post(url, {"is_active": "true"})
    tenant.customer.refresh_from_db()
    assert tenant.customer.is_active


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_add_contact_with_portal_access_needs_their_own_email(owner_client, tenant):
    url = reverse("dashboard:contact_add", args=[tenant.customer_id])
    response = owner_client.post(url, {"new-first_name": "Bea", "new-can_access_portal": "on"})
    assert response.status_code == 400
    assert "needs their own email address" in response.content.decode()
    assert "data-keyport-open" in response.content.decode()
    response = owner_client.post(
        url, {"new-first_name": "Bea", "new-email": "tenant@example.com", "new-can_access_portal": "on"}
    )
    assert "Another contact already uses this email address." in response.content.decode()
    response = owner_client.post(
        url, {"new-first_name": "Bea", "new-email": "bea@example.com", "new-can_access_portal": "on"}
    )
    assert response.status_code == 302
    bea = Contact.objects.get(email="bea@example.com")
    assert bea.customer == tenant.customer and not bea.is_primary and bea.can_access_portal


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_edit_contact_changes_the_email_and_tells_the_old_address(owner_client, partner):
    url = reverse("dashboard:contact_edit", args=[partner.pk])
    prefix = f"c{partner.pk}"
    response = owner_client.post(
        url,
        {
            f"{prefix}-first_name": "Jonas",
            f"{prefix}-email": "jonas@new.example.com",
            f"{prefix}-can_access_portal": "on",
        },
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.email == "jonas@new.example.com"
    assert OutgoingEmail.objects.filter(to="partner@example.com", template="portal_email_changed").exists()


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_employees_cannot_change_contacts_or_the_customer(tenant, partner, employee_client):
    assert (
        employee_client.post(
            reverse("dashboard:customer_active", args=[tenant.customer_id]), {"is_active": "false"}
        ).status_code
        == 403
    )
    assert (
        employee_client.post(
            reverse("dashboard:contact_add", args=[tenant.customer_id]), {"new-first_name": "X"}
        ).status_code
        == 403
    )
    prefix = f"c{partner.pk}"
    assert (
        employee_client.post(
            reverse("dashboard:contact_edit", args=[partner.pk]), {f"{prefix}-first_name": "X"}
        ).status_code
        == 403
    )
    page = employee_client.get(
        reverse("dashboard:customer_detail", args=[tenant.customer_id])
    ).content.decode()
    assert "Add Contact" not in page and "Send Invite" in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_portal_check_names_the_next_action(owner_client, tenant, partner, guest):
    nomail = ContactFactory(
        customer=tenant.customer,
        is_primary=False,
        first_name="Nomail",
        email=None,
        can_access_portal=False,
    )
    off = ContactFactory(
        customer=tenant.customer, is_primary=False, first_name="Off", can_access_portal=False
    )
    invite_send(actor=_system(), contact=partner)
    page = owner_client.get(reverse("dashboard:customer_detail", args=[tenant.customer.pk])).content.decode()

    def check_of(contact):
        start = page.index(f'data-portal-check="{contact.pk}"')
        return page[start : page.index("</div>", start)]

    assert "Add an email address" in check_of(nomail)
    assert "Enable portal access" in check_of(off)
    assert "Resend Invite" in check_of(partner)
    assert "Send Invite" in check_of(tenant)
    assert "1 current booking, 1 car" in check_of(tenant)
    guest_page = owner_client.get(
        reverse("dashboard:customer_detail", args=[guest.customer_id])
    ).content.decode()
    assert "Ticket-only" in guest_page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_the_email_log_is_shown_on_the_contact(owner_client, tenant):
    invite_send(actor=_system(), contact=tenant)
    page = owner_client.get(reverse("dashboard:customer_detail", args=[tenant.customer.pk])).content.decode()
    assert "Emails sent" in page
    assert "portal_invite" in page and "Queued" in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_customer_page_query_count_is_bounded(owner_client, tenant, django_assert_max_num_queries):
    for _ in range(8):
        ContactFactory(customer=tenant.customer, is_primary=False)
    with django_assert_max_num_queries(40):
        owner_client.get(reverse("dashboard:customer_detail", args=[tenant.customer.pk]))


# Email templates --------------------------------------------------------------------------------------


def test_email_templates_list_shows_defaults(owner_client):
    page = owner_client.get(reverse("dashboard:email_templates")).content.decode()
    assert "Portal invite" in page and "Portal sign-in link" in page and "Keyport default" in page


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_an_owner_edits_the_invite_and_invites_use_it(owner_client, tenant):
    url = reverse("dashboard:email_template_edit", args=["portal_invite"])
    response = owner_client.post(url, {"subject": "Welcome {{ first_name }}", "body_text": "Hi! {{ link }}"})
    assert response.status_code == 302
    invite_send(actor=_system(), contact=tenant)
    email = OutgoingEmail.objects.get(template="portal_invite")
    assert email.subject == "Welcome Mara"
    assert email.body_text == "Hi! [link: added when sent, never kept in the log]"
    email_deliver(email_id=email.pk)
    assert mail.outbox[0].body.startswith("Hi! http")
    owner_client.post(reverse("dashboard:email_template_reset", args=["portal_invite"]))
    assert not EmailTemplate.objects.exists()


def test_a_template_without_the_link_or_with_errors_is_refused_beside_the_field(owner_client):
    url = reverse("dashboard:email_template_edit", args=["portal_sign_in_link"])
    response = owner_client.post(url, {"subject": "Hi", "body_text": "No link here"})
    assert response.status_code == 400
    assert "must contain {{ link }}" in response.content.decode()
    response = owner_client.post(url, {"subject": "Hi", "body_text": "{% if %} {{ link }}"})
    assert "Template error" in response.content.decode()
    response = owner_client.post(url, {"subject": "Hi", "body_text": "{% load static %}{{ link }}"})
    assert "Template error" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_the_preview_renders_with_example_data(owner_client):
    url = reverse("dashboard:email_template_preview", args=["portal_invite"])
    response = owner_client.post(url, {"subject": "For {{ first_name|upper }}", "body_text": "{{ link }}"})
    text = response.content.decode()
    assert "For MARA" in text and "EXAMPLE-ONE-TIME-TOKEN" in text
    page = owner_client.get(reverse("dashboard:email_template_edit", args=["portal_invite"])).content.decode()
    assert "Your Keyport customer portal" in page


def test_an_unknown_template_is_404(owner_client):
    assert owner_client.get(reverse("dashboard:email_template_edit", args=["nope"])).status_code == 404


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_owners_change_templates_and_customer_app(role, staff_client):
    location = LocationFactory()
    client = staff_client(role, location)
    assert client.get(reverse("dashboard:email_templates")).status_code == 403
    assert (
        client.post(
            reverse("dashboard:email_template_edit", args=["portal_invite"]),
            {"subject": "x", "body_text": "{{ link }}"},
        ).status_code
        == 403
    )
    assert client.post(reverse("dashboard:location_customer_app", args=[location.pk]), {}).status_code == 403
    assert not EmailTemplate.objects.exists() and not CustomerAppSettings.objects.exists()


# Settings > Website & customer app ----------------------------------------------------------------------


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_an_owner_turns_sections_off_per_location(owner_client, site):
    url = reverse("dashboard:location_customer_app", args=[site.location.pk])
    page = owner_client.get(url).content.decode()
    assert page.count("checked") == 5
    response = owner_client.post(
        url, {"show_billing": "on", "show_documents": "on", "show_events": "on", "show_settings": "on"}
    )
    assert response.status_code == 302
    settings_row = CustomerAppSettings.objects.get(location=site.location)
    assert not settings_row.show_cars and settings_row.show_billing
    assert AuditEntry.objects.filter(action="location.customer_app_updated").exists()
    overview = owner_client.get(reverse("dashboard:customer_app")).content.decode()
    assert "Billing, Documents, Events, Settings" in overview


def _system():
    from keyport.audit.services import Actor

    return Actor.system("tests")


@pytest.mark.usefixtures("rentals", "partner", "guest")
def test_account_status_is_email_sent_only_for_the_current_address(tenant, actor):
    invite_send(actor=actor, contact=tenant)
    assert Contact.objects.get(pk=tenant.pk).account_status() == AccountStatus.EMAIL_SENT
    Contact.objects.filter(pk=tenant.pk).update(email="changed@example.com")
    assert Contact.objects.get(pk=tenant.pk).account_status() == AccountStatus.NOT_SIGNED_IN
