"""Settings > Website & customer app: a site's name, logo and colour on the portal and in emails."""

import datetime as dt
import io
import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from keyport.access.emails import ACCESS_REVOKED, SHARED_ACCESS
from keyport.access.services import booking_revoke_access
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.contacts.services import invite_send, sign_in_link_send
from keyport.emails.models import OutgoingEmail
from keyport.facilities.models import Location, contrast_ratio, readable_on_light, readable_text_colour
from keyport.lib.uploads import MAX_IMAGE_PIXELS
from keyport.staff.models import Role
from tests import cast
from tests.factories import LocationFactory, StaffUserFactory
from tests.portal_helpers import last_token_sent_to, press_continue, sign_in_as

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rentals", "partner", "guest")]
GUEST_KEY = re.compile(r"/key/(?P<key>[A-Za-z0-9_-]+)/")


def image_upload(size=(800, 200), image_format="PNG", name="logo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", size, "#336699").save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def brand(client, location, **data):
    return client.post(reverse("dashboard:location_branding", args=[location.pk]), data)


def test_owner_sets_name_colour_and_logo_and_the_portal_shows_them(owner_client, client, site, tenant):
    response = brand(
        owner_client, site.location, site_name="Lagerhaus", colour="#1A3D6E", logo=image_upload()
    )
    assert response.status_code == 302
    site.location.refresh_from_db()
    assert (site.location.brand_name, site.location.brand_colour) == ("Lagerhaus", "#1a3d6e")
    with Image.open(site.location.brand_logo) as stored:
        assert stored.format == "PNG" and stored.size == (384, 96)
    entry = AuditEntry.objects.get(action="location.branding_updated")
    assert entry.details["changed"]["brand_name"] == ["", "Lagerhaus"]
    assert entry.details["changed"]["brand_logo"] == "added"

    client.logout()
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:home")).content.decode()
    assert '<span class="portal-brand-name">Lagerhaus</span>' in page
    assert 'data-brand-colour="#1a3d6e" data-brand-text="#ffffff"' in page and "portal-branded" in page
    assert "keyport/branding.js" in page
    assert 'class="portal-logo" src="data:image/png;base64,' in page


def test_the_brand_colour_becomes_css_custom_properties():
    script = (settings.BASE_DIR / "static/keyport/branding.js").read_text()
    assert 'setProperty("--kp-brand", source.dataset.brandColour)' in script
    css = (settings.BASE_DIR / "static/keyport/keyport.css").read_text()
    assert ".portal-brand-bar { background-color: var(--kp-brand); }" in css


def test_text_on_the_brand_colour_is_white_or_dark_whichever_reads_better():
    assert readable_text_colour("#1a3d6e") == "#ffffff"
    assert readable_text_colour("#ffd600") == "#212529"
    assert readable_text_colour("#000000") == "#ffffff"
    assert readable_text_colour("#ffffff") == "#212529"


def test_without_branding_the_portal_keeps_keyports_look(client, tenant):
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:home")).content.decode()
    assert '<span class="portal-brand-name">Keyport</span>' in page
    assert "portal-branded" not in page and "data-brand-colour" not in page


def assert_branding_unchanged(location) -> None:
    location.refresh_from_db()
    assert (location.brand_name, location.brand_colour, location.brand_logo.name) == ("", "", "")
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("colour", ["blue", "#12345", "#1234567", "#GGGGGG", "1a3d6e"])
def test_a_bad_colour_is_refused_and_nothing_changes(owner_client, site, colour):
    response = brand(owner_client, site.location, site_name="Lagerhaus", colour=colour, logo=image_upload())
    assert response.status_code == 400
    assert "Enter the colour as #RRGGBB, for example #1a73e8." in response.content.decode()
    assert_branding_unchanged(site.location)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("logo.png", b"not an image at all", content_type="image/png"),
            "must be a PNG or JPEG",
        ),
        (
            SimpleUploadedFile("logo.png", b"%PDF-1.7 a document", content_type="image/png"),
            "must be a PNG or JPEG",
        ),
        (
            SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n broken", content_type="image/png"),
            "not a readable",
        ),
    ],
)
def test_a_logo_that_is_not_a_png_or_jpeg_is_refused_and_nothing_changes(owner_client, site, upload, message):
    response = brand(owner_client, site.location, site_name="Lagerhaus", colour="#1a3d6e", logo=upload)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert_branding_unchanged(site.location)


def test_a_logo_over_1_mb_is_refused(owner_client, site):
    big = SimpleUploadedFile(
        "logo.png", b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024), content_type="image/png"
    )
    response = brand(owner_client, site.location, site_name="", colour="", logo=big)
    assert response.status_code == 400
    assert "The logo may be at most 1 MB." in response.content.decode()


def test_a_jpeg_logo_stays_a_jpeg_and_can_be_removed(owner_client, site):
    brand(owner_client, site.location, site_name="", colour="", logo=image_upload((100, 50), "JPEG", "l.jpg"))
    site.location.refresh_from_db()
    assert site.location.brand_logo.name.endswith(".jpg")
    with Image.open(site.location.brand_logo) as stored:
        assert stored.format == "JPEG" and stored.size == (100, 50)
    assert brand(owner_client, site.location, site_name="", colour="", remove_logo="on").status_code == 302
    site.location.refresh_from_db()
    assert not site.location.brand_logo
    actions = list(AuditEntry.objects.values_list("details__changed__brand_logo", flat=True).order_by("pk"))
    assert actions == ["added", "removed"]


def test_an_email_to_a_customer_of_the_location_carries_its_branding(owner_client, site, tenant):
    brand(owner_client, site.location, site_name="Lagerhaus", colour="#ffd600", logo=image_upload())
    site.location.refresh_from_db()
    invite_send(actor=Actor.system("tests"), contact=tenant)
    email = OutgoingEmail.objects.get(template="portal_invite")
    assert email.subject == "Your Lagerhaus customer portal"
    assert "the Lagerhaus customer portal" in email.body_text
    assert "Lagerhaus</span>" in email.body_html
    assert "background-color:#ffd600;color:#212529" in email.body_html


def test_the_login_page_shows_the_only_sites_branding(client, owner_client, site):
    brand(owner_client, site.location, site_name="Lagerhaus", colour="#1a3d6e")
    client.logout()
    page = client.get(reverse("sign_in:login")).content.decode()
    assert '<span class="portal-brand-name">Lagerhaus</span>' in page and "portal-branded" in page
    LocationFactory()
    page = client.get(reverse("sign_in:login")).content.decode()
    assert '<span class="portal-brand-name">Keyport</span>' in page and "portal-branded" not in page


def test_the_branding_form_shows_the_current_choice(owner_client, site):
    brand(owner_client, site.location, site_name="Lagerhaus", colour="#1a3d6e")
    page = owner_client.get(
        reverse("dashboard:location_customer_app", args=[site.location.pk])
    ).content.decode()
    assert 'value="Lagerhaus"' in page and 'value="#1a3d6e"' in page and "with white text" in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_owners_change_branding(client, site, role):
    client.force_login(StaffUserFactory(role=role, all_locations=True))
    assert brand(client, site.location, site_name="Hijacked", colour="#000000").status_code == 403
    site.location.refresh_from_db()
    assert site.location.brand_name == ""


def test_a_missing_logo_file_leaves_the_site_name(client, owner_client, site, tenant):
    brand(owner_client, site.location, site_name="Lagerhaus", colour="", logo=image_upload())
    site.location.refresh_from_db()
    site.location.brand_logo.storage.delete(site.location.brand_logo.name)
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:home")).content.decode()
    assert '<span class="portal-brand-name">Lagerhaus</span>' in page and "portal-logo" not in page


def test_a_logo_with_too_many_pixels_is_refused_and_nothing_changes(owner_client, site):
    # One bit a pixel compresses to a few kilobytes however many pixels it has.
    buffer = io.BytesIO()
    Image.new("1", (8000, MAX_IMAGE_PIXELS // 8000 + 1)).save(buffer, format="PNG")
    upload = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    response = brand(owner_client, site.location, site_name="Lagerhaus", colour="#1a3d6e", logo=upload)
    assert response.status_code == 400
    assert "The logo&#x27;s image is too large; use a smaller one." in response.content.decode()
    assert_branding_unchanged(site.location)


def test_a_new_logo_removes_the_old_file_once_saved(owner_client, site, django_capture_on_commit_callbacks):
    brand(owner_client, site.location, site_name="", colour="", logo=image_upload())
    site.location.refresh_from_db()
    old = site.location.brand_logo.name
    storage = site.location.brand_logo.storage
    assert storage.exists(old)
    with django_capture_on_commit_callbacks(execute=True):
        response = brand(owner_client, site.location, site_name="", colour="", logo=image_upload((300, 100)))
    assert response.status_code == 302
    site.location.refresh_from_db()
    assert site.location.brand_logo.name != old
    assert storage.exists(site.location.brand_logo.name) and not storage.exists(old)


def test_guest_emails_carry_the_branding_of_the_bookings_location(site, tenant, other_site, other_tenant):
    today = timezone.localdate()
    cast.book(other_tenant, other_site, starts_on=today)
    booking = cast.book(tenant, site, starts_on=today)
    Location.objects.filter(pk=other_site.location.pk).update(brand_name="Lagerhaus Nord")
    Location.objects.filter(pk=site.location.pk).update(brand_name="Lagerhaus Sud", brand_colour="#ffd600")
    site.location.refresh_from_db()
    booking.refresh_from_db()

    cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=3))
    booking_revoke_access(actor=Actor.system("tests"), booking=booking, reason="Overdue")

    to_guest = OutgoingEmail.objects.filter(to="friend@example.com")
    assert sorted(to_guest.values_list("template", flat=True)) == sorted([SHARED_ACCESS, ACCESS_REVOKED])
    for email in to_guest:
        assert "Lagerhaus Sud</span>" in email.body_html
        assert "background-color:#ffd600" in email.body_html
        assert "Lagerhaus Nord" not in email.body_html


def test_the_brand_colour_as_text_on_white_is_darkened_only_where_it_would_not_read():
    assert readable_on_light("#1a3d6e") == "#1a3d6e"
    for colour in ["#ffd600", "#1a73e8", "#ffffff", "#00ff00"]:
        shade = readable_on_light(colour)
        assert contrast_ratio(shade, "#ffffff") >= 4.5, colour
    assert readable_on_light("#ffd600") != "#ffd600"


def test_the_portal_names_the_tabs_colour_beside_the_brand_colour(client, owner_client, site, tenant):
    brand(owner_client, site.location, site_name="Lagerhaus", colour="#ffd600")
    client.logout()
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:home")).content.decode()
    link = readable_on_light("#ffd600")
    assert f'data-brand-colour="#ffd600" data-brand-text="#212529" data-brand-link="{link}"' in page
    script = (settings.BASE_DIR / "static/keyport/branding.js").read_text()
    assert 'setProperty("--kp-brand-link", source.dataset.brandLink)' in script


def two_branded_sites(owner_client, site) -> Location:
    """The site's location branded "Lagerhaus" with a logo, and a second site branded otherwise."""
    brand(owner_client, site.location, site_name="Lagerhaus", colour="#1a3d6e", logo=image_upload())
    other = LocationFactory()
    brand(owner_client, other, site_name="Other Storage", colour="#ffd600")
    return other


LAGERHAUS = '<span class="portal-brand-name">Lagerhaus</span>'


def assert_shows_lagerhaus(page: str) -> None:
    assert LAGERHAUS in page and 'class="portal-logo" src="data:image/png;base64,' in page
    assert 'data-brand-colour="#1a3d6e"' in page and "Other Storage" not in page


def test_the_login_page_of_a_location_shows_its_logo_and_site_name(client, owner_client, site):
    two_branded_sites(owner_client, site)
    client.logout()
    assert LAGERHAUS not in client.get(reverse("sign_in:login")).content.decode()
    page = client.get(reverse("sign_in:login"), {"location": site.location.pk}).content.decode()
    assert_shows_lagerhaus(page)
    assert f'<input type="hidden" name="location" value="{site.location.pk}">' in page
    sent = client.post(
        reverse("sign_in:login"), {"email": "tenant@example.com", "location": site.location.pk}
    )
    assert_shows_lagerhaus(sent.content.decode())
    assert f"&amp;location={site.location.pk}" in sent.content.decode()


@pytest.mark.parametrize("named", ["", "abc", "-1", "99999999", "1e3", "١"])
def test_a_login_page_naming_no_known_location_shows_the_installs_name(client, owner_client, site, named):
    two_branded_sites(owner_client, site)
    client.logout()
    response = client.get(reverse("sign_in:login"), {"location": named})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<span class="portal-brand-name">Keyport</span>' in page and "portal-branded" not in page


def test_the_guest_key_page_shows_its_locations_logo_and_site_name(
    client, owner_client, django_capture_on_commit_callbacks, site, tenant
):
    today = timezone.localdate()
    booking = cast.book(tenant, site, starts_on=today)
    two_branded_sites(owner_client, site)
    with django_capture_on_commit_callbacks(execute=True):
        cast.share(booking, "friend@example.com", today, today + dt.timedelta(days=3))
    [email] = [message for message in mail.outbox if message.to == ["friend@example.com"]]
    key = GUEST_KEY.search(email.body)["key"]
    client.logout()
    page = client.get(reverse("guest:key", args=[key])).content.decode()
    assert_shows_lagerhaus(page)
    assert f'href="/login/?location={site.location.pk}"' in page


def test_a_sign_in_link_shows_the_persons_site_branding(client, owner_client, site):
    two_branded_sites(owner_client, site)
    client.logout()
    sign_in_link_send(email="tenant@example.com")
    token = last_token_sent_to("tenant@example.com")
    assert_shows_lagerhaus(client.get(reverse("sign_in:link", args=[token])).content.decode())
    press_continue(client, token)
    client.post(reverse("portal:sign_out"))
    # A used link offers a fresh one, still in the person's branding.
    assert_shows_lagerhaus(client.get(reverse("sign_in:link", args=[token])).content.decode())


def test_the_invite_leads_to_the_login_page_in_the_sites_branding(owner_client, site, tenant, settings):
    two_branded_sites(owner_client, site)
    invite_send(actor=Actor.system("tests"), contact=tenant)
    email = OutgoingEmail.objects.get(template="portal_invite")
    assert f"{settings.PUBLIC_BASE_URL}/login/?location={site.location.pk}\n" in email.body_text


def test_the_branding_form_gives_the_branded_login_address_for_the_website(owner_client, site, settings):
    page = owner_client.get(
        reverse("dashboard:location_customer_app", args=[site.location.pk])
    ).content.decode()
    assert f"{settings.PUBLIC_BASE_URL}/login/?location={site.location.pk}</code>" in page
