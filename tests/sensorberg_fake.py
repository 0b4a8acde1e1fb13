"""A fake Sensorberg cloud: a real HTTP server in a thread that speaks the vendor's published
protocol: OAuth 2.0 client credentials with scope=app (400 without it), token revocation, and
JSON:API resources (415 to a body that is not application/vnd.api+json, errors as an `errors`
array, lists paged by `links.next`, `state.page_size` to a page). The resource paths are its own
(see keyport/access/providers/sensorberg/__init__.py). It can misbehave:
`fail_next(n, status)` answers 5xx, `slow_next(n, seconds)` times out (and then still applies
the call, as a vendor may after the client gave up; `method=` only that method's calls),
`rate_limit_next(n, retry_after)` answers 429 (seconds or an HTTP date), `expire_tokens()` makes
every issued token stale (401; `state.token_lifetime` is how long a new one lasts),
`answer_next(path, body, cut_after=...)` gives one scripted (or cut off) answer, `state.latency`
delays every answer, and `state.connections` counts the connections accepted.
Several clients may log in (`add_client`); each sees only its own access groups.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_server import LocalFakeServer

CLIENT_ID = "keyport-test"
CLIENT_SECRET = "s3cret-value-never-logged"
JSON_API = "application/vnd.api+json"


@dataclass
class Scripted:
    status: int
    raw: bytes
    cut_after: int | None  # send only this many bytes of `raw`, announcing all of them


@dataclass
class FakeState:
    groups: dict[str, str] = field(default_factory=dict)  # CLIENT_ID's: external id → group id
    clients: dict[str, str] = field(default_factory=lambda: {CLIENT_ID: CLIENT_SECRET})  # id → secret
    groups_by_client: dict[str, dict[str, str]] = field(default_factory=dict)
    twin_groups: list[tuple[str, str, str]] = field(default_factory=list)  # client, external id, group
    memberships: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # group → ref → body
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → client id, expiry
    token_lifetime: int = 3600  # seconds, as expires_in
    token_type: str = "Bearer"
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)  # the forms posted
    revoked: list[str] = field(default_factory=list)
    page_size: int = 50  # resources per page of a list
    latency: float = 0.0  # seconds every request waits before it is answered
    connections: int = 0  # TCP connections accepted
    failures: list[int] = field(default_factory=list)
    slow: list[tuple[float, str | None]] = field(default_factory=list)  # seconds, method or any
    rate_limits: list[int | str] = field(default_factory=list)
    scripted: dict[str, Scripted] = field(default_factory=dict)  # path → the next answer to it
    writes: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, idempotency key
    answers: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.groups_by_client.setdefault(CLIENT_ID, self.groups)

    def groups_of(self, client: str) -> dict[str, str]:
        return self.groups_by_client.setdefault(client, {})


class _QuietServer(ThreadingHTTPServer):
    state: FakeState

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.state.lock:
            self.state.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a slow answer is the point of `slow_next`, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeSensorberg(LocalFakeServer):
    def __init__(self) -> None:
        self.state = FakeState()
        state = self.state
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept open between calls, as a vendor's are
            # Headers and body go out in two writes: without this, Nagle's algorithm holds the body
            # back until the client's delayed ACK (about 40 ms a call on a kept-open connection).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                with state.lock:
                    state.answers.append((self.command, self.path, status))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                oauth = self.path.startswith("/oauth/")
                self.send_header("Content-Type", "application/json" if oauth else JSON_API)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _error(self, status: int, title: str, detail: str = "") -> None:
                """A JSON:API errors document."""
                error = {"status": str(status), "title": title} | ({"detail": detail} if detail else {})
                self._answer(status, {"errors": [error]})

            def _page(self, resources: list[dict[str, Any]]) -> None:
                """One page of a JSON:API list, `links.next` naming the next page if there is one."""
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                number = int(query.get("page[number]", "1"))
                size = state.page_size
                links: dict[str, str | None] = {"self": self.path, "next": None}
                if number * size < len(resources):
                    following = urllib.parse.urlencode(query | {"page[number]": str(number + 1)})
                    links["next"] = f"{fake.base_url}{url.path}?{following}"
                self._answer(200, {"data": resources[(number - 1) * size : number * size], "links": links})

            def _speaks_json_api(self) -> bool:
                """A resource request must accept JSON:API, and a body must be sent as JSON:API."""
                accept = self.headers.get("Accept", "")
                if JSON_API not in accept and "*/*" not in accept:
                    self._error(406, "Not Acceptable", f"Accept {JSON_API}.")
                    return False
                if self.command == "PUT" and self.headers.get("Content-Type") != JSON_API:
                    self._error(415, "Unsupported Media Type", f"Send the body as {JSON_API}.")
                    return False
                return True

            def _misbehave(self) -> bool:
                if state.latency:
                    time.sleep(state.latency)
                with state.lock:
                    scripted = state.scripted.pop(urllib.parse.urlparse(self.path).path, None)
                if scripted is not None:
                    with state.lock:
                        state.answers.append((self.command, self.path, scripted.status))
                    self.send_response(scripted.status)
                    self.send_header(
                        "Content-Type", "application/json" if self.path.startswith("/oauth/") else JSON_API
                    )
                    self.send_header("Content-Length", str(len(scripted.raw)))
                    self.end_headers()
                    self.wfile.write(scripted.raw[: scripted.cut_after])
                    self.close_connection = scripted.cut_after is not None
                    return True
                with state.lock:
                    delay = self._delay()
                    failure = state.failures.pop(0) if state.failures else 0
                    limited = state.rate_limits.pop(0) if state.rate_limits else None
                if delay:
                    time.sleep(delay)
                if failure:
                    self._error(failure, "Server Error")
                    return True
                if limited is not None:
                    error = {"errors": [{"status": "429", "title": "Too Many Requests"}]}
                    self._answer(429, error, {"Retry-After": str(limited)})
                    return True
                return False

            def _delay(self) -> float:
                """How long to sit on this call before doing it (the caller holds the lock)."""
                for index, (seconds, method) in enumerate(state.slow):
                    if method in (None, self.command):
                        del state.slow[index]
                        return seconds
                return 0

            def _client(self) -> str | None:
                """The client the bearer token was issued to; None (and a 401 answered) if none."""
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with state.lock:
                    client, expires = state.tokens.get(token, (None, 0.0))
                if client is None or expires <= time.time():
                    self._answer(401, {"error": "invalid_token"})
                    return None
                return client

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self) -> None:  # noqa: N802
                body = self._body()
                if self._misbehave():
                    return
                form = urllib.parse.parse_qs(body.decode())
                if self.path == "/oauth/revoke":
                    return self._revoke(form)
                if self.path != "/oauth/token":
                    return self._answer(404, {"error": "not_found"})
                with state.lock:
                    state.token_requests.append(form)
                if form.get("grant_type") != ["client_credentials"]:
                    return self._answer(400, {"error": "unsupported_grant_type"})
                if form.get("scope") != ["app"]:
                    return self._answer(400, {"error": "invalid_scope"})
                client = self._client_of(form)
                if client is None:
                    return self._answer(401, {"error": "invalid_client"})
                token = secrets.token_hex(16)
                with state.lock:
                    state.tokens[token] = (client, time.time() + state.token_lifetime)
                answer = {"access_token": token, "token_type": state.token_type}
                self._answer(200, answer | {"expires_in": state.token_lifetime, "scope": "app"})

            def _client_of(self, form: dict[str, list[str]]) -> str | None:
                client = (form.get("client_id") or [""])[0]
                if client not in state.clients or form.get("client_secret") != [state.clients[client]]:
                    return None
                return client

            def _revoke(self, form: dict[str, list[str]]) -> None:
                """RFC 7009: a token of another client, or unknown, is answered 200 all the same."""
                client = self._client_of(form)
                if client is None:
                    return self._answer(401, {"error": "invalid_client"})
                token = (form.get("token") or [""])[0]
                with state.lock:
                    if state.tokens.get(token, ("",))[0] == client:
                        del state.tokens[token]
                        state.revoked.append(token)
                self._answer(200, {})

            def do_GET(self) -> None:  # noqa: N802
                if self._misbehave() or not self._speaks_json_api():
                    return
                client = self._client()
                if client is None:
                    return
                url = urllib.parse.urlparse(self.path)
                parts = url.path.strip("/").split("/")
                if parts == ["v1", "access-groups"]:
                    asked = urllib.parse.parse_qs(url.query).get("filter[external_id]")
                    listed = list(state.groups_of(client).items()) + [
                        (external_id, group)
                        for owner, external_id, group in state.twin_groups
                        if owner == client
                    ]
                    return self._page(
                        [
                            {"type": "access-groups", "id": group, "attributes": {"external_id": external_id}}
                            for external_id, group in listed
                            if asked is None or external_id == asked[0]
                        ]
                    )
                if len(parts) == 4 and parts[3] == "memberships":
                    if parts[2] not in state.groups_of(client).values():
                        return self._error(404, "Not Found", "No such access group.")
                    with state.lock:
                        held = state.memberships.get(parts[2], {})
                        resources = [
                            {"type": "memberships", "id": ref, "attributes": body}
                            for ref, body in held.items()
                        ]
                    return self._page(resources)
                self._error(404, "Not Found")

            def _membership(self, client: str) -> tuple[str, str] | None:
                parts = self.path.strip("/").split("/")
                shaped = (
                    len(parts) == 5 and parts[:2] == ["v1", "access-groups"] and parts[3] == "memberships"
                )
                if shaped and parts[2] in state.groups_of(client).values():
                    return parts[2], urllib.parse.unquote(parts[4])
                return None

            def do_PUT(self) -> None:  # noqa: N802
                body = self._body()
                if self._misbehave() or not self._speaks_json_api():
                    return
                client = self._client()
                if client is None:
                    return
                target = self._membership(client)
                if target is None:
                    return self._error(404, "Not Found", "No such access group.")
                try:
                    data = json.loads(body)["data"]
                    attributes = data["attributes"]
                except (ValueError, KeyError, TypeError):
                    return self._error(400, "Bad Request", "Send a JSON:API document with data.")
                if data.get("type") != "memberships" or data.get("id") != target[1]:
                    return self._error(409, "Conflict", "The type or id does not match the URL.")
                with state.lock:
                    state.writes.append(("PUT", self.path, self.headers.get("Idempotency-Key", "")))
                    state.memberships.setdefault(target[0], {})[target[1]] = attributes
                self._answer(
                    200, {"data": {"type": "memberships", "id": target[1], "attributes": attributes}}
                )

            def do_DELETE(self) -> None:  # noqa: N802
                if self._misbehave() or not self._speaks_json_api():
                    return
                client = self._client()
                if client is None:
                    return
                target = self._membership(client)
                if target is None:
                    return self._error(404, "Not Found", "No such access group.")
                with state.lock:
                    state.writes.append(("DELETE", self.path, self.headers.get("Idempotency-Key", "")))
                    existed = state.memberships.get(target[0], {}).pop(target[1], None)
                if existed is None:
                    return self._error(404, "Not Found", "No such membership.")
                self._answer(204)

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.state = state
        self._serve(server)

    # Knobs.

    def add_client(self, client_id: str, client_secret: str) -> None:
        self.state.clients[client_id] = client_secret

    def add_group(self, external_id: str, *, client_id: str = CLIENT_ID) -> str:
        group = f"grp_{secrets.token_hex(4)}"
        self.state.groups_of(client_id)[external_id] = group
        return group

    def add_twin_group(self, external_id: str, *, client_id: str = CLIENT_ID) -> str:
        """A second access group with the same External Identifier, as the vendor allows."""
        group = f"grp_{secrets.token_hex(4)}"
        self.state.twin_groups.append((client_id, external_id, group))
        return group

    def recreate_group(self, external_id: str, *, client_id: str = CLIENT_ID) -> str:
        """The group deleted and made again in the vendor's dashboard: a new id, the same members."""
        with self.state.lock:
            groups = self.state.groups_of(client_id)
            old = groups[external_id]
            group = f"grp_{secrets.token_hex(4)}"
            groups[external_id] = group
            self.state.memberships[group] = self.state.memberships.pop(old, {})
        return group

    def members(self, external_id: str, *, client_id: str = CLIENT_ID) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            group = self.state.groups_of(client_id)[external_id]
            return dict(self.state.memberships.get(group, {}))

    def fail_next(self, count: int, status: int = 503) -> None:
        self.state.failures.extend([status] * count)

    def slow_next(self, count: int, seconds: float, *, method: str | None = None) -> None:
        self.state.slow.extend([(seconds, method)] * count)

    def rate_limit_next(self, count: int, retry_after: int | str) -> None:
        self.state.rate_limits.extend([retry_after] * count)

    def answer_next(self, path: str, body: Any, *, status: int = 200, cut_after: int | None = None) -> None:
        """The next request to `path` gets `body` (JSON, or bytes as they are), perhaps cut off."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.state.scripted[path] = Scripted(status=status, raw=raw, cut_after=cut_after)

    def expire_tokens(self) -> None:
        with self.state.lock:
            self.state.tokens.clear()
