"""Which locations a staff member works at, and what a change of it does: owners and staff given All
locations see every location, others only their own and nothing while they have none; a change of
role or locations signs the person out on every device and is audited."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.base_user import AbstractBaseUser
from django.test import Client
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.staff.models import Role, StaffUser
from keyport.staff.services import staff_scope_change
from tests.factories import ContactFactory, CustomerFactory, LocationFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

HOME = "/dashboard/"
NO_LOCATION = "You have no location yet: ask an owner to give you one."


def signed_in(user: StaffUser) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get(HOME).status_code == 200
    return client


def is_signed_out(client: Client) -> bool:
    response = client.get(HOME)
    return response.status_code == 302 and response["Location"].startswith(reverse("dashboard:login"))


@pytest.fixture
def berlin():
    return LocationFactory(name="Lager Kreuzberg")


@pytest.fixture
def munich():
    return LocationFactory(name="Lager Schwabing")


@pytest.fixture
def manager(berlin):
    user = StaffUserFactory(email="max@keyport.test", role=Role.MANAGER)
    user.locations.add(berlin)
    return user


# Signed out when the scope changes ------------------------------------------------------------


def test_a_staff_member_given_another_location_is_signed_out_on_every_device(actor, manager, berlin, munich):
    desk, phone = signed_in(manager), signed_in(manager)
    changed = staff_scope_change(
        actor=actor, member=manager, role=Role.MANAGER, all_locations=False, locations=[berlin, munich]
    )
    assert changed
    assert is_signed_out(desk) and is_signed_out(phone)
    assert set(manager.locations.all()) == {berlin, munich}
    entry = AuditEntry.objects.get(action="staff.scope_changed")
    assert entry.target_id == manager.pk and entry.actor_label == "owner@keyport.test"
    assert entry.details["before"]["locations"] == ["Lager Kreuzberg"]
    assert entry.details["after"]["locations"] == ["Lager Kreuzberg", "Lager Schwabing"]
    assert signed_in(manager)  # a fresh sign-in works under the new scope


def test_a_staff_member_whose_role_changes_is_signed_out(actor, manager, berlin):
    desk = signed_in(manager)
    staff_scope_change(
        actor=actor, member=manager, role=Role.EMPLOYEE, all_locations=False, locations=[berlin]
    )
    assert is_signed_out(desk)
    entry = AuditEntry.objects.get(action="staff.scope_changed")
    assert (entry.details["before"]["role"], entry.details["after"]["role"]) == ("manager", "employee")


def test_a_staff_member_given_all_locations_is_signed_out(actor, manager, berlin):
    desk = signed_in(manager)
    staff_scope_change(actor=actor, member=manager, role=Role.MANAGER, all_locations=True, locations=[berlin])
    assert is_signed_out(desk)


def test_the_same_role_and_locations_again_sign_no_one_out_and_audit_nothing(actor, manager, berlin):
    desk = signed_in(manager)
    changed = staff_scope_change(
        actor=actor, member=manager, role=Role.MANAGER, all_locations=False, locations=[berlin]
    )
    assert not changed
    assert desk.get(HOME).status_code == 200
    assert not AuditEntry.objects.exists()


def test_other_staff_stay_signed_in(actor, manager, berlin, munich):
    colleague = StaffUserFactory(role=Role.MANAGER)
    colleague.locations.add(berlin)
    theirs = signed_in(colleague)
    staff_scope_change(
        actor=actor, member=manager, role=Role.MANAGER, all_locations=False, locations=[munich]
    )
    assert theirs.get(HOME).status_code == 200


def test_sessions_made_before_this_release_stay_valid(manager):
    """Generation 0 gives exactly Django's own session hash."""
    assert manager.session_generation == 0
    assert manager.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(manager)


# The Django admin goes through the same service ---------------------------------------------


def admin_post(member: StaffUser, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "email": member.email,
        "full_name": member.full_name,
        "role": member.role,
        "locations": [location.pk for location in member.locations.all()],
        "is_active": "on",
        "created_at_0": member.created_at.strftime("%Y-%m-%d"),
        "created_at_1": member.created_at.strftime("%H:%M:%S"),
    }
    if member.all_locations:
        fields["all_locations"] = "on"
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def test_locations_changed_in_the_admin_sign_the_person_out_and_are_audited(admin_client, manager, munich):
    desk = signed_in(manager)
    url = f"/admin/staff/staffuser/{manager.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="all_locations"' in page and 'name="locations"' in page
    response = admin_client.post(url, admin_post(manager, locations=[munich.pk]))
    assert response.status_code == 302, response.content.decode()
    assert list(manager.locations.all()) == [munich]
    assert is_signed_out(desk)
    entry = AuditEntry.objects.get(action="staff.scope_changed")
    assert entry.actor_label == "admin@example.com"


def test_a_role_changed_in_the_admin_signs_the_person_out(admin_client, manager):
    desk = signed_in(manager)
    url = f"/admin/staff/staffuser/{manager.pk}/change/"
    assert admin_client.post(url, admin_post(manager, role=Role.EMPLOYEE)).status_code == 302
    manager.refresh_from_db()
    assert manager.role == Role.EMPLOYEE
    assert is_signed_out(desk)


def test_a_new_name_in_the_admin_signs_no_one_out(admin_client, manager, berlin):
    desk = signed_in(manager)
    url = f"/admin/staff/staffuser/{manager.pk}/change/"
    assert admin_client.post(url, admin_post(manager, full_name="Max Mustermann")).status_code == 302
    manager.refresh_from_db()
    assert manager.full_name == "Max Mustermann" and list(manager.locations.all()) == [berlin]
    assert desk.get(HOME).status_code == 200
    assert not AuditEntry.objects.filter(action="staff.scope_changed").exists()


# What a staff member sees ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_staff_with_no_location_see_nothing_and_are_told_why(role, berlin):
    customer = CustomerFactory(name="Mara Schneider", home_location=berlin)
    ContactFactory(customer=customer, first_name="Mara", last_name="Schneider")
    client = signed_in(StaffUserFactory(role=role))
    home = client.get(HOME).content.decode()
    assert NO_LOCATION in home
    assert "Lager Kreuzberg" not in home
    assert "No locations yet. An owner adds the first location" not in home
    assert client.get(reverse("dashboard:location_detail", args=[berlin.pk])).status_code == 404
    assert client.get(reverse("dashboard:customer_detail", args=[customer.pk])).status_code == 404
    assert "Mara" not in client.get(reverse("dashboard:all_contacts")).content.decode()


def test_staff_given_all_locations_see_every_location(berlin, munich):
    client = signed_in(StaffUserFactory(role=Role.EMPLOYEE, all_locations=True))
    home = client.get(HOME).content.decode()
    assert "Lager Kreuzberg" in home and "Lager Schwabing" in home and NO_LOCATION not in home
    assert client.get(reverse("dashboard:location_detail", args=[munich.pk])).status_code == 200


def test_all_locations_includes_one_opened_later(berlin):
    employee = StaffUserFactory(role=Role.EMPLOYEE, all_locations=True)
    later = LocationFactory(name="Lager Pankow")
    assert employee.can_see_location(later)


def test_owners_see_every_location_without_the_box_ticked(owner, berlin, munich):
    assert not owner.all_locations
    home = signed_in(owner).get(HOME).content.decode()
    assert "Lager Kreuzberg" in home and "Lager Schwabing" in home and NO_LOCATION not in home


def test_staff_with_a_location_are_not_told_they_have_none(manager):
    assert NO_LOCATION not in signed_in(manager).get(HOME).content.decode()


def test_a_new_staff_member_starts_with_no_location_not_every_location():
    assert StaffUser._meta.get_field("all_locations").default is False


# The release: nobody loses or gains a location ------------------------------------------------


def test_the_migration_keeps_who_worked_everywhere_working_everywhere(berlin):
    migration = importlib.import_module(
        "keyport.staff.migrations.0003_staff_all_locations_and_session_generation"
    )
    owner = StaffUserFactory(role=Role.OWNER)
    everywhere = StaffUserFactory(role=Role.EMPLOYEE)
    scoped = StaffUserFactory(role=Role.MANAGER)
    scoped.locations.add(berlin)
    migration.keep_who_worked_everywhere(apps, None)
    flags = dict(StaffUser.objects.values_list("pk", "all_locations"))
    assert flags == {owner.pk: False, everywhere.pk: True, scoped.pk: False}
    assert not StaffUser.objects.get(pk=scoped.pk).can_see_location(LocationFactory())


def test_a_staff_member_added_in_the_admin_starts_with_no_location(admin_client):
    assert admin_client.get("/admin/staff/staffuser/add/").status_code == 200
    response = admin_client.post(
        "/admin/staff/staffuser/add/",
        {
            "email": "new@keyport.test",
            "full_name": "Nina New",
            "role": Role.EMPLOYEE,
            "password1": "a long and unusual passphrase",
            "password2": "a long and unusual passphrase",
        },
    )
    assert response.status_code == 302, response.content.decode()
    added = StaffUser.objects.get(email="new@keyport.test")
    assert added.role == Role.EMPLOYEE and not added.all_locations and not added.locations.exists()
    assert added.has_no_location()
