"""The guest key page: a Shared Access guest's units, window, PIN and Open buttons.

The key in the URL is the guest's credential (a scoped token, not a portal sign-in); only its
hash is stored, and the page answers 404 for any other key.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from keyport.access.emails import local_window
from keyport.access.models import AccessEvent, SharedAccess
from keyport.access.queries import access_points_of_units, guest_share_for_key, share_phase
from keyport.access.services import access_decide
from keyport.access.services.doors import Door
from keyport.facilities.queries import branding_for
from keyport.portal.door_outcome import door_outcome_keep, door_outcome_shown


def _share(key: str) -> SharedAccess:
    share = guest_share_for_key(key)
    if share is None:
        raise Http404("This key does not exist.")
    return share


def _render(request: HttpRequest, key: str, share: SharedAccess) -> HttpResponse:
    now = timezone.now()
    units = list(share.units.all())
    access_points = list(access_points_of_units(units))
    extra = {
        "access_points": access_points,
        **door_outcome_shown(request, page=_outcome_page(share), access_points=access_points),
    }
    # Times on the page are the location's local time, whatever the server's zone.
    with timezone.override(share.booking.location.zone):
        return _render_in_zone(request, key, share, units, now, extra)


def _render_in_zone(
    request: HttpRequest, key: str, share: SharedAccess, units: list, now: object, extra: dict
) -> HttpResponse:
    return render(
        request,
        "portal/guest/key.html",
        {
            "share": share,
            "key": key,
            "units": units,
            "phase": share_phase(share, now),  # type: ignore[arg-type]
            "location": share.booking.location,
            "brand": branding_for(share.booking.location),
            "window": local_window(share.booking.location, share.starts_on, share.ends_on),
            **extra,
        },
    )


def _outcome_page(share: SharedAccess) -> str:
    return f"share:{share.pk}"


@never_cache
def key_page(request: HttpRequest, key: str) -> HttpResponse:
    return _render(request, key, _share(key))


@never_cache
@require_POST
def key_open(request: HttpRequest, key: str, access_point_id: int) -> HttpResponse:
    share = _share(key)
    access_point = access_points_of_units(list(share.units.all())).filter(pk=access_point_id).first()
    if access_point is None:
        raise Http404("Not one of your doors.")
    decision = access_decide(
        door=Door.of(access_point), holder=share.holder, share=share, channel=AccessEvent.Channel.GUEST
    )
    door_outcome_keep(request, page=_outcome_page(share), access_point_id=access_point.pk, decision=decision)
    return redirect("guest:key", key=key)
