"""Decisions at the doors: PIN, holder and grants judged, wrong PINs counted and throttled, the keypad
blocked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keyport.access.emails import keypad_blocked_email
from keyport.access.models import (
    AccessEvent,
    AccessHolder,
    SharedAccess,
)
from keyport.access.services.doors import (
    Door,
    GrantAtDoor,
    HolderAtDoor,
    access_event_record,
    door_for_device_key,
    holder_at_door,
)
from keyport.audit.services import Actor, audit_record
from keyport.facilities.models import AccessPoint, Location
from keyport.lib.tokens import token_hash

logger = logging.getLogger(__name__)


Reason = str
OK = "ok"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason
    retry_after: int | None = None


def _pin_throttle(door: Door, now: dt.datetime) -> Decision | None:
    """Wrong PINs at one access point: after a few, each try waits longer; after more, blocked a while.

    The counts come with the door (read with its device key), so a check spends no statement on them.
    """
    if door.pins_blocked_until is not None and door.pins_blocked_until > now:
        return Decision(False, "blocked", retry_after=_seconds_until(door.pins_blocked_until, now))
    recent = _recent_wrong_pins(door.wrong_pins, door.last_wrong_pin_at, door.pins_blocked_until, now)
    if recent >= settings.ACCESS_PIN_SLOW_AFTER and door.last_wrong_pin_at is not None:
        wait_until = door.last_wrong_pin_at + dt.timedelta(
            seconds=2 ** (recent - settings.ACCESS_PIN_SLOW_AFTER)
        )
        if now < wait_until:
            return Decision(False, "slow_down", retry_after=_seconds_until(wait_until, now))
    return None


def _recent_wrong_pins(
    count: int, last: dt.datetime | None, blocked_until: dt.datetime | None, now: dt.datetime
) -> int:
    """The wrong PINs that still count: none once the window has passed or a block has run out."""
    if last is None:
        return 0
    window = dt.timedelta(seconds=settings.ACCESS_PIN_FAILURE_WINDOW_SECONDS)
    if last <= now - window or (blocked_until is not None and blocked_until <= now):
        return 0
    return count


def _seconds_until(instant: dt.datetime, now: dt.datetime) -> int:
    return int((instant - now).total_seconds()) + 1


def _door_locked(door: Door) -> tuple[Door, AccessPoint]:
    """The door with its wrong-PIN counts as they are now, its access point's row locked until the
    transaction ends: wrong PINs typed at the same moment, in any process, are judged one by one."""
    point = AccessPoint.objects.select_for_update().get(pk=door.access_point_id)
    locked = dataclasses.replace(
        door,
        wrong_pins=point.wrong_pins,
        last_wrong_pin_at=point.last_wrong_pin_at,
        pins_blocked_until=point.pins_blocked_until,
        wrong_pin_serial=point.wrong_pin_serial,
    )
    return locked, point


# The access point's wrong-PIN counts, written together whenever one of them changes.
PIN_COUNT_FIELDS = [
    "wrong_pins",
    "last_wrong_pin_at",
    "pins_blocked_until",
    "wrong_pins_since",
    "wrong_pin_serial",
]


def _pin_failed(door: Door, *, channel: str, when: dt.datetime) -> Decision:
    """A PIN nobody here has: judged and counted with the counts locked, so that however many come
    at once, no more are answered "unknown_pin" than the slow-down and the block let through; the
    rest hear what the counts say by then. The try that blocks the keypad tells the staff."""
    # A block, not the decorator: make mutate mutates no decorated function.
    with transaction.atomic():
        locked, point = _door_locked(door)
        throttled = _pin_throttle(locked, when)
        if throttled is not None:
            access_event_record(door, channel=channel, allowed=False, reason=throttled.reason, when=when)
            return throttled
        count = (
            _recent_wrong_pins(point.wrong_pins, point.last_wrong_pin_at, point.pins_blocked_until, when) + 1
        )
        if count == 1:
            point.wrong_pins_since = when
        point.wrong_pins, point.last_wrong_pin_at = count, when
        point.wrong_pin_serial += 1
        if point.pins_blocked_until is not None and point.pins_blocked_until <= when:
            point.pins_blocked_until = None  # a block that has run out starts the count again
        if count >= settings.ACCESS_PIN_BLOCK_AFTER:
            point.pins_blocked_until = when + dt.timedelta(seconds=settings.ACCESS_PIN_BLOCK_SECONDS)
            logger.warning("Access point %s blocked after %s wrong PINs", door.access_point_id, count)
        elif count >= settings.ACCESS_PIN_SLOW_AFTER:
            logger.warning("Access point %s: %s wrong PINs; slowing down", door.access_point_id, count)
        point.save(update_fields=PIN_COUNT_FIELDS)
        access_event_record(door, channel=channel, allowed=False, reason="unknown_pin", when=when)
        if count == settings.ACCESS_PIN_BLOCK_AFTER:
            _pin_block_started(point, when=when)
        return Decision(False, "unknown_pin")


def _pin_block_started(point: AccessPoint, *, when: dt.datetime) -> None:
    """A keypad blocked: audited, and its location's managers are emailed, once for the block."""
    location = Location.objects.get(pk=point.location_id)
    audit_record(
        actor=Actor.system("Keypad"),
        action="access.pin_block_started",
        target=point,
        location=location,
        details={
            "wrong_pins": point.wrong_pins,
            "since": point.wrong_pins_since.isoformat() if point.wrong_pins_since else None,
            "blocked_until": point.pins_blocked_until.isoformat() if point.pins_blocked_until else None,
        },
    )
    keypad_blocked_email(access_point=point, location=location, when=when)


def _pin_judged_locked(door: Door, found: HolderAtDoor, *, channel: str, when: dt.datetime) -> Decision:
    """A known PIN whose door counted a wrong PIN after it was read: judged again by the counts now."""
    with transaction.atomic():
        locked, _ = _door_locked(door)
        throttled = _pin_throttle(locked, when)
        if throttled is not None:
            return _throttled_record(locked, throttled, found, channel=channel, when=when)
        decision, _ = _holder_judged(locked, found, channel=channel, when=when)
        return decision


@transaction.atomic
def access_point_pin_block_lift(*, actor: Actor, access_point: AccessPoint) -> bool:
    """Lift a keypad's block by hand (a tenant who forgot their PIN, not an attack): its wrong PINs
    are forgotten and PINs open again at once. False when it was not blocked."""
    point = AccessPoint.objects.select_for_update().select_related("location").get(pk=access_point.pk)
    now = timezone.now()
    if point.pins_blocked_until is None or point.pins_blocked_until <= now:
        return False
    details = {"wrong_pins": point.wrong_pins, "blocked_until": point.pins_blocked_until.isoformat()}
    point.wrong_pins, point.last_wrong_pin_at, point.pins_blocked_until = 0, None, None
    point.wrong_pins_since = None
    point.wrong_pin_serial += 1
    point.save(update_fields=PIN_COUNT_FIELDS)
    audit_record(
        actor=actor, action="access.pin_block_lifted", target=point, location=point.location, details=details
    )
    return True


class DeviceRefused(Exception):
    """A device asked with a key that is unknown, or that belongs to another access point."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def device_access_decide(*, key: str, access_point_ref: str, pin: str) -> Decision:
    """A door's or keypad's question with its device key: may this PIN open it now? Logged either way.

    The door and the PIN's holder come in one read. Raises DeviceRefused ("invalid_device_key",
    "wrong_access_point") before anything is decided or logged.
    """
    when = timezone.now()
    found = door_for_device_key(token_hash(key), pin=pin, when=when)
    if found is None:
        raise DeviceRefused("invalid_device_key")
    door, holder = found
    if access_point_ref != door.external_id:
        raise DeviceRefused("wrong_access_point")
    return _pin_decide(door, found=holder, channel=AccessEvent.Channel.DEVICE, when=when)


def access_decide(
    *,
    door: Door,
    channel: str,
    pin: str | None = None,
    holder: AccessHolder | None = None,
    share: SharedAccess | None = None,
    when: dt.datetime | None = None,
) -> Decision:
    """May this PIN (or this signed-in holder) open this access point now? Logged either way."""
    when = when or timezone.now()
    if pin is not None:
        return _pin_decide(door, found=holder_at_door(door, when=when, pin=pin), channel=channel, when=when)
    if holder is None:
        raise ValueError("Pass a PIN or a holder.")
    found = holder_at_door(
        door, when=when, holder_id=holder.pk, share_id=share.pk if share is not None else None
    )
    if found is None:
        raise ValueError("This holder belongs to another location.")
    return _holder_decide(door, found, channel=channel, when=when)


def _pin_decide(door: Door, *, found: HolderAtDoor | None, channel: str, when: dt.datetime) -> Decision:
    """The PIN's rules: a door slowed or blocked by wrong PINs answers so; an unknown PIN counts as one.

    No more PINs are judged than the limits allow, however many come at once: a wrong one is judged
    with the counts locked (`_pin_failed`); a known one's answer is logged, and given, only while no
    wrong PIN has been counted since the door was read, else it is judged again with them locked.
    """
    throttled = _pin_throttle(door, when)
    if throttled is not None:
        return _throttled_record(door, throttled, found, channel=channel, when=when)
    if found is None:
        return _pin_failed(door, channel=channel, when=when)
    decision, logged = _holder_judged(
        door, found, channel=channel, when=when, if_wrong_pin_serial=door.wrong_pin_serial
    )
    return decision if logged else _pin_judged_locked(door, found, channel=channel, when=when)


def _throttled_record(
    door: Door, throttled: Decision, found: HolderAtDoor | None, *, channel: str, when: dt.datetime
) -> Decision:
    holder_id = found.holder_id if found is not None else None
    access_event_record(
        door, channel=channel, allowed=False, reason=throttled.reason, when=when, holder_id=holder_id
    )
    return throttled


def _holder_decide(door: Door, found: HolderAtDoor, *, channel: str, when: dt.datetime) -> Decision:
    decision, _ = _holder_judged(door, found, channel=channel, when=when)
    return decision


def _holder_judged(
    door: Door,
    found: HolderAtDoor,
    *,
    channel: str,
    when: dt.datetime,
    if_wrong_pin_serial: int | None = None,
) -> tuple[Decision, bool]:
    """Judge a holder's grants at the door and log the decision. With `if_wrong_pin_serial`, the log
    (and so the answer) holds only while no wrong PIN was counted since the door was read: the
    second value says whether it was logged."""
    judged = access_judge(door, found.grants, when)
    logged = access_event_record(
        door,
        channel=channel,
        allowed=judged.decision.allowed,
        reason=judged.decision.reason,
        when=when,
        holder_id=found.holder_id,
        grant=judged.grant,
        if_wrong_pin_serial=if_wrong_pin_serial,
    )
    return judged.decision, logged


@dataclass(frozen=True)
class Judgement:
    """A decision on a holder's grants at a door, the grant it rests on, and the facts it asked on
    the way, in order, with their answers: "mapped" (a grant on a unit this door serves),
    "opens_now" (one active and inside its window), then "opening_hours", or "active" (one neither
    revoked nor ended) and "not_ended". The doors log the decision; "Why can't they get in?"
    shows the facts and logs nothing."""

    decision: Decision
    grant: GrantAtDoor | None
    checks: tuple[tuple[str, bool], ...]


def access_judge(door: Door, grants: Sequence[GrantAtDoor], when: dt.datetime) -> Judgement:
    """The decision on a holder's grants at a door. Reads and writes nothing.

    The event is filed under the grant it rests on, so it must be the grant the reason
    comes from: a guest two tenants shared with holds grants of both bookings. Where several
    grants open the door, the oldest; where the reason is an ended or revoked grant, the newest.
    """
    checks: list[tuple[str, bool]] = []

    def check(name: str, passed: bool) -> bool:
        checks.append((name, passed))
        return passed

    def judged(decision: Decision, grant: GrantAtDoor | None) -> Judgement:
        return Judgement(decision, grant, tuple(checks))

    grants = sorted(grants, key=lambda grant: grant.grant_id)
    if not check("mapped", bool(grants)):
        return judged(Decision(False, "not_mapped"), None)
    open_now = [grant for grant in grants if grant.opens_now]
    if check("opens_now", bool(open_now)):
        if check("opening_hours", door.is_open_at(when)):
            return judged(Decision(True, OK), open_now[0])
        return judged(Decision(False, "location_closed"), open_now[0])
    active = [grant for grant in grants if grant.is_active]
    if check("active", bool(active)):
        return judged(Decision(False, "outside_window"), active[0])
    current = [grant for grant in grants if not grant.has_ended]
    if not check("not_ended", bool(current)):
        return judged(Decision(False, "outside_window"), grants[-1])
    return judged(Decision(False, "revoked"), current[-1])
