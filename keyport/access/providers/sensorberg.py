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
urllib from the standard library is enough for four calls; no dependency is added for it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from keyport.access.providers import ConnectionCheck, ProviderError, RetryLater

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant, SensorbergAccount
    from keyport.facilities.models import Location

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
REFUSED = "Sensorberg refused the client id and secret."
NOT_UNDERSTOOD = "Sensorberg answered with something Keyport does not understand."
# Tokens and group ids are a cache: any process can fetch its own, so nothing is lost with it.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_groups: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def forget_cached_state() -> None:
    with _lock:
        _tokens.clear()
        _groups.clear()


def unit_external_id(unit: Any) -> str:
    """The access group's External Identifier for a unit: its number."""
    return str(unit.number)


class SensorbergProvider:
    needs_sync = True

    def __init__(self, *, base_url: str, client_id: str, client_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:  # never the secret
        return f"SensorbergProvider({self.base_url!r}, client_id={self.client_id!r})"

    @classmethod
    def for_location(cls, location: Location) -> SensorbergProvider:
        account: SensorbergAccount | None = getattr(location, "sensorberg_account", None)
        if account is None:
            raise ProviderError("This location has no Sensorberg client id and secret yet.")
        return cls(
            base_url=account.base_url, client_id=account.client_id, client_secret=account.client_secret
        )

    # The operations the outbox uses.

    def push(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        group = self._group_id(unit_external_id(grant.unit))
        body = {
            "email": grant.holder.email,
            "name": grant.holder.name,
            "valid_from": grant.starts_at.isoformat(),
            "valid_until": grant.ends_at.isoformat() if grant.ends_at else None,
            "credential": {"type": "pin", "code": grant.holder.pin},
        }
        self._call(
            "PUT", f"/v1/access-groups/{group}/memberships/{grant.membership_ref}", body, idempotency_key
        )

    def remove(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        group = self._group_id(unit_external_id(grant.unit))
        path = f"/v1/access-groups/{group}/memberships/{grant.membership_ref}"
        self._call("DELETE", path, None, idempotency_key, missing_ok=True)

    def membership_refs(self, external_id: str) -> set[str]:
        group = self._group_id(external_id)
        answer = self._call("GET", f"/v1/access-groups/{group}/memberships")
        return {item["ref"] for item in answer.get("items", [])}

    def test_connection(self, *, timeout: float = TIMEOUT_SECONDS) -> ConnectionCheck:
        """Log in and list the access groups, as the settings page's Test connection.

        A fresh token, kept out of the cache: the credentials tried may not be the saved ones.
        """
        try:
            token = str(self._send(self._token_request(), timeout=timeout)["access_token"])
            listing = self._request("GET", "/v1/access-groups", token=token)
            groups = self._send(listing, timeout=timeout).get("items", [])
        except _Unauthorized:
            return ConnectionCheck(ok=False, message=REFUSED)
        except ProviderError as error:
            return ConnectionCheck(ok=False, message=str(error))
        except (KeyError, TypeError, AttributeError):
            return ConnectionCheck(ok=False, message=NOT_UNDERSTOOD)
        noun = "access group" if len(groups) == 1 else "access groups"
        return ConnectionCheck(ok=True, message=f"Connected: {len(groups)} {noun}.")

    # The wire.

    def _group_id(self, external_id: str) -> str:
        key = (self.base_url, external_id)
        with _lock:
            if key in _groups:
                return _groups[key]
        answer = self._call(
            "GET", "/v1/access-groups?" + urllib.parse.urlencode({"external_id": external_id})
        )
        items = answer.get("items", [])
        if not items:
            raise ProviderError(f"Sensorberg has no access group with External Identifier {external_id!r}.")
        with _lock:
            _groups[key] = items[0]["id"]
        return str(items[0]["id"])

    def _token(self, *, fresh: bool = False) -> str:
        key = (self.base_url, self.client_id)
        with _lock:
            cached = _tokens.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]
        answer = self._send(self._token_request())
        token = str(answer["access_token"])
        lifetime = float(answer.get("expires_in", 300))
        with _lock:
            _tokens[key] = (token, time.monotonic() + max(lifetime - 30, lifetime / 2))
        return token

    def _token_request(self) -> urllib.request.Request:
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            }
        ).encode()
        return urllib.request.Request(  # noqa: S310 (the settings only take https, or http to localhost)
            self.base_url + "/oauth/token",
            data=form,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
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
        return urllib.request.Request(  # noqa: S310
            self.base_url + path, data=data, method=method, headers=headers
        )

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        *,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                token = self._token(fresh=attempt == 2)
                request = self._request(method, path, token=token, body=body, idempotency_key=idempotency_key)
                return self._send(request, missing_ok=missing_ok)
            except _Unauthorized:
                if attempt == 2:
                    raise ProviderError(REFUSED) from None
        raise AssertionError("unreachable")

    def _send(
        self, request: urllib.request.Request, *, timeout: float | None = None, missing_ok: bool = False
    ) -> dict[str, Any]:
        """One call to Sensorberg; a failure is told in words the owner can act on.

        A 401 raises _Unauthorized, so that the caller may fetch a fresh token and try once more.
        """
        # Read at call time: tests shorten TIMEOUT_SECONDS.
        timeout = TIMEOUT_SECONDS if timeout is None else timeout
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 401:
                raise _Unauthorized from None
            if error.code == 403:
                raise ProviderError(REFUSED) from None
            if error.code == 404 and missing_ok:
                return {}
            if error.code == 429:
                retry_after = _seconds(error.headers.get("Retry-After"))
                raise RetryLater(
                    "Sensorberg asked us to slow down (429).", after_seconds=retry_after
                ) from None
            path = urllib.parse.urlsplit(request.full_url).path
            raise ProviderError(
                f"Sensorberg answered {error.code} to {request.get_method()} {path}."
            ) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise ProviderError(f"Sensorberg did not answer within {timeout:g} seconds.") from None
            raise ProviderError(
                f"Could not reach Sensorberg at {self.base_url}: {_reason(error.reason)}."
            ) from None
        except TimeoutError:
            raise ProviderError(f"Sensorberg did not answer within {timeout:g} seconds.") from None
        except OSError as error:
            raise ProviderError(f"Could not reach Sensorberg at {self.base_url}: {_reason(error)}.") from None
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            raise ProviderError(NOT_UNDERSTOOD) from None
        if not isinstance(answer, dict):
            raise ProviderError(NOT_UNDERSTOOD)
        return answer


class _Unauthorized(Exception):
    pass


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 1))
    except ValueError:
        return 1.0
