import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from keyport.access.models import SharedAccess
from keyport.access.providers.sensorberg import provider as sensorberg
from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact, CustomerKind
from keyport.facilities.models import Location, UnitKind
from keyport.staff.models import Role, StaffUser
from tests.cast import BOOKING_STARTS, Site, book, share, site_create
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
    today,
)
from tests.sensorberg_fake import FakeSensorberg
from tests.stripe_fake import SECRET_KEY, WEBHOOK_SECRET, FakeStripe


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    """Tasks run in the enqueuing process unless a test runs the real worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _no_access_sweep(settings):
    """The worker starts the access sweep's chain; tests that want it turn it back on."""
    settings.ACCESS_SWEEP_SECONDS = 0


@pytest.fixture(autouse=True)
def _no_overdue_check(settings):
    """The worker starts the overdue check's chain; tests that want it turn it back on."""
    settings.BILLING_OVERDUE_CHECK_MINUTES = 0
    settings.BILLING_RUN_ENABLED = False
    settings.PAYMENTS_AUTOPAY_SWEEP_MINUTES = 0


@pytest.fixture(autouse=True)
def _no_task_results_prune(settings):
    """The worker starts the daily pruning of task results; tests that want it turn it back on."""
    settings.TASK_RESULTS_KEEP_DAYS = 0


@pytest.fixture(autouse=True)
def _no_stripe(settings):
    """No Stripe keys from the environment: tests that pay use the local fake (`fake_stripe`)."""
    settings.STRIPE_SECRET_KEY = settings.STRIPE_WEBHOOK_SECRET = settings.STRIPE_API_BASE = ""


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Staff passwords hashed in a microsecond, not in PBKDF2's half second: tests make hundreds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded files (documents, car photos, demo data) go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _mail_to_memory(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"


# The cast, in the spirit of healthchecks' BaseTestCase: each member is a fixture of its own, made
# only when a test asks for it, so a test about one grant is not counting the partner's.


@pytest.fixture
def site(db) -> Site:
    """The owner tenant's location, with mapped doors."""
    return site_create("Lager Kreuzberg")


@pytest.fixture
def other_site(db) -> Site:
    """A second location, in the same time zone, with its own doors."""
    return site_create("Lager Nord")


@pytest.fixture
def tenant(site) -> Contact:
    """The owner tenant: the primary contact of a storage customer of the site."""
    customer = CustomerFactory(name="Mara Schneider", home_location=site.location)
    return ContactFactory(
        customer=customer, first_name="Mara", last_name="Schneider", email="tenant@example.com"
    )


@pytest.fixture
def booking(tenant, site) -> Booking:
    """The owner tenant's current booking: all three units of the site from BOOKING_STARTS, open-ended."""
    return book(tenant, site, starts_on=BOOKING_STARTS)


@pytest.fixture
def partner(tenant) -> Contact:
    """The owner tenant's additional contact, who may use the portal."""
    return ContactFactory(
        customer=tenant.customer,
        is_primary=False,
        first_name="Jonas",
        last_name="Schneider",
        email="partner@example.com",
    )


@pytest.fixture
def other_tenant(site) -> Contact:
    """Another customer's primary contact at the same site, with no booking unless a test makes one."""
    customer = CustomerFactory(name="Otto Other", home_location=site.location)
    return ContactFactory(customer=customer, first_name="Otto", email="other@example.com")


@pytest.fixture
def guest(site) -> Contact:
    """A ticket-only guest: a lead's contact, who rents nothing."""
    customer = CustomerFactory(name="Sam Rivera", kind=CustomerKind.LEAD, home_location=site.location)
    return ContactFactory(customer=customer, first_name="Sam", email="guest@example.com")


@pytest.fixture
def shared_access(booking, site) -> SharedAccess:
    """The shared-access guest: the owner tenant shares A001 with friend@example.com for a week
    from the site's today (a share may not start in the past)."""
    today = site.location.local_now().date()
    return share(booking, "friend@example.com", today, today + dt.timedelta(days=6))


@pytest.fixture
def owner(db) -> StaffUser:
    return StaffUserFactory(email="owner@keyport.test", full_name="Olga Owner")


@pytest.fixture
def manager(site) -> StaffUser:
    return staff_member(Role.MANAGER, site.location, email="manager@keyport.test")


@pytest.fixture
def employee(site) -> StaffUser:
    return staff_member(Role.EMPLOYEE, site.location, email="employee@keyport.test")


@pytest.fixture
def other_manager(other_site) -> StaffUser:
    """A manager of the other site only."""
    return staff_member(Role.MANAGER, other_site.location, email="other-manager@keyport.test")


def staff_member(role: str, *locations: Location, **fields: object) -> StaffUser:
    user = StaffUserFactory(role=role, **fields)
    user.locations.set(locations)
    return user


def signed_in(user: StaffUser) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(db) -> Callable[..., Client]:
    """A client signed in as new staff of this role at these locations (none: a staff user with
    no location): `staff_client(Role.EMPLOYEE, site.location)`."""

    def make(role: str, *locations: Location, **fields: object) -> Client:
        return signed_in(staff_member(role, *locations, **fields))

    return make


@pytest.fixture
def owner_client(owner) -> Client:
    return signed_in(owner)


@pytest.fixture
def manager_client(manager) -> Client:
    return signed_in(manager)


@pytest.fixture
def employee_client(employee) -> Client:
    return signed_in(employee)


@pytest.fixture
def other_manager_client(other_manager) -> Client:
    return signed_in(other_manager)


@pytest.fixture
def actor(owner):
    return Actor.staff(owner)


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def fake(settings) -> Iterator[FakeSensorberg]:
    """A local fake of Sensorberg's cloud on a free port of 127.0.0.1, which the settings then
    allow, with the adapter's token cache cleared."""
    settings.SENSORBERG_ALLOW_PRIVATE_HOSTS = True
    server = FakeSensorberg().start()
    sensorberg.forget_cached_state()
    yield server
    server.stop()
    sensorberg.forget_cached_state()


@pytest.fixture
def fake_stripe(settings) -> Iterator[FakeStripe]:
    """A local fake of Stripe's API and Checkout on a free port of 127.0.0.1, and the install's
    Stripe keys set to the fake's."""
    server = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def rentals(site, tenant, other_tenant) -> None:
    """What the portal lists for the cast, written straight to the tables (no grants): the owner
    tenant rents A010 and A011 from today and parks a Volvo on bay P001, the other tenant rents
    B001 and drives a Jaguar."""
    location = site.location
    units = [UnitFactory(location=location, number="A010"), UnitFactory(location=location, number="A011")]
    booking_of(tenant.customer, units, today())
    bay = UnitFactory(location=location, number="P001", kind=UnitKind.PARKING_BAY)
    CarFactory(customer=tenant.customer, make="Volvo", model="P1800", plate="B MS 1800", bay=bay)
    booking_of(other_tenant.customer, [UnitFactory(location=location, number="B001")], today())
    CarFactory(customer=other_tenant.customer, make="Jaguar", model="E-Type", plate="B OO 1")
