"""Sensorberg adapter: every HTTP detail of the vendor's cloud lives in this module.

Authentication is as Sensorberg publishes it (OAuth 2.0 client credentials with scope=app,
tokens revocable per RFC 7009); every resource call speaks JSON:API (media type
application/vnd.api+json, documents of `data` with `type`, `id` and `attributes`, lists paged by
`links.next`, errors as an `errors` array). The resource paths are not published; the fake
server in tests/sensorberg_fake.py defines them:

    POST   {base}/oauth/token                           client credentials → bearer token
    POST   {base}/oauth/revoke                          revoke a token (the login changed)
    GET    {base}/v1/access-groups                      every access group (Test connection)
    GET    {base}/v1/access-groups?filter[external_id]=<unit>   the unit's access group
    PUT    {base}/v1/access-groups/<group>/memberships/<ref>   membership with validity and PIN
    DELETE {base}/v1/access-groups/<group>/memberships/<ref>   remove it (404 counts as gone)
    GET    {base}/v1/access-groups/<group>/memberships  what the vendor holds (reconcile)

A membership is named by the grant (`keyport-grant-<id>`) and written with PUT, so pushing the
same grant twice never makes two. Every write carries an Idempotency-Key as well.
A group can be re-created in the vendor's dashboard under a new id: a 404 on a cached group id
looks the group up again and, if its id changed, tries once more there.
A PUT that got no answer (a timeout, an answer cut off, a gateway's 502 or 504) raises
MayStillLand: the vendor may apply it later, and the outbox then confirms a removal sent meanwhile.
Calls go through one pooled httpx client per process and base URL (reconcile makes hundreds of
calls a minute; each would otherwise be a TCP and TLS handshake of its own), with explicit connect
and read timeouts, closed when the login changes or after it has been idle a while.
Every TCP connection it opens goes only to a host whose every address is public
(keyport.lib.public_hosts): the name is resolved as the connection is opened, each address
checked, and the socket connected to a checked address; the Host header, TLS SNI and certificate
check stay on the name. A connection kept in the pool stays on the address it was opened to.
Never through an HTTP proxy of the environment, which would resolve the name itself;
SENSORBERG_ALLOW_PRIVATE_HOSTS lifts the check for the local fake.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import math
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from keyport.access.models import MissingAccessGroup, ProviderCallTally, SensorbergAccount
from keyport.access.providers import ConnectionCheck, MayStillLand, ProviderError, RetryLater
from keyport.lib.public_hosts import HostNotPublic, host_refusal, public_addresses

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant
    from keyport.facilities.models import Location

logger = logging.getLogger(__name__)

# How long to wait for an answer (read) and for a connection to open: the worker's calls.
TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 3.0
# A process keeps this many connections to one base URL, each for this long after its last use.
POOL_CONNECTIONS = 10
KEEPALIVE_SECONDS = 30.0
# A base URL's client not used for this long is closed (the login moved elsewhere).
CLIENT_IDLE_SECONDS = 600.0
# A vendor asking for a longer pause is still retried after a day.
RETRY_AFTER_MAX_SECONDS = 24 * 3600.0
REFUSED = "Sensorberg refused the client id and secret."
# The scope of an app's (machine-to-machine) token in Sensorberg's published OAuth 2.0 setup.
TOKEN_SCOPE = "app"  # noqa: S105 (a scope name, not a secret)
# A token answer without expires_in is taken to last this long.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0
NOT_UNDERSTOOD = "Sensorberg answered with something Keyport does not understand."
CUT_OFF = "Sensorberg's answer was cut off or garbled on the way."
MEMBERSHIP_FIELDS = ("email", "name", "valid_from", "valid_until", "credential")
# Sensorberg's REST APIs follow JSON:API: its media type, both ways.
JSON_API = "application/vnd.api+json"
GROUPS_PATH = "/v1/access-groups"
GROUP_TYPE = "access-groups"
MEMBERSHIP_TYPE = "memberships"
# A list longer than this many pages is taken for a loop.
MAX_PAGES = 10_000
# Of an error answer, only this much is read, and this much of its errors' words kept.
ERROR_BODY_MAX_BYTES = 64 * 1024
ERROR_TEXT_MAX = 300
# A gateway's answers that say nothing of whether the vendor behind it applied the call.
NO_ANSWER_STATUSES = (502, 504)
# Ask for a new token this long before the one held expires, so no call goes out on a stale one.
TOKEN_REFRESH_MARGIN_SECONDS = 30.0
# Tokens and group ids are a cache: any process can fetch its own, so nothing is lost with it.
# A token's entry: the token, and the instant (time.time) after which a fresh one is asked for.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_groups: dict[tuple[str, str, str], str] = {}
_lock = threading.Lock()


def forget_cached_state() -> None:
    with _lock:
        _tokens.clear()
        _groups.clear()
    close_clients()


@dataclass
class _Pooled:
    client: httpx.Client
    used_at: float = field(default_factory=time.monotonic)


# One client per process and base URL; the pid keeps a forked process off its parent's sockets.
_clients: dict[tuple[int, str], _Pooled] = {}


def _public_address_transport() -> httpx.BaseTransport:
    return _PublicAddressTransport()


# Tests point this at an httpx.MockTransport or a counting transport.
transport_factory: Callable[[], httpx.BaseTransport] = _public_address_transport


def client_for(base_url: str) -> httpx.Client:
    """This process's pooled client for `base_url`; clients idle a while are closed meanwhile."""
    key = (os.getpid(), base_url.rstrip("/"))
    now = time.monotonic()
    idle: list[httpx.Client] = []
    with _lock:
        pooled = _clients.get(key)
        if pooled is None:
            client = httpx.Client(transport=transport_factory(), trust_env=False, follow_redirects=False)
            pooled = _clients[key] = _Pooled(client)
        pooled.used_at = now
        for other_key, other in list(_clients.items()):
            if now - other.used_at > CLIENT_IDLE_SECONDS:
                idle.append(_clients.pop(other_key).client)
    for client in idle:
        client.close()
    return pooled.client


def close_clients(base_url: str | None = None) -> None:
    """Close this process's client for `base_url` (every client, with None): its connections
    end, and the next call opens new ones."""
    with _lock:
        keys = [key for key in _clients if base_url is None or key[1] == base_url.rstrip("/")]
        closing = [_clients.pop(key).client for key in keys]
    for client in closing:
        client.close()


def forget_token(base_url: str, client_id: str) -> None:
    with _lock:
        _tokens.pop((base_url.rstrip("/"), client_id), None)


def unit_external_id(unit: Any) -> str:
    """The access group's External Identifier for a unit: its number."""
    return str(unit.number)


def membership_body(grant: AccessGrant) -> dict[str, Any]:
    """The membership Sensorberg should hold for a grant, as push sends it."""
    return {
        "email": grant.holder.email,
        "name": grant.holder.name,
        "valid_from": grant.starts_at.isoformat(),
        "valid_until": grant.ends_at.isoformat() if grant.ends_at else None,
        "credential": {"type": "pin", "code": grant.holder.pin},
    }


def base_url_refusal(base_url: str) -> str | None:
    """Why Keyport will not send the client secret to this base URL (its host has an address
    that is not public), or None; checked again on every call, at the address connected to."""
    if settings.SENSORBERG_ALLOW_PRIVATE_HOSTS:
        return None
    parts = urllib.parse.urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port out of range: the URL's own validation says so
        return None
    return host_refusal(parts.hostname or "", port)


class SensorbergProvider:
    needs_sync = True

    def __init__(
        self, *, base_url: str, client_id: str, client_secret: str, account_id: int | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        # The saved login this is, if any: its token is kept there for every process to share.
        self.account_id = account_id

    def __repr__(self) -> str:  # never the secret
        return f"SensorbergProvider({self.base_url!r}, client_id={self.client_id!r})"

    @classmethod
    def for_location(cls, location: Location) -> SensorbergProvider:
        account: SensorbergAccount | None = getattr(location, "sensorberg_account", None)
        if account is None:
            raise ProviderError("This location has no Sensorberg client id and secret yet.")
        return cls(
            base_url=account.base_url,
            client_id=account.client_id,
            client_secret=account.client_secret,
            account_id=account.pk,
        )

    # The operations the outbox uses.

    def push(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        document = {
            "data": {
                "type": MEMBERSHIP_TYPE,
                "id": grant.membership_ref,
                "attributes": membership_body(grant),
            }
        }
        self._membership_call(
            "PUT",
            unit_external_id(grant.unit),
            _path_part(grant.membership_ref),
            body=document,
            idempotency_key=idempotency_key,
        )

    def remove(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        self.remove_ref(unit_external_id(grant.unit), grant.membership_ref, idempotency_key=idempotency_key)

    def remove_ref(self, external_id: str, ref: str, *, idempotency_key: str) -> None:
        """Delete the membership named `ref`; one the vendor no longer holds counts as gone."""
        self._membership_call(
            "DELETE", external_id, _path_part(ref), idempotency_key=idempotency_key, missing_ok=True
        )

    def memberships(self, external_id: str) -> dict[str, dict[str, Any]]:
        """Per ref, the membership as Sensorberg holds it: the fields push sends, as far as present."""
        held: dict[str, dict[str, Any]] = {}
        for item in self._membership_call("GET", external_id, None):
            attributes = item["attributes"]
            held[item["id"]] = {name: attributes[name] for name in MEMBERSHIP_FIELDS if name in attributes}
        return held

    def test_connection(
        self, *, timeout: float = TIMEOUT_SECONDS, external_ids: Iterable[str] = ()
    ) -> ConnectionCheck:
        """Log in, list the access groups and match the location's units to them (by External
        Identifier), as the settings page's Test connection: one line on what worked.

        A fresh token, kept out of the cache: the credentials tried may not be the saved ones.
        Failures are told by status only: the address tried may not be Sensorberg's.
        """
        try:
            token, _ = _token_from(self._send(self._token_request(), timeout=timeout))
        except (_Unauthorized, ProviderError) as error:
            status, said = _refusal(error)
            message = gettext(
                "Token: failed. %(said)s Listing groups: not tried. Units matched: not tried."
            ) % {"said": said}
            return ConnectionCheck(ok=False, message=message, status=status)
        try:
            groups = self._list(GROUPS_PATH, token=token, kind=GROUP_TYPE, timeout=timeout)
        except (_Unauthorized, ProviderError) as error:
            status, said = _refusal(error)
            message = gettext("Token: ok. Listing groups: failed. %(said)s Units matched: not tried.") % {
                "said": said
            }
            return ConnectionCheck(ok=False, message=message, status=status)
        known = {group["attributes"].get("external_id") for group in groups}
        wanted = set(external_ids)
        listed = ngettext("%(count)d access group", "%(count)d access groups", len(groups)) % {
            "count": len(groups)
        }
        message = gettext(
            "Token: ok. Listing groups: %(listed)s. Units matched: %(matched)d of %(wanted)d."
        ) % {
            "listed": listed,
            "matched": len(wanted & known),
            "wanted": len(wanted),
        }
        return ConnectionCheck(ok=True, message=message, status=200)

    # The wire.

    def _membership_call(
        self,
        method: str,
        external_id: str,
        ref_part: str | None,
        *,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        missing_ok: bool = False,
    ) -> list[dict[str, Any]]:
        """A call on the unit's group memberships (`ref_part` None: the whole list, every page).

        A 404 on a cached group id may mean the group was re-created under a new id: look it up
        again and, if the id changed, try once more. Only a 404 on a group id looked up in this
        call means the membership is missing (gone, for a delete).
        """
        group, looked_up = self._group_id(external_id)
        while True:
            path = f"{GROUPS_PATH}/{_path_part(group)}/memberships"
            try:
                if ref_part is None:
                    return self._list(path, kind=MEMBERSHIP_TYPE)
                self._call(method, f"{path}/{ref_part}", body, idempotency_key)
                return []
            except _NotFound:
                if not looked_up:
                    self._forget_group_id(external_id)
                    stale = group
                    group, looked_up = self._group_id(external_id)
                    if group != stale:
                        continue
                if missing_ok:
                    return []
                raise

    def _group_id(self, external_id: str) -> tuple[str, bool]:
        """The group's id, and whether it was looked up now rather than taken from the cache."""
        key = (self.base_url, self.client_id, external_id)
        with _lock:
            if key in _groups:
                return _groups[key], False
        asked = f"{GROUPS_PATH}?" + urllib.parse.urlencode({"filter[external_id]": external_id})
        # Matched here too: a server that ignores the filter must not hand over another unit's group.
        items = [
            item
            for item in self._list(asked, kind=GROUP_TYPE)
            if item["attributes"].get("external_id") == external_id
        ]
        self._note_missing_group(external_id, missing=not items)
        if not items:
            raise ProviderError(f"Sensorberg has no access group with External Identifier {external_id!r}.")
        if len(items) > 1:
            raise ProviderError(
                f"Sensorberg has {len(items)} access groups with External Identifier {external_id!r}; "
                "keep one of them in Sensorberg's dashboard, or give the others another identifier."
            )
        group = items[0]["id"]
        with _lock:
            _groups[key] = group
        return group, True

    def _list(
        self, path: str, *, kind: str, token: str | None = None, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Every resource of a JSON:API list, following `links.next` from page to page.

        A next page is only followed on the base URL's own scheme, host and port: the token
        goes nowhere else. With `token`, that token is used as it is (Test connection).
        """
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            if token is None:
                answer = self._call("GET", path)
            else:
                answer = self._send(self._request("GET", path, token=token), timeout=timeout)
            items += _resources(answer, kind)
            following = _next_link(answer)
            if following is None:
                return items
            path = self._own_path(following)
            if path in seen or len(seen) >= MAX_PAGES:
                raise ProviderError(NOT_UNDERSTOOD)
            seen.add(path)

    def _own_path(self, link: str) -> str:
        """The path and query of a link the vendor gave, if it is on the base URL's origin."""
        base = urllib.parse.urlsplit(self.base_url)
        target = urllib.parse.urlsplit(urllib.parse.urljoin(self.base_url + "/", link))
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise ProviderError(NOT_UNDERSTOOD)
        if base.path and not target.path.startswith(base.path + "/"):
            raise ProviderError(NOT_UNDERSTOOD)
        path = target.path.removeprefix(base.path)
        return path + (f"?{target.query}" if target.query else "")

    def _note_missing_group(self, external_id: str, *, missing: bool) -> None:
        """Keep, for the settings page, which units had no access group when last looked up."""
        if self.account_id is None:
            return
        if missing:
            MissingAccessGroup.objects.update_or_create(
                account_id=self.account_id, external_id=external_id, defaults={"seen_at": timezone.now()}
            )
        else:
            MissingAccessGroup.objects.filter(account_id=self.account_id, external_id=external_id).delete()

    def _forget_group_id(self, external_id: str) -> None:
        with _lock:
            _groups.pop((self.base_url, self.client_id, external_id), None)

    def _token(self, *, fresh: bool = False) -> str:
        """A bearer token: this process's, the one saved with the login, or a new one.

        `fresh` (after a 401) asks for a new one whatever is held. One is renewed
        TOKEN_REFRESH_MARGIN_SECONDS before it expires (or halfway, for a short-lived one).
        """
        key = (self.base_url, self.client_id)
        with _lock:
            cached = _tokens.get(key)
        if cached and not fresh and cached[1] > time.time():
            return cached[0]
        if not fresh and self.account_id is not None:
            saved = _saved_token(self.account_id)
            if saved is not None:
                token, expires_at = saved
                refresh_at = expires_at - TOKEN_REFRESH_MARGIN_SECONDS
                if refresh_at > time.time():
                    with _lock:
                        _tokens[key] = (token, refresh_at)
                    return token
        token, lifetime = _token_from(self._send(self._token_request()))
        now = time.time()
        with _lock:
            _tokens[key] = (token, now + max(lifetime - TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 2))
        if self.account_id is not None:
            _token_save(self.account_id, token, expires_at=now + lifetime)
        return token

    def _token_request(self) -> _Outgoing:
        return _form_request(
            "/oauth/token",
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "scope": TOKEN_SCOPE,
            },
        )

    def revoke_token(self, token: str, *, timeout: float = TIMEOUT_SECONDS) -> bool:
        """Revoke a token issued to this login (RFC 7009); whether Sensorberg confirmed it.

        Never raises: the login is changing, and a token not revoked still expires on its own.
        """
        form = {
            "token": token,
            "token_type_hint": "access_token",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        try:
            self._send(_form_request("/oauth/revoke", form), timeout=timeout)
        except (ProviderError, _Unauthorized) as error:
            logger.warning("Sensorberg token of %s not revoked: %s", self.client_id, str(error) or "401")
            return False
        return True

    def _request(
        self,
        method: str,
        path: str,
        *,
        token: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> _Outgoing:
        headers = {"Authorization": f"Bearer {token}", "Accept": JSON_API}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = JSON_API
        return _Outgoing(method, path, headers, content)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                token = self._token(fresh=attempt == 2)
                request = self._request(method, path, token=token, body=body, idempotency_key=idempotency_key)
                try:
                    return self._send(request)
                except _NoAnswer as error:
                    if method == "PUT":
                        raise MayStillLand(str(error), status=error.status) from None
                    raise
            except _Unauthorized:
                if attempt == 2:
                    raise ProviderError(REFUSED, status=401) from None
        raise AssertionError("unreachable")

    def _send(self, request: _Outgoing, *, timeout: float | None = None) -> dict[str, Any]:
        """One call to Sensorberg, counted for the saved login (a 404 as an answer, not a failure)."""
        try:
            answer = self._send_once(request, timeout=timeout)
        except _NotFound:
            self._tally(ok=True)
            raise
        except (ProviderError, _Unauthorized):
            self._tally(ok=False)
            raise
        self._tally(ok=True)
        return answer

    def _tally(self, *, ok: bool) -> None:
        if self.account_id is not None:
            _call_tally(self.account_id, ok=ok)

    def _send_once(self, request: _Outgoing, *, timeout: float | None = None) -> dict[str, Any]:
        """One call to Sensorberg; a failure is told in words the owner can act on.

        A 401 raises _Unauthorized, so that the caller may fetch a fresh token and try once more;
        a 404 raises _NotFound, so that the caller may decide it means gone.
        Messages never hold the secret, the request body or the exception's own text. Of an
        answer's body only a JSON:API errors document is told (its titles and details), never
        anything else: a server that is not Sensorberg must not have its pages shown through Keyport.
        An error while connecting means the request did not get there; one while sending, or
        waiting for or reading the answer (_NoAnswer) means it may have.
        """
        # Read at call time: tests shorten TIMEOUT_SECONDS.
        timeout = TIMEOUT_SECONDS if timeout is None else timeout
        limits = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout))
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.username is not None or parts.password is not None:
            raise ProviderError(self._bad_address())  # the password would go out as Basic auth
        try:
            response = client_for(self.base_url).request(
                request.method,
                self.base_url + request.path,
                headers=request.headers,
                content=request.content,
                timeout=limits,
            )
        except HostNotPublic as refused:
            raise ProviderError(str(refused)) from None
        except (httpx.ConnectTimeout, httpx.PoolTimeout):
            raise ProviderError(f"Sensorberg did not answer within {timeout:g} seconds.") from None
        except httpx.ConnectError as error:
            raise ProviderError(
                f"Could not reach Sensorberg at {self._address()}: {_reason(error)}."
            ) from None
        except httpx.TimeoutException:
            raise _NoAnswer(f"Sensorberg did not answer within {timeout:g} seconds.") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError):
            raise _NoAnswer(CUT_OFF) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
            raise ProviderError(self._bad_address()) from None
        except httpx.HTTPError as error:
            raise _NoAnswer(f"Could not reach Sensorberg at {self._address()}: {_reason(error)}.") from None
        if response.status_code >= 400:
            detail = _errors_said(response.content[:ERROR_BODY_MAX_BYTES])
            raise _status_error(response.status_code, response.headers.get("Retry-After"), request, detail)
        try:
            answer = json.loads(response.content) if response.content else {}
        except ValueError:
            raise ProviderError(NOT_UNDERSTOOD) from None
        if not isinstance(answer, dict):
            raise ProviderError(NOT_UNDERSTOOD)
        return answer

    def _address(self) -> str:
        """The base URL without any user name or password in it."""
        parts = urllib.parse.urlsplit(self.base_url)
        return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()

    def _bad_address(self) -> str:
        return f"Keyport cannot call the Sensorberg address {self._address()}; check it in the settings."


class _Unauthorized(Exception):
    pass


class _NotFound(ProviderError):
    pass


class _NoAnswer(ProviderError):
    """The request went out and no answer came back: the vendor may have applied it."""


@dataclass(frozen=True)
class _Outgoing:
    method: str
    path: str  # below the base URL, with its query
    headers: dict[str, str]
    content: bytes | None = None


def _form_request(path: str, form: dict[str, str]) -> _Outgoing:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    return _Outgoing("POST", path, headers, urllib.parse.urlencode(form).encode())


def _status_error(status: int, retry_after: str | None, request: _Outgoing, detail: str = "") -> Exception:
    """The error for an answer with this HTTP status, followed by what its JSON:API `errors` said.

    The error's `summary` is the message without the vendor's words, for Test connection.
    """
    if status == 401:
        return _Unauthorized()
    if status == 403:
        return ProviderError(REFUSED, status=status)
    if status == 429:
        return RetryLater(
            "Sensorberg asked us to slow down (429).",
            after_seconds=retry_after_seconds(retry_after),
            status=status,
        )
    path = urllib.parse.urlsplit(request.path).path
    summary = f"Sensorberg answered {status} to {request.method} {path}."
    message = f"{summary} {detail}" if detail else summary
    kind = _NotFound if status == 404 else _NoAnswer if status in NO_ANSWER_STATUSES else ProviderError
    error = kind(message, status=status)
    error.summary = summary  # type: ignore[attr-defined]
    return error


def _errors_said(raw: bytes) -> str:
    """What a JSON:API errors document says, for staff: each error's title and detail, in one
    line, without control characters and cut short; "" for any other body."""
    try:
        document = json.loads(raw)
    except ValueError:
        return ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return ""
    said = []
    for error in errors[:3]:
        if not isinstance(error, dict):
            continue
        words = [error.get(name) for name in ("title", "detail")]
        text = ": ".join(str(word) for word in words if isinstance(word, str) and word)
        if text:
            said.append("".join(c if c.isprintable() else " " for c in text))
    joined = "; ".join(said)
    return joined if len(joined) <= ERROR_TEXT_MAX else joined[: ERROR_TEXT_MAX - 1] + "…"


class _PublicAddressBackend(httpcore.SyncBackend):
    """Opens each connection to an address of the host checked public just then (unless the
    settings allow private hosts, read at call time as tests change them)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if settings.SENSORBERG_ALLOW_PRIVATE_HOSTS:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = public_addresses(host, port)  # HostNotPublic goes up as it is
        except (socket.gaierror, UnicodeError) as error:
            raise httpcore.ConnectError(str(error)) from error
        last_error: Exception | None = None
        for info in addresses:
            try:
                return super().connect_tcp(str(info[4][0]), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:
                last_error = error
        raise last_error or httpcore.ConnectError(f"{host} has no address")


class _PublicAddressTransport(httpx.HTTPTransport):
    """httpx's own transport (no proxy, HTTP/1.1), its pool connecting through the backend above."""

    def __init__(self) -> None:
        limits = httpx.Limits(
            max_connections=POOL_CONNECTIONS,
            max_keepalive_connections=POOL_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PublicAddressBackend(),
        )


def _resources(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The resources of a JSON:API list document: each with `type` `kind`, an `id` (as str) and
    `attributes`; anything else is not understood."""
    data = answer.get("data")
    if not isinstance(data, list):
        raise ProviderError(NOT_UNDERSTOOD)
    resources = []
    for item in data:
        if not isinstance(item, dict) or item.get("type") != kind:
            raise ProviderError(NOT_UNDERSTOOD)
        attributes = item.get("attributes", {})
        if not isinstance(attributes, dict):
            raise ProviderError(NOT_UNDERSTOOD)
        resources.append({"id": _identifier(item), "attributes": attributes})
    return resources


def _identifier(item: dict[str, Any]) -> str:
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ProviderError(NOT_UNDERSTOOD)
    return str(value)


def _next_link(answer: dict[str, Any]) -> str | None:
    """A list document's `links.next` (a string, or an object with `href`), or None."""
    links = answer.get("links") or {}
    following = links.get("next") if isinstance(links, dict) else None
    if isinstance(following, dict):
        following = following.get("href")
    if following is None:
        return None
    if not isinstance(following, str) or not following:
        raise ProviderError(NOT_UNDERSTOOD)
    return following


def _token_from(answer: dict[str, Any]) -> tuple[str, float]:
    """The bearer token and its lifetime in seconds from the token endpoint's answer.

    OAuth 2.0 token types are case-insensitive (RFC 6749 5.1): "bearer" and "Bearer" alike.
    """
    token = answer.get("access_token")
    token_type = answer.get("token_type")
    try:
        lifetime = float(answer.get("expires_in", DEFAULT_TOKEN_LIFETIME_SECONDS))
    except (TypeError, ValueError):
        raise ProviderError(NOT_UNDERSTOOD) from None
    if not isinstance(token, str) or not token or not math.isfinite(lifetime) or lifetime <= 0:
        raise ProviderError(NOT_UNDERSTOOD)
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ProviderError(NOT_UNDERSTOOD)
    return token, lifetime


# Minutes of call counts kept; the page shows the last hour and the last success within these.
TALLY_KEPT = dt.timedelta(days=7)


def _call_tally(account_id: int, *, ok: bool) -> None:
    """Count one call in its minute's row: one UPDATE, an INSERT once a minute.

    Counting never fails the call it counts: a database error is logged and the count lost.
    """
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    changes: dict[str, Any] = {"calls": F("calls") + 1}
    if ok:
        changes["last_ok_at"] = now
    else:
        changes["failures"] = F("failures") + 1
    rows = ProviderCallTally.objects.filter(account_id=account_id, minute=minute)
    try:
        if rows.update(**changes):
            return
        try:
            with transaction.atomic():
                ProviderCallTally.objects.create(
                    account_id=account_id,
                    minute=minute,
                    calls=1,
                    failures=0 if ok else 1,
                    last_ok_at=now if ok else None,
                )
        except IntegrityError:  # another process made this minute's row first
            rows.update(**changes)
        ProviderCallTally.objects.filter(account_id=account_id, minute__lt=now - TALLY_KEPT).delete()
    except DatabaseError:
        logger.warning("Sensorberg call of account %s not counted", account_id, exc_info=True)


def _saved_token(account_id: int) -> tuple[str, float] | None:
    """The token saved with the login and when it expires (time.time), if there is one."""
    row = (
        SensorbergAccount.objects.filter(pk=account_id)
        .values_list("access_token", "token_expires_at")
        .first()
    )
    if row is None or not row[0] or row[1] is None:
        return None
    return row[0], row[1].timestamp()


def _token_save(account_id: int, token: str, *, expires_at: float) -> None:
    SensorbergAccount.objects.filter(pk=account_id).update(
        access_token=token, token_expires_at=dt.datetime.fromtimestamp(expires_at, tz=dt.UTC)
    )


def _path_part(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _reason(error: BaseException) -> str:
    """Why a connection failed, in a few words: the OS's reason under httpx's error."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(error) or type(error).__name__


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float:
    """A Retry-After header in seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 1.0
        if when.tzinfo is None:  # "-0000": the RFC's GMT
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return 1.0 if math.isnan(seconds) else RETRY_AFTER_MAX_SECONDS
    return min(max(0.0, seconds), RETRY_AFTER_MAX_SECONDS)


def _refusal(error: _Unauthorized | ProviderError) -> tuple[int | None, str]:
    """The status and Keyport's words for a refused step of Test connection, never the answer's body."""
    if isinstance(error, _Unauthorized):
        return 401, REFUSED
    return error.status, getattr(error, "summary", str(error))
