"""What an Open button did, kept in the session across the redirect that answers its POST.

The Open views answer with a redirect to their page (Post/Redirect/Get), so that refreshing the
page loads it again instead of opening the door a second time. The page shows the outcome once.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from django.http import HttpRequest

from keyport.access.services import Decision
from keyport.facilities.models import AccessPoint

SESSION_DOOR_OUTCOME = "portal_door_outcome"


@dataclass(frozen=True)
class DoorOutcome:
    access_point_id: int
    decision: Decision


def door_outcome_keep(request: HttpRequest, *, page: str, access_point_id: int, decision: Decision) -> None:
    request.session[SESSION_DOOR_OUTCOME] = {
        "page": page,
        "access_point_id": access_point_id,
        "decision": asdict(decision),
    }


def door_outcome_take(request: HttpRequest, *, page: str) -> DoorOutcome | None:
    """The outcome kept for this page, once; an outcome kept for another page is dropped."""
    stored = request.session.pop(SESSION_DOOR_OUTCOME, None)
    if stored is None or stored["page"] != page:
        return None
    return DoorOutcome(access_point_id=stored["access_point_id"], decision=Decision(**stored["decision"]))


def door_outcome_shown(
    request: HttpRequest, *, page: str, access_points: Sequence[AccessPoint]
) -> dict[str, object]:
    """For the page to show once: the door its Open button just opened (or not) and the decision;
    nothing when no button was pressed, or the door is no longer one of the page's."""
    outcome = door_outcome_take(request, page=page)
    if outcome is None:
        return {}
    opened = next((point for point in access_points if point.pk == outcome.access_point_id), None)
    return {"opened": opened, "decision": outcome.decision} if opened is not None else {}
