"""The access check's reads and its event write: the hot path of every door and keypad.

A door asks many times a minute, so its check is two short SQL statements: one read (the
device key's access point with its wrong-PIN counts and its location's opening hours, and the
PIN's holder with their grants on the units this access point serves) and the access event's
insert (for a PIN's answer, made only while the wrong-PIN counts it was judged by still hold).
Neither locks a row; only a wrong PIN does (`decisions._pin_failed`). The rules stay in
`decisions` and in `facilities.models.opening_hours_cover`; this module only fetches the facts
they decide on and records the decision.

Instants are compared in SQL with parameters adapted as the ORM adapts them, so the same
statements serve SQLite and PostgreSQL (they differ in the name of the string aggregate only).
They run on the database driver's own cursor (`_run`): on this path Django's cursor wrapper
costs more than the statements themselves.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from keyport.access.models import AccessEvent, AccessGrant, AccessHolder, DeviceKey, GrantState
from keyport.facilities.models import (
    AccessPoint,
    Location,
    OpeningHours,
    OpeningPeriod,
    UnitAccessPoint,
    opening_hours_cover,
)
from keyport.lib.tokens import token_hash

T = TypeVar("T")


@dataclass(frozen=True)
class Door:
    """What a check needs of an access point: itself, its location's time zone and opening hours,
    its wrong PINs."""

    access_point_id: int
    external_id: str
    location_id: int
    time_zone: str
    wrong_pins: int = 0
    last_wrong_pin_at: dt.datetime | None = None
    pins_blocked_until: dt.datetime | None = None
    opening_hours: tuple[OpeningPeriod, ...] = ()
    wrong_pin_serial: int = 0

    @classmethod
    def of(cls, access_point: AccessPoint) -> Door:
        location = access_point.location
        return cls(
            access_point_id=access_point.pk,
            external_id=access_point.external_id,
            location_id=access_point.location_id,
            time_zone=location.time_zone,
            wrong_pins=access_point.wrong_pins,
            last_wrong_pin_at=access_point.last_wrong_pin_at,
            pins_blocked_until=access_point.pins_blocked_until,
            opening_hours=tuple(hours.period for hours in location.opening_hours.all()),
            wrong_pin_serial=access_point.wrong_pin_serial,
        )

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def is_open_at(self, when: dt.datetime) -> bool:
        return opening_hours_cover(self.zone, self.opening_hours, when)


@dataclass(frozen=True)
class GrantAtDoor:
    """One of the holder's grants on a unit this door serves, judged at the instant asked about."""

    grant_id: int
    unit_id: int
    booking_id: int
    is_active: bool
    in_window: bool
    has_ended: bool

    @property
    def opens_now(self) -> bool:
        return self.is_active and self.in_window


@dataclass(frozen=True)
class HolderAtDoor:
    """The holder a PIN (or a signed-in person) names, and their grants at this door."""

    holder_id: int
    grants: list[GrantAtDoor]


# The holder's grants on units the access point serves, with their window judged at an instant:
# three instant parameters in the columns, then the share (when one is named) and the access point.
_GRANT_COLUMNS = """h.id, g.id, g.unit_id, g.booking_id, g.state,
  CASE WHEN g.starts_at <= %s AND (g.ends_at IS NULL OR g.ends_at > %s) THEN 1 ELSE 0 END,
  CASE WHEN g.ends_at IS NOT NULL AND g.ends_at <= %s THEN 1 ELSE 0 END"""
_GRANTS_JOIN = f"""LEFT JOIN {AccessGrant._meta.db_table} g ON g.holder_id = h.id {{share}}
  AND EXISTS (
    SELECT 1 FROM {UnitAccessPoint._meta.db_table} m
    WHERE m.unit_id = g.unit_id AND m.access_point_id = {{access_point}}
  )"""  # noqa: S608 (table names come from the models; values are parameters)

# The door a device key opens, its location's opening hours ("weekday opens closes" joined by
# commas), and the holder of a PIN there with their grants: one row per grant.
_DEVICE_SQL = f"""
SELECT ap.id, ap.external_id, ap.location_id, loc.time_zone,
  ap.wrong_pins, ap.last_wrong_pin_at, ap.pins_blocked_until, ap.wrong_pin_serial,
  (SELECT {{aggregate}}(o.weekday || ' ' || o.opens_at || ' ' || o.closes_at, ',')
    FROM {OpeningHours._meta.db_table} o WHERE o.location_id = loc.id),
  {_GRANT_COLUMNS}
FROM {DeviceKey._meta.db_table} dk
JOIN {AccessPoint._meta.db_table} ap ON ap.id = dk.access_point_id
JOIN {Location._meta.db_table} loc ON loc.id = ap.location_id
LEFT JOIN {AccessHolder._meta.db_table} h ON h.location_id = ap.location_id AND h.pin = %s
{_GRANTS_JOIN.format(share="", access_point="ap.id")}
WHERE dk.key_hash = %s
"""  # noqa: S608
_DOOR_COLUMNS = 9  # the door and its hours come first in each row, then `_GRANT_COLUMNS`

# A holder's grants at a door already known, the holder named by a PIN or by id, perhaps one
# share's grants only.
_HOLDER_SQLS = {
    (by_pin, of_share): f"""
SELECT {_GRANT_COLUMNS}
FROM {AccessHolder._meta.db_table} h
{_GRANTS_JOIN.format(share="AND g.share_id = %s" if of_share else "", access_point="%s")}
WHERE h.location_id = %s AND {"h.pin = %s" if by_pin else "h.id = %s"}
"""  # noqa: S608
    for by_pin in (True, False)
    for of_share in (True, False)
}

_EVENT_SQL = f"""
INSERT INTO {AccessEvent._meta.db_table}
  (location_id, access_point_id, unit_id, holder_id, booking_id, channel, allowed, reason, occurred_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""  # noqa: S608
# The same insert, made only while no wrong PIN has been counted at the access point since its
# counts were read (its serial unchanged): a PIN's answer stands only if the counts it was judged
# by still hold. The casts type the ids where PostgreSQL cannot take them from a VALUES list.
_EVENT_IF_COUNTS_HOLD_SQL = f"""
INSERT INTO {AccessEvent._meta.db_table}
  (location_id, access_point_id, unit_id, holder_id, booking_id, channel, allowed, reason, occurred_at)
SELECT CAST(%s AS bigint), CAST(%s AS bigint), CAST(%s AS bigint), CAST(%s AS bigint),
  CAST(%s AS bigint), %s, %s, %s, %s
FROM {AccessPoint._meta.db_table} ap WHERE ap.id = %s AND ap.wrong_pin_serial = %s
"""  # noqa: S608


def door_for_device_key(
    key_hash: str, *, pin: str | None = None, when: dt.datetime | None = None
) -> tuple[Door, HolderAtDoor | None] | None:
    """The door this device key belongs to and, when a PIN is given, its holder there (judged at
    `when`); None for an unknown key."""
    db = _database()
    aggregate = "group_concat" if db.vendor == "sqlite" else "string_agg"
    rows = _run(db, _device_sql(aggregate), [*_instants(db, when), pin, key_hash], fetch=True)
    if not rows:
        return None
    row = rows[0]
    door = Door(
        access_point_id=row[0],
        external_id=row[1],
        location_id=row[2],
        time_zone=row[3],
        wrong_pins=row[4],
        last_wrong_pin_at=_instant(row[5]),
        pins_blocked_until=_instant(row[6]),
        wrong_pin_serial=row[7],
        opening_hours=_periods(row[8]),
    )
    return door, _holder([found[_DOOR_COLUMNS:] for found in rows])


def door_for_device(key: str) -> Door | None:
    """The door a device key belongs to, or None for an unknown key."""
    found = door_for_device_key(token_hash(key))
    return found[0] if found is not None else None


def holder_at_door(
    door: Door,
    *,
    when: dt.datetime,
    pin: str | None = None,
    holder_id: int | None = None,
    share_id: int | None = None,
) -> HolderAtDoor | None:
    """The holder of this PIN (or this holder) at the door's location, or None when there is none."""
    db = _database()
    params = [
        *_instants(db, when),
        *([share_id] if share_id is not None else []),
        door.access_point_id,
        door.location_id,
        pin if pin is not None else holder_id,
    ]
    rows = _run(db, _HOLDER_SQLS[pin is not None, share_id is not None], params, fetch=True)
    return _holder(rows)


# Many holders' grants at many doors at once, for reads that ask about a whole account: the same
# grant columns, one row per grant and door that serves its unit.
_HOLDERS_AT_DOORS_SQL = f"""
SELECT m.access_point_id, {_GRANT_COLUMNS}
FROM {AccessHolder._meta.db_table} h
JOIN {AccessGrant._meta.db_table} g ON g.holder_id = h.id
JOIN {UnitAccessPoint._meta.db_table} m ON m.unit_id = g.unit_id
WHERE h.id IN ({{holders}}) AND m.access_point_id IN ({{doors}})
"""  # noqa: S608


def holders_at_doors(
    holder_ids: Sequence[int], door_ids: Sequence[int], *, when: dt.datetime
) -> dict[tuple[int, int], HolderAtDoor]:
    """Each of these holders at each of these doors, as `holder_at_door` finds them, by (holder,
    door); a holder with no grant at a door has grants [] there. One statement for them all."""
    if not holder_ids or not door_ids:
        return {}
    db = _database()
    sql = _HOLDERS_AT_DOORS_SQL.format(
        holders=", ".join(["%s"] * len(holder_ids)), doors=", ".join(["%s"] * len(door_ids))
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [*_instants(db, when), *holder_ids, *door_ids])
        rows = cursor.fetchall()
    found = {
        (holder_id, door_id): HolderAtDoor(holder_id, []) for holder_id in holder_ids for door_id in door_ids
    }
    for row in rows:
        holder = _holder([row[1:]])
        if holder is not None:
            found[holder.holder_id, row[0]].grants.extend(holder.grants)
    return found


def access_event_record(
    door: Door,
    *,
    channel: str,
    allowed: bool,
    reason: str,
    when: dt.datetime,
    holder_id: int | None = None,
    grant: GrantAtDoor | None = None,
    if_wrong_pin_serial: int | None = None,
) -> bool:
    """Log a decision at this door. With `if_wrong_pin_serial`, only while the door's wrong-PIN
    serial is still that (no wrong PIN counted since the door was read): False when it is not,
    and nothing was logged."""
    db = _database()
    params = [
        door.location_id,
        door.access_point_id,
        grant.unit_id if grant else None,
        holder_id,
        grant.booking_id if grant else None,
        channel,
        allowed,
        reason,
        db.ops.adapt_datetimefield_value(when),
    ]
    if if_wrong_pin_serial is None:
        _run(db, _EVENT_SQL, params, fetch=False)
        return True
    guarded = [*params, door.access_point_id, if_wrong_pin_serial]
    return _execute(db, _EVENT_IF_COUNTS_HOLD_SQL, guarded, lambda cursor: cursor.rowcount) == 1


def _database() -> BaseDatabaseWrapper:
    """The default database's connection, looked up once a statement (each use of Django's
    `connection` proxy looks it up again)."""
    return connections[DEFAULT_DB_ALIAS]


def _instants(db: BaseDatabaseWrapper, when: dt.datetime | None) -> list[Any]:
    """The instant a grant's window is judged at, once for each of the grant columns' comparisons."""
    instant = db.ops.adapt_datetimefield_value(when)
    return [instant, instant, instant]


def _holder(rows: Sequence[Sequence[Any]]) -> HolderAtDoor | None:
    """Rows of `_GRANT_COLUMNS`: the holder (None when there is none) with their grants."""
    if not rows or rows[0][0] is None:
        return None
    grants = [
        GrantAtDoor(
            grant_id=row[1],
            unit_id=row[2],
            booking_id=row[3],
            is_active=row[4] == GrantState.ACTIVE,
            in_window=bool(row[5]),
            has_ended=bool(row[6]),
        )
        for row in rows
        if row[1] is not None
    ]
    return HolderAtDoor(holder_id=rows[0][0], grants=grants)


def _periods(joined: str | None) -> tuple[OpeningPeriod, ...]:
    if not joined:
        return ()
    periods = []
    for period in joined.split(","):
        weekday, opens_at, closes_at = period.split(" ")
        periods.append(
            OpeningPeriod(int(weekday), dt.time.fromisoformat(opens_at), dt.time.fromisoformat(closes_at))
        )
    return tuple(periods)


def _instant(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime column read with plain SQL as the ORM gives it: aware (SQLite's driver, with
    Django's converters, gives it naive in UTC)."""
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


@functools.cache
def _device_sql(aggregate: str) -> str:
    return _DEVICE_SQL.format(aggregate=aggregate)


def _run(db: BaseDatabaseWrapper, sql: str, params: Sequence[Any], *, fetch: bool) -> list[tuple[Any, ...]]:
    """Run one of this module's statements and, when `fetch`, return its rows."""
    return _execute(db, sql, params, lambda cursor: cursor.fetchall() if fetch else [])


def _execute(db: BaseDatabaseWrapper, sql: str, params: Sequence[Any], result: Callable[[Any], T]) -> T:
    """Run one of this module's statements and return `result` of its cursor.

    Straight on the driver's cursor: on SQLite Django's wrapper rewrites the placeholders of the
    whole statement on every call (about 10 µs a statement, more than the statement costs); on
    PostgreSQL the driver prepares each statement once per connection, where Django's client-side
    binding has it planned again on every check. While Django logs queries (DEBUG, or a test that
    counts them) the statements go through Django's cursor, so they are logged like any other.
    """
    if db.queries_logged:
        with db.cursor() as logged:
            logged.execute(sql, params)
            return result(logged)
    db.ensure_connection()
    with db.wrap_database_errors:
        driver: Any
        if db.vendor == "sqlite":
            driver = db.connection.execute(_qmark(sql), params)
        else:
            driver = psycopg.Cursor(db.connection)
            driver.execute(sql, params, prepare=True)
        try:
            return result(driver)
        finally:
            driver.close()


@functools.cache
def _qmark(sql: str) -> str:
    """A statement in SQLite's own placeholder style (these statements hold no literal %)."""
    return sql.replace("%s", "?")
