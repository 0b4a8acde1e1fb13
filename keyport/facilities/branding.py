"""A location's branding: the site name, colour and logo its portal and emails show."""

import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from keyport.audit.services import Actor, audit_changes
from keyport.facilities.models import Location
from keyport.lib.uploads import ImageTooLarge, open_uploaded_image, sniff_content_type, unguessable_name

# The portal shows a logo 40 pixels high; 96 keeps it sharp on dense screens.
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_SIZE = (600, 96)
LOGO_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}


@dataclass(frozen=True, kw_only=True)
class BrandingChanges:
    site_name: str
    colour: str
    logo: File | None = None
    remove_logo: bool = False


@transaction.atomic
def location_set_branding(*, actor: Actor, location: Location, changes: BrandingChanges) -> Location:
    """The site name, colour and logo the portal and emails show for this location.

    Anything wrong refuses the whole change, each message beside its field.
    """
    location = Location.objects.select_for_update().get(pk=location.pk)
    old_logo = location.brand_logo.name or ""
    changed: dict[str, object] = {}
    for field, value in (
        ("brand_name", changes.site_name.strip()),
        ("brand_colour", changes.colour.strip().lower()),
    ):
        if getattr(location, field) != value:
            changed[field] = [getattr(location, field), value]
            setattr(location, field, value)
    errors: dict[str, list[str]] = {}
    try:
        location.full_clean(exclude=["brand_logo"])
    except ValidationError as error:
        errors |= error.message_dict
    logo = None
    if changes.logo is not None:
        try:
            logo = _logo_image(changes.logo)
        except ValidationError as error:
            errors |= error.message_dict
    if errors:
        raise ValidationError(errors)
    if logo is not None:
        location.brand_logo.save(unguessable_name("branding", logo[1]), ContentFile(logo[0]), save=False)
        changed["brand_logo"] = "replaced" if old_logo else "added"
    elif changes.remove_logo and old_logo:
        location.brand_logo = ""
        changed["brand_logo"] = "removed"
    if not changed:
        return location
    location.save(
        update_fields=[name for name in ("brand_name", "brand_colour", "brand_logo") if name in changed]
    )
    if "brand_logo" in changed and old_logo:
        storage = location.brand_logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    audit_changes(
        actor=actor, action="location.branding_updated", target=location, location=location, changed=changed
    )
    return location


def _logo_image(upload: File) -> tuple[bytes, str]:
    """The logo as PNG or JPEG bytes, scaled down to LOGO_MAX_SIZE, and its file extension."""
    if upload.size is None or upload.size > LOGO_MAX_BYTES:
        raise ValidationError({"brand_logo": "The logo may be at most 1 MB."})
    upload.seek(0)
    kind = sniff_content_type(upload.read(16))
    if kind is None or kind[0] not in LOGO_FORMATS:
        raise ValidationError({"brand_logo": "The logo must be a PNG or JPEG image."})
    image_format = LOGO_FORMATS[kind[0]]
    try:
        with open_uploaded_image(upload, content_type=kind[0]) as opened:
            opened.load()
            logo = ImageOps.exif_transpose(opened)
            logo.thumbnail(LOGO_MAX_SIZE)
            if image_format == "JPEG":
                logo = logo.convert("RGB")
            buffer = io.BytesIO()
            logo.save(buffer, format=image_format, **({"quality": 88} if image_format == "JPEG" else {}))
    except ImageTooLarge:
        raise ValidationError({"brand_logo": "The logo's image is too large; use a smaller one."}) from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationError({"brand_logo": "This file is not a readable PNG or JPEG image."}) from None
    return buffer.getvalue(), kind[1]
