"""Sensorberg adapter: every HTTP detail of the vendor's cloud lives in this module.

Shape of the protocol (Sensorberg publishes no reference; the fake server in
tests/sensorberg_fake.py defines the wire format we speak):

    POST   {base}/oauth/token                           client credentials → bearer token
    GET    {base}/v1/access-groups                      every access group (Test connection)
    GET    {base}/v1/access-groups?external_id=<unit>   the unit's access group
    PUT    {base}/v1/access-groups/<group>/memberships/<ref>   membership with validity and PIN
    DELETE {base}/v1/access-groups/<group>/memberships/<ref>   remove it (404 counts as gone)
    GET    {base}/v1/access-groups/<group>/memberships  what the vendor holds (reconcile)

A membership is named by the grant (`keyport-grant-<id>`) and written with PUT, so pushing the
same grant twice never makes two. Every write carries an Idempotency-Key as well.
A group can be re-created in the vendor's dashboard under a new id: a 404 on a cached group id
looks the group up again and, if its id changed, tries once more there.
A PUT that got no answer (a timeout, an answer cut off, a gateway's 502 or 504) raises
MayStillLand: the vendor may apply it later, and the outbox then confirms a removal sent meanwhile.
Calls go only to hosts whose every address is public (keyport.lib.public_hosts), connected to the
very addresses checked, and never through an HTTP proxy of the environment, which would resolve
the name itself; SENSORBERG_ALLOW_PRIVATE_HOSTS lifts this for the local fake.
urllib from the standard library is enough for four calls; no dependency is added for it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import logging
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from django.conf import settings

from keyport.access.models import SensorbergAccount
from keyport.access.providers import ConnectionCheck, MayStillLand, ProviderError, RetryLater
from keyport.lib.public_hosts import HostNotPublic, connect_to_public_address, host_refusal

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant
    from keyport.facilities.models import Location

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
# A vendor asking for a longer pause is still retried after a day.
RETRY_AFTER_MAX_SECONDS = 24 * 3600.0
REFUSED = "Sensorberg refused the client id and secret."
# The scope of an app's (machine-to-machine) token in Sensorberg's published OAuth 2.0 setup.
TOKEN_SCOPE = "app"
# A token answer without expires_in is taken to last this long.
DEFAULT_TOKEN_LIFETIME_SECONDS = 300.0
NOT_UNDERSTOOD = "Sensorberg answered with something Keyport does not understand."
CUT_OFF = "Sensorberg's answer was cut off or garbled on the way."
MEMBERSHIP_FIELDS = ("email", "name", "valid_from", "valid_until", "credential")
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
        self._membership_call(
            "PUT",
            unit_external_id(grant.unit),
            _path_part(grant.membership_ref),
            body=membership_body(grant),
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
        answer = self._membership_call("GET", external_id, None)
        held: dict[str, dict[str, Any]] = {}
        for item in _items(answer):
            held[_identifier(item, "ref")] = {name: item[name] for name in MEMBERSHIP_FIELDS if name in item}
        return held

    def test_connection(self, *, timeout: float = TIMEOUT_SECONDS) -> ConnectionCheck:
        """Log in and list the access groups, as the settings page's Test connection.

        A fresh token, kept out of the cache: the credentials tried may not be the saved ones.
        """
        try:
            token, _ = _token_from(self._send(self._token_request(), timeout=timeout))
            listing = self._request("GET", "/v1/access-groups", token=token)
            groups = _items(self._send(listing, timeout=timeout))
        except _Unauthorized:
            return ConnectionCheck(ok=False, message=REFUSED, status=401)
        except ProviderError as error:
            return ConnectionCheck(ok=False, message=str(error), status=error.status)
        noun = "access group" if len(groups) == 1 else "access groups"
        return ConnectionCheck(ok=True, message=f"Connected: {len(groups)} {noun}.", status=200)

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
    ) -> dict[str, Any]:
        """A call on the unit's group memberships (`ref_part` None: the whole list).

        A 404 on a cached group id may mean the group was re-created under a new id: look it up
        again and, if the id changed, try once more. Only a 404 on a group id looked up in this
        call means the membership is missing (gone, for a delete).
        """
        group, looked_up = self._group_id(external_id)
        while True:
            path = f"/v1/access-groups/{_path_part(group)}/memberships"
            if ref_part is not None:
                path += f"/{ref_part}"
            try:
                return self._call(method, path, body, idempotency_key)
            except _NotFound:
                if not looked_up:
                    self._forget_group_id(external_id)
                    stale = group
                    group, looked_up = self._group_id(external_id)
                    if group != stale:
                        continue
                if missing_ok:
                    return {}
                raise

    def _group_id(self, external_id: str) -> tuple[str, bool]:
        """The group's id, and whether it was looked up now rather than taken from the cache."""
        key = (self.base_url, self.client_id, external_id)
        with _lock:
            if key in _groups:
                return _groups[key], False
        answer = self._call(
            "GET", "/v1/access-groups?" + urllib.parse.urlencode({"external_id": external_id})
        )
        items = _items(answer)
        if not items:
            raise ProviderError(f"Sensorberg has no access group with External Identifier {external_id!r}.")
        if len(items) > 1:
            raise ProviderError(
                f"Sensorberg has {len(items)} access groups with External Identifier {external_id!r}; "
                "keep one of them in Sensorberg's dashboard, or give the others another identifier."
            )
        group = _identifier(items[0], "id")
        with _lock:
            _groups[key] = group
        return group, True

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

    def _token_request(self) -> urllib.request.Request:
        return self._form_request(
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
            self._send(self._form_request("/oauth/revoke", form), timeout=timeout)
        except (ProviderError, _Unauthorized) as error:
            logger.warning("Sensorberg token of %s not revoked: %s", self.client_id, error or "401")
            return False
        return True

    def _form_request(self, path: str, form: dict[str, str]) -> urllib.request.Request:
        return self._new_request(
            path,
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        token: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> urllib.request.Request:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return self._new_request(path, data=data, method=method, headers=headers)

    def _new_request(
        self, path: str, *, data: bytes | None, method: str, headers: dict[str, str]
    ) -> urllib.request.Request:
        try:
            return urllib.request.Request(  # noqa: S310 (the settings only take https, or http to localhost)
                self.base_url + path, data=data, method=method, headers=headers
            )
        except ValueError:
            raise ProviderError(self._bad_address()) from None

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

    def _send(self, request: urllib.request.Request, *, timeout: float | None = None) -> dict[str, Any]:
        """One call to Sensorberg; a failure is told in words the owner can act on.

        A 401 raises _Unauthorized, so that the caller may fetch a fresh token and try once more;
        a 404 raises _NotFound, so that the caller may decide it means gone.
        Messages never hold the secret, the request body or the exception's own text.
        Only the status of an answer is told, never its body: a server that is not Sensorberg
        must not have its pages shown through Keyport.
        An error while connecting or sending means the request did not get there; one while
        waiting for or reading the answer (_NoAnswer) means it may have.
        """
        # Read at call time: tests shorten TIMEOUT_SECONDS.
        timeout = TIMEOUT_SECONDS if timeout is None else timeout
        try:
            with _opener().open(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise _status_error(error.code, error.headers.get("Retry-After"), request) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, HostNotPublic):
                raise ProviderError(str(error.reason)) from None
            if isinstance(error.reason, TimeoutError):
                raise ProviderError(f"Sensorberg did not answer within {timeout:g} seconds.") from None
            raise ProviderError(
                f"Could not reach Sensorberg at {self._address()}: {_reason(error.reason)}."
            ) from None
        except TimeoutError:
            raise _NoAnswer(f"Sensorberg did not answer within {timeout:g} seconds.") from None
        except (http.client.InvalidURL, ValueError):
            # A port or host urllib cannot call, such as a user and password with no port.
            raise ProviderError(self._bad_address()) from None
        except http.client.HTTPException:
            raise _NoAnswer(CUT_OFF) from None
        except OSError as error:
            raise _NoAnswer(f"Could not reach Sensorberg at {self._address()}: {_reason(error)}.") from None
        try:
            answer = json.loads(raw) if raw else {}
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


def _status_error(status: int, retry_after: str | None, request: urllib.request.Request) -> Exception:
    """The error for an answer with this HTTP status, named by its status alone."""
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
    path = urllib.parse.urlsplit(request.full_url).path
    message = f"Sensorberg answered {status} to {request.get_method()} {path}."
    if status == 404:
        return _NotFound(message, status=status)
    if status in NO_ANSWER_STATUSES:
        return _NoAnswer(message, status=status)
    return ProviderError(message, status=status)


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = connect_to_public_address


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = connect_to_public_address


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


def _opener() -> urllib.request.OpenerDirector:
    """An opener without the environment's proxies; to public hosts only, unless the settings
    allow private ones (read at call time, as tests change them)."""
    if settings.SENSORBERG_ALLOW_PRIVATE_HOSTS:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _PublicHTTPHandler, _PublicHTTPSHandler
    )


def _items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    items = answer.get("items", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ProviderError(NOT_UNDERSTOOD)
    return items


def _identifier(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ProviderError(NOT_UNDERSTOOD)
    return str(value)


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


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


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
