"""Unit tests of the ZVM REST client against a small scripted ZVM on loopback.

The fake ZVM below speaks HTTP for real (``http.server``), so that the client's requests
session, its retries on refused connections and its TLS verification are exercised as they are
in production. Time is injected: backoff and task polling never really wait.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
import logging
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ansible_collections.vmrepl.core.plugins.module_utils.clients import zvm as zvm_module
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ApiError,
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    NotFound,
    TaskFailed,
    TaskTimeout,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    SITE_OBJECT_KINDS,
    TOKEN_PATH,
    CommitPolicy,
    ShutdownPolicy,
    ZvmClient,
    ZvmConnectionParams,
    json_field,
)
from ansible_collections.vmrepl.core.plugins.module_utils.vras import VraSettings, vra_create_body
from tests.support.clock import FakeClock
from tests.support.openapi_schema import SCHEMA_FILE, OpenApiSchema

try:  # the simulator team's validator (the contract its responses are checked with)
    from vmrepl.lab.zvm.http.openapi import default_document as lab_document
except ImportError:  # not there yet: tests/support's validator alone
    lab_document = None

PASSWORD = "Pw-S3cr3t-7f2a"  # a test value, not a credential
CLIENT_SECRET = "Cs-S3cr3t-91bd"
ROOT_PASSWORD = "Root-S3cr3t-e4c0"
USER = "admin"

SITE = "5a9e7c32-1111-4f5e-9d3b-0c1f2e3d4a5b"
SERVER = "03cb5a97-4d85-4449-99ef-3a268bf3f60d"
HOST, DS, NET = f"{SERVER}.host-3009", f"{SERVER}.datastore-3014", f"{SERVER}.network-3015"
VM, VPG, SID = f"{SERVER}.vm-6020", "1b976390-4ba2-4d05-8408-5b4c33d6377f", "2891b744-363f"
VRA, CP = "vra-1", "cp-1"


# -- a scripted ZVM -------------------------------------------------------------------------
@functools.cache
def test_tls() -> tuple[ssl.SSLContext, str]:
    """The scripted ZVM's TLS context and the CA file that verifies it (the client refuses
    anything but https), made once per test session."""
    from vmrepl.lab.certs import ensure_lab_certificates

    certs = ensure_lab_certificates(Path(tempfile.mkdtemp(prefix="zvm-client-tls-")))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.cert_file, certs.key_file)
    return context, str(certs.ca_file)


test_tls.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


class Reply(NamedTuple):
    status: int = 200
    body: Any = None
    headers: dict[str, str] | None = None
    delay: float = 0.0
    text: bool = False
    drop: bool = False  # close the connection without an answer


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass
class FakeZvm:
    kind: str = "appliance"
    expires_in: int = 300
    refresh_expires_in: int = 1800
    tls: ssl.SSLContext | None = field(default_factory=lambda: test_tls()[0])
    requests: list[Seen] = field(default_factory=list)
    scripts: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    routes: dict[tuple[str, str], Callable[[Seen], Reply]] = field(default_factory=dict)
    default: Callable[[Seen], Reply] | None = None
    tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    issued: int = 0
    port: int = 0
    server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    # server
    def start(self, port: int = 0) -> FakeZvm:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                body: Any = None
                if raw and "json" in ctype:
                    body = json.loads(raw)
                elif raw and "form" in ctype:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                elif raw:
                    body = raw.decode()
                seen = Seen(
                    self.command,
                    split.path,
                    {k: v[0] for k, v in parse_qs(split.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    raw,
                )
                reply = fake.handle(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.body is None:
                    data = b""
                elif reply.text:
                    data = str(reply.body).encode()
                else:
                    data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    content = "text/plain" if reply.text else "application/json; charset=utf-8"
                    self.send_header("Content-Type", content)
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (reply.headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (read timeout tests)
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self.server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # behaviour
    def script(self, method: str, path: str, *replies: Reply) -> None:
        self.scripts.setdefault((method, path), []).extend(replies)

    def api(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The requests other than logins, optionally of one method and path."""
        auth = {TOKEN_PATH, "/v1/session/add"}
        return [
            r
            for r in self.requests
            if r.path not in auth
            and (method is None or r.method == method)
            and (path is None or r.path == path)
        ]

    def logins(self) -> list[Seen]:
        return [r for r in self.requests if r.path in (TOKEN_PATH, "/v1/session/add")]

    def revoke(self) -> None:
        self.tokens.clear()

    def handle(self, seen: Seen) -> Reply:
        with self.lock:
            self.requests.append(seen)
        if seen.path == TOKEN_PATH:
            if self.kind != "appliance":
                return Reply(404, {"Message": "No HTTP resource was found"})
            return self._token(seen.body or {})
        if seen.path == "/v1/session/add":
            if self.kind != "windows":
                return Reply(404)
            return self._session_add(seen)
        credential = (
            seen.headers.get("authorization", "").removeprefix("Bearer ")
            if self.kind == "appliance"
            else seen.headers.get("x-zerto-session", "")
        )
        if credential not in self.tokens:
            return Reply(401, {"Message": "Authorization has been denied for this request."})
        if seen.method == "DELETE" and seen.path == "/v1/session":
            self.tokens.discard(credential)
            return Reply(200)
        with self.lock:
            queue = self.scripts.get((seen.method, seen.path))
            if queue:
                return queue.pop(0)
        route = self.routes.get((seen.method, seen.path))
        if route is not None:
            return route(seen)
        if self.default is not None:
            return self.default(seen)
        return Reply(404, {"Message": f"No HTTP resource was found that matches {seen.path}"})

    def _issue(self) -> str:
        with self.lock:
            self.issued += 1
            token = f"access-{self.issued}-c0ffee"
            self.tokens.add(token)
        return token

    def _token(self, form: dict[str, str]) -> Reply:
        grant = form.get("grant_type")
        if grant == "password":
            ok = form.get("client_id") == "zerto-client" and (
                form.get("username"),
                form.get("password"),
            ) == (USER, PASSWORD)
        elif grant == "client_credentials":
            ok = (form.get("client_id"), form.get("client_secret")) == ("automation", CLIENT_SECRET)
        elif grant == "refresh_token":
            ok = form.get("refresh_token") in self.refresh_tokens
        else:
            return Reply(400, {"error": "unsupported_grant_type"})
        if not ok:
            return Reply(
                401,
                {
                    "error": "invalid_grant",
                    # a careless server echoing what it was sent
                    "error_description": f"Invalid user credentials {form.get('password')} "
                    f"{form.get('client_secret')}",
                },
            )
        token = self._issue()
        refresh = f"refresh-{self.issued}-beef"
        self.refresh_tokens.add(refresh)
        return Reply(
            200,
            {
                "access_token": token,
                "expires_in": self.expires_in,
                "refresh_expires_in": self.refresh_expires_in,
                "refresh_token": refresh,
                "token_type": "Bearer",
            },
        )

    def _session_add(self, seen: Seen) -> Reply:
        basic = seen.headers.get("authorization", "")
        user, _, password = base64.b64decode(basic.removeprefix("Basic ")).decode().partition(":")
        if (user, password) != (USER, PASSWORD) or seen.body != {"AuthenticationMethod": 1}:
            return Reply(401, {"Message": "Authorization has been denied for this request."})
        return Reply(200, None, {"x-zerto-session": self._issue()})


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeZvm]:
    server = FakeZvm().start()
    yield server
    server.stop()


@pytest.fixture
def windows() -> Iterator[FakeZvm]:
    server = FakeZvm(kind="windows").start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=1000.0)


def client_for(
    server: FakeZvm | str, clock: FakeClock, rand: float = 1.0, **overrides: Any
) -> ZvmClient:
    url = server if isinstance(server, str) else server.url
    options: dict[str, Any] = {"url": url, "username": USER, "password": PASSWORD}
    if url.startswith("https://"):
        options["ca_file"] = test_tls()[1]
    options.update(overrides)
    return ZvmClient(
        ZvmConnectionParams(**options), sleep=clock.sleep, clock=clock.clock, rand=lambda: rand
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- json_field() ----------------------------------------------------------------------------
def test_field_reads_keys_case_insensitively() -> None:
    task = {"Status": {"State": 6, "Progress": 100}, "link": {"identifier": "t-1"}}
    assert json_field(task, "Status", "State") == 6
    assert json_field(task, "status", "progress") == 100
    assert json_field({"status": {"state": 4}}, "Status", "State") == 4
    assert json_field(task, "Link", "Identifier") == "t-1"
    assert json_field(task, "Status", "Missing", default="x") == "x"
    assert json_field(task, "Status", "State", "Deeper") is None
    assert json_field(None, "Status") is None


# -- authentication -------------------------------------------------------------------------
def test_appliance_login_password_grant_and_bearer(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/localsite", Reply(200, {"SiteIdentifier": SITE}))
    client = client_for(fake, clock, kind="appliance")
    assert client.local_site()["SiteIdentifier"] == SITE
    login, call = fake.requests
    assert login.body == {
        "grant_type": "password",
        "client_id": "zerto-client",
        "username": USER,
        "password": PASSWORD,
    }
    assert "x-www-form-urlencoded" in login.headers["content-type"]
    assert call.headers["authorization"] == "Bearer access-1-c0ffee"
    assert client.kind == "appliance"
    assert client.calls == 2


def test_appliance_client_credentials_grant(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vpgs", Reply(200, []))
    client = client_for(fake, clock, client_id="automation", client_secret=CLIENT_SECRET)
    assert client.vpgs() == []
    assert fake.logins()[0].body == {
        "grant_type": "client_credentials",
        "client_id": "automation",
        "client_secret": CLIENT_SECRET,
    }


def test_windows_login_session_header_and_close(windows: FakeZvm, clock: FakeClock) -> None:
    windows.script("GET", "/v1/localsite", Reply(200, {"SiteName": "b"}))
    with client_for(windows, clock, kind="windows") as client:
        assert client.local_site() == {"SiteName": "b"}
        token = next(iter(windows.tokens))
    login, call, logout = windows.requests
    assert login.method == "POST" and login.path == "/v1/session/add"
    assert login.body == {"AuthenticationMethod": 1}
    assert login.headers["authorization"].startswith("Basic ")
    assert call.headers["x-zerto-session"] == token
    assert "authorization" not in call.headers
    assert (logout.method, logout.path, logout.headers["x-zerto-session"]) == (
        "DELETE",
        "/v1/session",
        token,
    )
    assert windows.tokens == set()  # the session was ended


def test_auto_detects_windows_when_token_endpoint_is_404(
    windows: FakeZvm, clock: FakeClock
) -> None:
    windows.script("GET", "/v1/vras", Reply(200, []))
    client = client_for(windows, clock)  # kind defaults to auto
    assert client.vras() == []
    assert [r.path for r in windows.requests] == [TOKEN_PATH, "/v1/session/add", "/v1/vras"]
    assert client.kind == "windows"
    # a later re-login goes straight to the session API
    windows.revoke()
    windows.script("GET", "/v1/vras", Reply(200, []))
    client.vras()
    assert [r.path for r in windows.requests[3:]] == ["/v1/vras", "/v1/session/add", "/v1/vras"]


def test_auto_detects_appliance(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vras", Reply(200, []))
    client = client_for(fake, clock, kind="auto")
    client.vras()
    assert client.kind == "appliance"
    assert not [r for r in fake.requests if r.path == "/v1/session/add"]


def test_auto_against_something_else_says_check_the_url(clock: FakeClock) -> None:
    other = FakeZvm(kind="other").start()
    try:
        with pytest.raises(ConfigurationError, match="neither") as info:
            client_for(other, clock).login()
    finally:
        other.stop()
    assert "9669" in str(info.value)


def test_explicit_appliance_against_windows_zvm_says_so(windows: FakeZvm, clock: FakeClock) -> None:
    client = client_for(windows, clock, kind="appliance")
    with pytest.raises(ConfigurationError, match="no appliance token endpoint") as info:
        client.login()
    assert "windows" in str(info.value)


def test_wrong_password_is_authentication_failed(fake: FakeZvm, clock: FakeClock) -> None:
    client = client_for(fake, clock, password="Wr0ng-" + PASSWORD)
    with pytest.raises(AuthenticationFailed) as info:
        client.vpgs()
    assert "username/password" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert len(fake.requests) == 1  # a refused login is not retried
    assert clock.sleeps == []


def test_wrong_windows_password_is_authentication_failed(
    windows: FakeZvm, clock: FakeClock
) -> None:
    client = client_for(windows, clock, kind="windows", password="nope")
    with pytest.raises(AuthenticationFailed, match="user 'admin'"):
        client.vpgs()


def test_wrong_client_secret_names_the_client(fake: FakeZvm, clock: FakeClock) -> None:
    client = client_for(fake, clock, client_id="automation", client_secret="wrong-secret")
    with pytest.raises(AuthenticationFailed, match="client_id/client_secret") as info:
        client.login()
    assert "'automation'" in str(info.value)
    assert "wrong-secret" not in str(info.value)


def test_token_renewed_with_refresh_token_before_expiry(fake: FakeZvm, clock: FakeClock) -> None:
    fake.default = lambda seen: Reply(200, [])
    client = client_for(fake, clock)
    client.vpgs()
    clock.now += 200  # well before expiry (300 s): the same token
    client.vpgs()
    assert len(fake.logins()) == 1
    clock.now += 80  # within the renewal margin before expiry
    client.vpgs()
    logins = fake.logins()
    assert len(logins) == 2
    assert logins[1].body["grant_type"] == "refresh_token"
    assert logins[1].body["refresh_token"] == "refresh-1-beef"
    assert fake.api()[-1].headers["authorization"] == "Bearer access-2-c0ffee"
    assert not [r for r in fake.requests if r.path != TOKEN_PATH and r.path != "/v1/vpgs"]


def test_token_renewal_logs_in_again_when_refresh_is_refused(
    fake: FakeZvm, clock: FakeClock
) -> None:
    fake.default = lambda seen: Reply(200, [])
    client = client_for(fake, clock)
    client.vpgs()
    fake.refresh_tokens.clear()
    clock.now += 290
    client.vpgs()
    grants = [r.body["grant_type"] for r in fake.logins()]
    assert grants == ["password", "refresh_token", "password"]


def test_token_renewal_logs_in_again_when_refresh_token_expired(
    fake: FakeZvm, clock: FakeClock
) -> None:
    fake.default = lambda seen: Reply(200, [])
    client = client_for(fake, clock)
    client.vpgs()
    clock.now += 3600
    client.vpgs()
    assert [r.body["grant_type"] for r in fake.logins()] == ["password", "password"]


def test_401_logs_in_again_and_resends_once(fake: FakeZvm, clock: FakeClock) -> None:
    fake.default = lambda seen: Reply(200, "task-9")
    client = client_for(fake, clock)
    client.login()
    fake.revoke()  # e.g. the ZVM restarted
    assert client.pause(VPG) == "task-9"
    paths = [(r.method, r.path) for r in fake.requests]
    pause = ("POST", f"/v1/vpgs/{VPG}/pause")
    assert paths == [("POST", TOKEN_PATH), pause, ("POST", TOKEN_PATH), pause]
    assert [r.body["grant_type"] for r in fake.logins()] == ["password", "password"]
    assert clock.sleeps == []


def test_401_after_a_fresh_login_is_not_a_loop(fake: FakeZvm, clock: FakeClock) -> None:
    fake.default = lambda seen: Reply(401, {"Message": "Denied"})
    client = client_for(fake, clock)
    with pytest.raises(AuthenticationFailed, match="after a fresh login"):
        client.vpgs()
    assert len(fake.api()) == 2
    assert len(fake.logins()) == 2


def test_windows_401_logs_in_again(windows: FakeZvm, clock: FakeClock) -> None:
    windows.default = lambda seen: Reply(200, [])
    client = client_for(windows, clock, kind="windows")
    client.vpgs()
    windows.revoke()  # 30 minutes idle
    client.vpgs()
    assert len(windows.logins()) == 2
    assert len(windows.api("GET", "/v1/vpgs")) == 3


# -- retries --------------------------------------------------------------------------------
def test_503_is_retried_then_succeeds(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vpgs", Reply(503), Reply(503, "Service Unavailable", text=True))
    fake.script("GET", "/v1/vpgs", Reply(200, [{"VpgName": "a"}]))
    client = client_for(fake, clock, backoff=0.5)
    assert client.vpgs() == [{"VpgName": "a"}]
    assert len(fake.api("GET", "/v1/vpgs")) == 3
    assert clock.sleeps == [0.5, 1.0]  # exponential (rand() = 1: the top of the jitter range)
    assert client.calls == 4  # login + 3


def test_503_is_retried_for_a_post_too(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("POST", "/v1/vras", Reply(503), Reply(200, "task-1"))
    client = client_for(fake, clock)
    assert client.install_vra(vra_create_body(HOST, DS, NET)) == "task-1"
    assert len(fake.api("POST", "/v1/vras")) == 2


def test_backoff_has_full_jitter_and_a_cap(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vpgs", *[Reply(503)] * 5, Reply(200, []))
    client = client_for(fake, clock, rand=0.25, backoff=1.0, backoff_max=4.0)
    client.vpgs()
    assert clock.sleeps == [0.25, 0.5, 1.0, 1.0, 1.0]  # 0.25 x min(4, 1 x 2^n)


def test_retry_after_is_honoured(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vpgs", Reply(429, headers={"Retry-After": "3"}), Reply(200, []))
    client = client_for(fake, clock, rand=0.0)
    client.vpgs()
    assert clock.sleeps == [3.0]


def test_500_on_a_post_is_not_retried(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("POST", "/v1/vpgSettings", Reply(500, {"Message": "Object reference not set"}))
    fake.script("POST", "/v1/vpgSettings", Reply(200, "settings-2"))
    client = client_for(fake, clock)
    with pytest.raises(ApiError) as info:
        client.vpg_settings_create()
    assert info.value.status == 500
    assert "Object reference not set" in str(info.value)
    assert len(fake.api("POST", "/v1/vpgSettings")) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_retry_gets_but_not_posts(
    fake: FakeZvm, clock: FakeClock, status: int
) -> None:
    fake.script("GET", "/v1/vpgs", Reply(status), Reply(200, []))
    fake.script("POST", f"/v1/vpgs/{VPG}/Failover", Reply(status), Reply(200, "task-2"))
    client = client_for(fake, clock)
    assert client.vpgs() == []
    with pytest.raises(ApiError) as info:
        client.failover(VPG, commit_policy=CommitPolicy.NONE, shutdown_policy=ShutdownPolicy.NONE)
    assert info.value.status == status
    assert len(fake.api("GET")) == 2
    assert len(fake.api("POST")) == 1


def test_500_is_retried_for_gets_only(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vras", Reply(500), Reply(200, []))
    fake.script("PUT", f"/v1/vras/{VRA}", Reply(500, {"Message": "bad"}), Reply(200, "t"))
    client = client_for(fake, clock)
    assert client.vras() == []
    with pytest.raises(ApiError, match="bad"):
        client.edit_vra(VRA, {"MemoryInGb": 4})
    assert len(fake.api("GET")) == 2
    assert len(fake.api("PUT")) == 1


def test_retry_budget_exhausted_is_a_clear_error(fake: FakeZvm, clock: FakeClock) -> None:
    fake.default = lambda seen: Reply(503, {"Message": "ZVM services are starting"})
    client = client_for(fake, clock, retries=3)
    with pytest.raises(ApiError) as info:
        client.vpgs()
    message = str(info.value)
    assert info.value.status == 503
    assert "after 4 attempts" in message
    assert "ZVM services are starting" in message
    assert "GET /v1/vpgs" in message
    assert len(fake.api()) == 4
    assert len(clock.sleeps) == 3


def test_connection_refused_exhausts_into_connection_failed(clock: FakeClock) -> None:
    client = client_for(f"https://127.0.0.1:{free_port()}", clock, retries=2)
    with pytest.raises(ConnectionFailed) as info:
        client.vpgs()
    assert "after 3 attempts" in str(info.value)
    assert "Check the URL and port" in str(info.value)
    assert len(clock.sleeps) == 2
    assert client.calls == 3


def test_post_is_retried_when_the_connection_was_refused(clock: FakeClock) -> None:
    """Refused = the request never reached the server: safe to resend even a creating POST."""
    zvm = FakeZvm().start()
    zvm.default = lambda seen: Reply(200, "task-pair")
    client = client_for(zvm, clock)
    client.login()
    port = zvm.port
    zvm.stop()
    clock.on_sleep = lambda: zvm.server or zvm.start(port)  # back up after the first backoff
    try:
        assert client.pair_site("zvm-b.example", 9071, "pairing-token") == "task-pair"
    finally:
        zvm.stop()
    assert len(clock.sleeps) == 1
    assert len(zvm.api("POST", "/v1/peersites")) == 1


def test_post_is_not_retried_after_a_read_timeout(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("POST", "/v1/peersites", Reply(200, "task-1", delay=0.6), Reply(200, "task-2"))
    client = client_for(fake, clock, timeout=0.2)
    with pytest.raises(ConnectionFailed, match="may have been processed") as info:
        client.pair_site("zvm-b.example", 9071, "pairing-token")
    assert "task list" in str(info.value)
    assert len(fake.api("POST", "/v1/peersites")) == 1
    assert clock.sleeps == []


def test_post_is_not_retried_when_the_connection_drops_after_sending(
    fake: FakeZvm, clock: FakeClock
) -> None:
    fake.script("POST", f"/v1/vpgs/{VPG}/Move", Reply(drop=True), Reply(200, "task-2"))
    fake.script("GET", "/v1/vpgs", Reply(drop=True), Reply(200, []))
    client = client_for(fake, clock)
    with pytest.raises(ConnectionFailed, match="may have been processed"):
        client.move(VPG, commit_policy=CommitPolicy.COMMIT)
    assert len(fake.api("POST")) == 1
    assert client.vpgs() == []
    assert len(fake.api("GET")) == 2


def test_get_is_retried_after_a_read_timeout(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vpgs", Reply(200, [], delay=0.6), Reply(200, [{"VpgName": "x"}]))
    client = client_for(fake, clock, timeout=0.2)
    assert client.vpgs() == [{"VpgName": "x"}]
    assert len(clock.sleeps) == 1


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(400, {"Message": "The ZVM is not licensed."}), "The ZVM is not licensed."),
        (Reply(400, {"message": "camel case message"}), "camel case message"),
        (
            Reply(403, {"errorCode": 50, "errorMessage": "General authorization error"}),
            "General authorization error (error code 50)",
        ),
        (Reply(409, "VPG is being deleted", text=True), "VPG is being deleted"),
        (Reply(400, "A JSON string error"), "A JSON string error"),
        (Reply(400), "Bad Request"),
    ],
)
def test_error_bodies_become_api_error_with_the_server_message(
    fake: FakeZvm, clock: FakeClock, reply: Reply, expected: str
) -> None:
    fake.script("POST", f"/v1/vpgs/{VPG}/pause", reply)
    client = client_for(fake, clock)
    with pytest.raises(ApiError) as info:
        client.pause(VPG)
    assert info.value.status == reply.status
    assert expected in str(info.value)
    assert f"POST /v1/vpgs/{VPG}/pause" in str(info.value)


def test_403_hints_at_permissions(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("GET", "/v1/vras", Reply(403, {"errorCode": 50, "errorMessage": "General"}))
    with pytest.raises(ApiError) as info:
        client_for(fake, clock).vras()
    assert info.value.hint is not None and "permissions" in info.value.hint


def test_404_is_not_found_with_the_server_message(fake: FakeZvm, clock: FakeClock) -> None:
    client = client_for(fake, clock)
    with pytest.raises(NotFound, match="No HTTP resource was found"):
        client.vpg("missing")


def test_unexpected_answers_are_api_errors(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script("POST", "/v1/vpgSettings", Reply(200, {"not": "an id"}))
    fake.script("GET", "/v1/vpgs", Reply(200, {"not": "a list"}))
    client = client_for(fake, clock)
    with pytest.raises(ApiError, match="without an identifier"):
        client.vpg_settings_create()
    with pytest.raises(ApiError, match="list was expected"):
        client.vpgs()


def test_invalid_parameters_fail_before_any_request(fake: FakeZvm, clock: FakeClock) -> None:
    client = client_for(fake, clock)
    with pytest.raises(ConfigurationError, match="reverse protection off"):
        client.move(VPG, commit_policy=CommitPolicy.COMMIT, keep_source_vms=True)
    with pytest.raises(ConfigurationError, match="300-86400"):
        client.failover(
            VPG,
            commit_policy=CommitPolicy.COMMIT,
            shutdown_policy=ShutdownPolicy.SHUTDOWN,
            time_to_wait_before_shutdown=60,
        )
    with pytest.raises(ConfigurationError, match="hostclusters"):
        client.site_objects(SITE, "clusters")
    with pytest.raises(ConfigurationError, match="subnet mask"):
        vra_create_body(HOST, DS, NET, ip_address="10.0.0.5")
    with pytest.raises(ConfigurationError, match="memory_gb must be 1 to 16, not 32"):
        VraSettings(datastore="ds", network="net", memory_gb=32)
    assert fake.requests == []


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "cloud"},
        {"url": "zvm.example:443"},
        {"url": f"https://admin:{PASSWORD}@zvm.example"},
        {"retries": -1},
    ],
)
def test_connection_params_are_checked(options: dict[str, Any]) -> None:
    values = {"url": "https://zvm.example", "username": USER, "password": PASSWORD} | options
    with pytest.raises(ConfigurationError) as info:
        ZvmConnectionParams(**values)
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    ("url", "option", "named"),
    [
        ("http://127.0.0.1:{port}", "zvm_url", "scheme http://"),
        ("HTTP://127.0.0.1:{port}", "peer_zvm_url", "scheme http://"),
        ("ftp://127.0.0.1:{port}", "zvm_url", "scheme ftp://"),
        ("127.0.0.1:{port}", "peer_zvm_url", "no scheme"),
    ],
)
def test_a_url_that_is_not_https_is_refused_before_any_request(
    url: str, option: str, named: str
) -> None:
    plain = FakeZvm(tls=None).start()  # answers in clear text, if anything asked it
    plain.default = lambda seen: Reply(200, {"SiteName": "plain"})
    try:
        with pytest.raises(ConfigurationError) as info:
            ZvmClient(
                ZvmConnectionParams(
                    url=url.format(port=plain.port), username=USER, password=PASSWORD, option=option
                )
            ).local_site()
        message = str(info.value)
        assert message.startswith(f"{option}: ") and named in message and "https" in message
        assert PASSWORD not in message
        assert plain.requests == []
    finally:
        plain.stop()


def test_the_default_option_name_covers_both_urls() -> None:
    with pytest.raises(ConfigurationError, match=r"zvm_url \(or peer_zvm_url\).*scheme http://"):
        ZvmConnectionParams(url="http://zvm.example", username=USER, password=PASSWORD)


def test_identifiers_are_quoted_into_one_path_segment(fake: FakeZvm, clock: FakeClock) -> None:
    fake.default = lambda seen: Reply(200, {})
    client_for(fake, clock).vpg("a/../b")
    assert fake.api()[0].path == "/v1/vpgs/a%2F..%2Fb"


def test_query_parameters_drop_none_and_lowercase_booleans(fake: FakeZvm, clock: FakeClock) -> None:
    fake.default = lambda seen: Reply(200, [])
    client = client_for(fake, clock)
    client.alerts(vpg_id=VPG, is_dismissed=False)
    client.alerts()
    assert [r.query for r in fake.api()] == [{"vpgIdentifier": VPG, "isDismissed": "false"}, {}]


# -- TLS ------------------------------------------------------------------------------------
def test_tls_verification_is_on_by_default() -> None:
    base: dict[str, Any] = {"url": "https://zvm.example", "username": USER, "password": PASSWORD}
    assert ZvmConnectionParams(**base).verify is True
    assert ZvmClient(ZvmConnectionParams(**base)).session.verify is True
    with_ca = ZvmConnectionParams(**base, ca_file="/etc/zvm-ca.pem")
    assert with_ca.verify == "/etc/zvm-ca.pem"
    assert ZvmClient(with_ca).session.verify == "/etc/zvm-ca.pem"
    off = ZvmConnectionParams(**base, ca_file="/etc/zvm-ca.pem", validate_certs=False)
    assert off.verify is False


@pytest.fixture
def tls_zvm(tmp_path: Path) -> Iterator[tuple[FakeZvm, str]]:
    from vmrepl.lab.certs import ensure_lab_certificates

    certs = ensure_lab_certificates(tmp_path / "certs")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.cert_file, certs.key_file)
    server = FakeZvm(tls=context).start()
    server.default = lambda seen: Reply(200, {"SiteName": "tls"})
    yield server, str(certs.ca_file)
    server.stop()


def test_tls_failure_names_ca_file_and_is_not_retried(
    tls_zvm: tuple[FakeZvm, str], clock: FakeClock
) -> None:
    server, _ = tls_zvm
    client = client_for(server, clock, ca_file=None)  # the system CAs do not know the lab's
    with pytest.raises(ConnectionFailed) as info:
        client.local_site()
    assert "ca_file" in str(info.value)
    assert "certificate" in str(info.value).lower()
    assert clock.sleeps == []
    assert server.requests == []


def test_tls_with_ca_file_wins_over_requests_ca_bundle(
    tls_zvm: tuple[FakeZvm, str], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca_file = tls_zvm
    # The system bundle does not hold the lab CA; requests would prefer it over session.verify.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    client = client_for(server, clock, ca_file=ca_file)
    assert client.local_site() == {"SiteName": "tls"}


def test_tls_verification_off_only_when_asked(
    tls_zvm: tuple[FakeZvm, str], clock: FakeClock
) -> None:
    server, _ = tls_zvm
    client = client_for(server, clock, validate_certs=False)
    with pytest.warns(Warning):  # urllib3's InsecureRequestWarning
        assert client.local_site() == {"SiteName": "tls"}


# -- secrets --------------------------------------------------------------------------------
def _texts(exc: BaseException) -> list[str]:
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        texts += [str(v) for v in vars(current).values() if isinstance(v, str)]
        current = current.__cause__ or current.__context__
    return texts


def test_secrets_never_appear_in_errors_reprs_or_logs(
    fake: FakeZvm, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [PASSWORD, CLIENT_SECRET, ROOT_PASSWORD, "pairing-S3cr3t"]
    errors: list[VmreplError] = []

    def expect(error: type[VmreplError], call: Callable[[], Any]) -> None:
        with pytest.raises(error) as info:
            call()
        errors.append(info.value)

    # refused logins, with a server that echoes what it was sent
    expect(AuthenticationFailed, client_for(fake, clock, password=PASSWORD + "x").login)
    expect(
        AuthenticationFailed,
        client_for(fake, clock, client_id="automation", client_secret=CLIENT_SECRET + "x").login,
    )
    client = client_for(fake, clock, retries=1)
    # server messages that echo the request body, the token or the password
    fake.script(
        "POST",
        "/v1/vras",
        Reply(400, {"Message": f"Cannot log in to {HOST} as root with {ROOT_PASSWORD}"}),
    )
    expect(
        ApiError,
        lambda: client.install_vra(
            vra_create_body(HOST, DS, NET, host_root_password=ROOT_PASSWORD)
        ),
    )
    fake.routes[("POST", "/v1/peersites")] = lambda seen: Reply(
        400, {"errorCode": 7, "errorMessage": f"bad token {seen.body['Token']}"}
    )
    expect(ApiError, lambda: client.pair_site("zvm-b", 9071, "pairing-S3cr3t"))
    fake.routes[("GET", "/v1/vpgs")] = lambda seen: Reply(
        503, {"Message": f"busy {seen.headers['authorization']} {PASSWORD}"}
    )
    expect(ApiError, client.vpgs)
    expect(ConnectionFailed, client_for(f"https://127.0.0.1:{free_port()}", clock).vpgs)
    tokens = set(fake.tokens) | fake.refresh_tokens
    assert tokens  # the client did log in
    secrets += sorted(tokens)

    texts = [t for error in errors for t in _texts(error)]
    params = ZvmConnectionParams(
        url=fake.url, username=USER, password=PASSWORD, client_secret=CLIENT_SECRET
    )
    texts += [repr(params), str(params), repr(client), repr(ZvmClient(params))]
    texts += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) > 5
    leaks = [(secret, text) for secret in secrets for text in texts if secret in text]
    assert leaks == []
    assert any("***" in text for text in texts)  # the echoed secrets were there, and scrubbed


# -- task polling ---------------------------------------------------------------------------
def _task(state: int, progress: int, reason: str | None = None) -> dict[str, Any]:
    return {
        "TaskIdentifier": "x",
        "Type": "InstallVra",
        "Status": {"State": state, "Progress": progress},
        "CompleteReason": reason,
    }


def script_tasks(server: FakeZvm, plans: dict[str, list[dict[str, Any]]]) -> None:
    for task_id, states in plans.items():
        server.script("GET", f"/v1/tasks/{task_id}", *[Reply(200, s) for s in states])


def test_wait_for_tasks_observes_all_then_raises_naming_the_failure(
    fake: FakeZvm, clock: FakeClock
) -> None:
    script_tasks(
        fake,
        {
            "task-a": [_task(1, 10), _task(1, 50), _task(6, 100)],
            "task-b": [_task(1, 20), _task(4, 40, "Not enough free space on datastore ds1")],
            "task-c": [_task(1, 0), _task(1, 60), _task(6, 99), _task(6, 100)],
        },
    )
    progress: list[dict[str, Any]] = []
    client = client_for(fake, clock)
    with pytest.raises(TaskFailed) as info:
        client.wait_for_tasks(
            ["task-a", "task-b", "task-c"], timeout=600, interval=5, on_progress=progress.append
        )
    message = str(info.value)
    assert "task-b" in message
    assert "Not enough free space on datastore ds1" in message
    assert "task-a" not in message and "task-c" not in message
    polls = {t: len(fake.api("GET", f"/v1/tasks/{t}")) for t in ("task-a", "task-b", "task-c")}
    assert polls == {"task-a": 3, "task-b": 2, "task-c": 4}  # each until its own end
    assert clock.sleeps == [5, 5, 5]
    assert progress[-1]["done"] == 3 and progress[-1]["pending"] == 0
    assert progress[0] == {
        "done": 0,
        "pending": 3,
        "progress": {"task-a": 10, "task-b": 20, "task-c": 0},
    }


def test_wait_for_tasks_returns_every_result_when_asked_not_to_raise(
    fake: FakeZvm, clock: FakeClock
) -> None:
    script_tasks(
        fake,
        {
            "t1": [_task(6, 100)],
            "t2": [_task(5, 30, "Stopped by user")],
            "t3": [_task(4, 10, "VRA unreachable")],
        },
    )
    results = client_for(fake, clock).wait_for_tasks(["t1", "t2", "t3"], raise_on_error=False)
    assert {t: json_field(r, "Status", "State") for t, r in results.items()} == {
        "t1": 6,
        "t2": 5,
        "t3": 4,
    }


def test_wait_for_tasks_names_every_failure(fake: FakeZvm, clock: FakeClock) -> None:
    script_tasks(
        fake,
        {"t1": [_task(5, 30, "Stopped by user")], "t2": [_task(4, 10, "VRA unreachable")]},
    )
    with pytest.raises(TaskFailed) as info:
        client_for(fake, clock).wait_for_tasks(["t1", "t2"])
    assert "2 of 2 tasks failed" in str(info.value)
    assert "Stopped by user" in str(info.value) and "VRA unreachable" in str(info.value)


def test_wait_for_task_reads_camel_case_too(fake: FakeZvm, clock: FakeClock) -> None:
    fake.script(
        "GET",
        "/v1/tasks/t1",
        Reply(200, {"status": {"state": 1, "progress": 5}}),
        Reply(200, {"status": {"state": 6, "progress": 100}}),
    )
    task = client_for(fake, clock).wait_for_task("t1", interval=1)
    assert json_field(task, "Status", "State") == 6


def test_waiting_for_user_input_is_an_end_only_when_accepted(
    fake: FakeZvm, clock: FakeClock
) -> None:
    fake.routes[("GET", "/v1/tasks/t1")] = lambda seen: Reply(200, _task(2, 50))
    client = client_for(fake, clock)
    results = client.wait_for_tasks(["t1"], accept_waiting=True)
    assert json_field(results["t1"], "Status", "State") == 2
    with pytest.raises(TaskTimeout):
        client.wait_for_tasks(["t1"], timeout=10, interval=2)


def test_wait_for_tasks_timeout(fake: FakeZvm, clock: FakeClock) -> None:
    fake.routes[("GET", "/v1/tasks/slow")] = lambda seen: Reply(200, _task(1, 42))
    script_tasks(fake, {"quick": [_task(6, 100)]})
    client = client_for(fake, clock)
    with pytest.raises(TaskTimeout) as info:
        client.wait_for_tasks(["slow", "quick"], timeout=30, interval=10)
    assert sum(clock.sleeps) >= 30  # the timeout passed on the fake clock, not the real one
    message = str(info.value)
    assert "slow" in message and "InProgress, 42%" in message
    assert "quick" not in message
    assert clock.sleeps == [10, 10, 10]  # polled at 0, 10, 20 and at the deadline, 30
    assert len(fake.api("GET", "/v1/tasks/slow")) == 4


# -- the OpenAPI contract -------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema() -> OpenApiSchema:
    return OpenApiSchema.load()


def _lab_violations(method: str, path: str, body: Any) -> list[str]:
    if lab_document is None:
        return []
    document = lab_document()
    operation = document.find(method, path)
    if operation is None:
        return [f"{method} {path}: no such operation (lab validator)"]
    violations = document.validate_request(operation, body)
    return [f"{method} {path}: {v} (lab validator)" for v in violations]


def _validate(schema: OpenApiSchema, seen: Seen) -> list[str]:
    """Both validators: tests/support's (operation, query, body presence, body) and, when it
    exists, the lab's (the body)."""
    errors = schema.validate_request(
        seen.method, seen.path, seen.body, seen.query, has_body=bool(seen.raw)
    )
    return errors + _lab_violations(seen.method, seen.path, seen.body)


def test_validator_catches_what_it_should(schema: OpenApiSchema) -> None:
    """The contract test below is only as good as this validator: prove it can fail."""
    good = {"hostName": "zvm-b", "PORT": 9071, "Token": "t"}
    assert schema.validate_request("POST", "/v1/peersites", good) == []
    errors = schema.validate_request(
        "POST", "/v1/peersites", {"HostName": "zvm-b", "Port": "9071", "Tokn": "t"}
    )
    assert len(errors) == 2
    assert any("unknown property 'Tokn'" in e for e in errors)
    assert any("expected integer" in e for e in errors)
    # nested $ref, enum, nullable, bool is not an integer
    errors = schema.validate_request(
        "POST",
        f"/v1/vpgs/{VPG}/Failover",
        {
            "CommitPolicy": 7,
            "ShutdownPolicy": True,
            "IsReverseProtection": None,
            "VmIdentifiers": [VM, 3],
        },
    )
    assert len(errors) == 3, errors
    errors = schema.validate_request(
        "POST", "/v1/vras", {"HostIdentifier": HOST, "VraNetworkDataApi": {"Ip": "1.2.3.4"}}
    )
    assert errors and "VraNetworkDataApi" in errors[0]
    assert schema.validate_request("POST", f"/v1/vpgs/{VPG}/pause", {"x": 1})
    assert schema.validate_request("POST", f"/v1/vpgs/{VPG}/Failover", None)
    assert schema.validate_request("POST", "/v1/nothing", None)
    assert schema.validate_request("GET", "/v1/alerts", None, {"vpg": "x"})
    assert schema.validate_request("GET", "/v1/alerts", None, {"vpgIdentifier": "x"}) == []
    # literal segments beat parameters
    found = schema.operation("DELETE", "/v1/vras/cleanup")
    assert found is not None and found[0] == "/v1/vras/cleanup"


def _schema_answer(schema: OpenApiSchema) -> Callable[[Seen], Reply]:
    """Answer every request with a value of the type its OpenAPI response declares."""

    def answer(seen: Seen) -> Reply:
        found = schema.operation(seen.method, seen.path)
        if found is None:
            return Reply(404, {"Message": "not in the OpenAPI document"})
        response = schema.response_schema(found[1])
        if response is None:
            return Reply(200)
        kind = response.get("type", "object")
        return Reply(200, {"string": "task-1", "array": [], "object": {}}[kind])

    return answer


def test_every_helper_request_fits_the_openapi_schema(
    fake: FakeZvm, clock: FakeClock, schema: OpenApiSchema
) -> None:
    fake.default = _schema_answer(schema)
    c = client_for(fake, clock)
    example = json.loads((SCHEMA_FILE.parent / "vpg-settings-example.json").read_text())[0]
    static_vra = vra_create_body(
        HOST,
        DS,
        NET,
        memory_gb=4,
        cpus=2,
        host_root_password=ROOT_PASSWORD,
        ip_address="10.0.0.5",
        subnet_mask="255.255.255.0",
        gateway="10.0.0.1",
    )
    helpers: dict[str, list[Callable[[], Any]]] = {
        "local_site": [c.local_site],
        "peer_sites": [c.peer_sites],
        "generate_peer_token": [c.generate_peer_token],
        "pair_site": [lambda: c.pair_site("zvm-b.example", 9071, "pairing-token")],
        "unpair_site": [lambda: c.unpair_site(SITE), lambda: c.unpair_site(SITE, True)],
        "virtualization_sites": [c.virtualization_sites],
        "site_objects": [lambda k=k: c.site_objects(SITE, k) for k in sorted(SITE_OBJECT_KINDS)],
        "vras": [c.vras],
        "vra": [lambda: c.vra(VRA)],
        "install_vra": [
            lambda: c.install_vra(vra_create_body(HOST, DS, NET)),
            lambda: c.install_vra(static_vra),
        ],
        "edit_vra": [
            lambda: c.edit_vra(VRA, {"GroupName": "g", "MemoryInGb": 4, "NumOfCpus": 2}),
            lambda: c.edit_vra(VRA, {"VraNetworkDataApi": static_vra["VraNetworkDataApi"]}),
        ],
        "upgrade_vra": [lambda: c.upgrade_vra(VRA)],
        "uninstall_vra": [lambda: c.uninstall_vra(VRA)],
        "recovery_vra_potentials": [lambda: c.recovery_vra_potentials(VRA, VM)],
        "recovery_vra_validate": [lambda: c.recovery_vra_validate(VRA, {VM: HOST})],
        "recovery_vra_execute": [lambda: c.recovery_vra_execute(VRA, {VM: HOST})],
        "vpg_substatuses": [c.vpg_substatuses],
        "vpgs": [c.vpgs],
        "vpg": [lambda: c.vpg(VPG)],
        "vpg_settings_create": [c.vpg_settings_create, lambda: c.vpg_settings_create(VPG)],
        "vpg_settings_get": [lambda: c.vpg_settings_get(SID)],
        "vpg_settings_put": [lambda: c.vpg_settings_put(SID, example)],
        "vpg_settings_add_vm": [lambda: c.vpg_settings_add_vm(SID, VM)],
        "vpg_settings_commit": [lambda: c.vpg_settings_commit(SID)],
        "vpg_settings_delete": [lambda: c.vpg_settings_delete(SID)],
        "delete_vpg": [lambda: c.delete_vpg(VPG), lambda: c.delete_vpg(VPG, True, True)],
        "checkpoints": [
            lambda: c.checkpoints(VPG),
            lambda: c.checkpoints(VPG, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        ],
        "add_checkpoint": [lambda: c.add_checkpoint(VPG, "before-upgrade")],
        "failover_test": [lambda: c.failover_test(VPG), lambda: c.failover_test(VPG, CP, [VM])],
        "failover_test_stop": [lambda: c.failover_test_stop(VPG, False, "app did not start")],
        "failover": [
            lambda: c.failover(
                VPG, commit_policy=CommitPolicy.NONE, shutdown_policy=ShutdownPolicy.SHUTDOWN
            ),
            lambda: c.failover(
                VPG,
                commit_policy=CommitPolicy.COMMIT,
                shutdown_policy=ShutdownPolicy.FORCE_SHUTDOWN,
                time_to_wait_before_shutdown=600,
                reverse_protection=True,
                checkpoint_id=CP,
                vm_ids=[VM],
            ),
        ],
        "failover_commit": [lambda: c.failover_commit(VPG, True)],
        "failover_rollback": [lambda: c.failover_rollback(VPG)],
        "move": [
            lambda: c.move(VPG, commit_policy=CommitPolicy.COMMIT, commit_policy_timeout=600),
            lambda: c.move(
                VPG,
                commit_policy=CommitPolicy.ROLLBACK,
                reverse_protection=False,
                keep_source_vms=True,
                force_shutdown=True,
                continue_on_pre_script_failure=True,
            ),
        ],
        "move_commit": [lambda: c.move_commit(VPG), lambda: c.move_commit(VPG, False, True)],
        "move_rollback": [lambda: c.move_rollback(VPG)],
        "pause": [lambda: c.pause(VPG)],
        "resume": [lambda: c.resume(VPG)],
        "force_sync": [lambda: c.force_sync(VPG)],
        "alerts": [c.alerts, lambda: c.alerts(VPG, False)],
        "vms": [c.vms, lambda: c.vms("vpg-a")],
        "statistics_vms": [c.statistics_vms],
        "datastores": [c.datastores],
        "license": [c.license],
        "recovery_reports": [c.recovery_reports, lambda: c.recovery_reports("FailoverTest")],
        "task": [lambda: c.task("task-1")],
        "tasks": [c.tasks, lambda: c.tasks("PairSites")],
    }
    # every public operation helper is in the list above
    generic = {
        "request",
        "get",
        "post",
        "put",
        "delete",
        "login",
        "close",
        "wait_for_tasks",
        "wait_for_task",
        "where",
    }
    public = {
        name
        for name, _ in inspect.getmembers(ZvmClient, callable)
        if not name.startswith("_") and name not in generic
    }
    assert public == set(helpers)

    for calls in helpers.values():
        for call in calls:
            call()
    sent = fake.api()
    assert len(sent) == sum(len(calls) for calls in helpers.values())
    errors = [error for seen in sent for error in _validate(schema, seen)]
    assert errors == []
    # PascalCase, as the ZVM documents its bodies
    for seen in sent:
        if isinstance(seen.body, dict):
            assert all(key[:1].isupper() for key in seen.body), (seen.path, seen.body)


def test_contract_test_would_catch_a_wrong_body(
    fake: FakeZvm, clock: FakeClock, schema: OpenApiSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mutation check: a helper sending a misspelt key fails the validation."""
    fake.default = _schema_answer(schema)
    client = client_for(fake, clock)
    original = ZvmClient.post

    def misspelt(self: ZvmClient, path: str, json: Any = None, **kw: Any) -> Any:
        if isinstance(json, dict) and "Token" in json:
            json = dict(json)
            json["PairingToken"] = json.pop("Token")
        return original(self, path, json, **kw)

    monkeypatch.setattr(ZvmClient, "post", misspelt)
    client.pair_site("zvm-b.example", 9071, "pairing-token")
    errors = _validate(schema, fake.api()[0])
    assert any("PairingToken" in e and "lab validator" not in e for e in errors)
    if lab_document is not None:
        assert any("PairingToken" in e and "lab validator" in e for e in errors)


def test_retry_rule_is_documented() -> None:
    rule = zvm_module.RETRY_RULE
    for needle in ("connection refused", "503", "502", "504", "500", "401", "POST"):
        assert needle in rule
    assert zvm_module.ZvmClient.request.__doc__ is not None
    assert "RETRY_RULE" in zvm_module.ZvmClient.request.__doc__
