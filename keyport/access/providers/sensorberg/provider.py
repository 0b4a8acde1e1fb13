"""SensorbergProvider: the calls the outbox makes (push, remove, memberships) and the settings
page's Test connection, each with a bearer token this process holds, on the unit's access group
found by its External Identifier."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpx
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from keyport.access.models import MissingAccessGroup, SensorbergAccount
from keyport.access.providers import ConnectionCheck, MayStillLand, ProviderError
from keyport.access.providers.sensorberg.call_tally import _call_tally
from keyport.access.providers.sensorberg.connections import _reason, client_for, close_clients
from keyport.access.providers.sensorberg.json_api import (
    CUT_OFF,
    ERROR_BODY_MAX_BYTES,
    GROUP_TYPE,
    GROUPS_PATH,
    JSON_API,
    MAX_PAGES,
    MEMBERSHIP_TYPE,
    NOT_UNDERSTOOD,
    REFUSED,
    _errors_said,
    _form_request,
    _next_link,
    _NoAnswer,
    _NotFound,
    _Outgoing,
    _path_part,
    _refusal,
    _resources,
    _status_error,
    _Unauthorized,
)
from keyport.access.providers.sensorberg.memberships import (
    MEMBERSHIP_FIELDS,
    membership_body,
    unit_external_id,
)
from keyport.access.providers.sensorberg.tokens import (
    TOKEN_REFRESH_MARGIN_SECONDS,
    TOKEN_SCOPE,
    _saved_token,
    _token_from,
    _token_save,
)
from keyport.lib.public_hosts import HostNotPublic

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant
    from keyport.facilities.models import Location

logger = logging.getLogger(__name__)

# How long to wait for an answer (read) and for a connection to open: the worker's calls.
TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 3.0
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


def forget_token(base_url: str, client_id: str) -> None:
    with _lock:
        _tokens.pop((base_url.rstrip("/"), client_id), None)


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
