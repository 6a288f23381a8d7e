# Copyright: vmrepl contributors
# Apache License 2.0
"""The ZVM client: authentication for both ZVM kinds, retries with backoff, task polling.

Plain Python on top of ``requests``, no Ansible imports, so that the modules, the CLI and the
lab share it. Every request goes through :meth:`ZvmClient.request`, which authenticates
(appliance token or Windows session), retries what is safe to retry (see :data:`RETRY_RULE`),
and turns failures into the typed errors of ``module_utils.clients.errors``. Action calls (pairing,
VRA install, commit, failover, ...) return a task identifier; wait for any number of them with
:meth:`ZvmClient.wait_for_tasks`, which polls them together.

Live ZVM JSON is PascalCase while the published schema is camelCase: read fields with
:func:`json_field`, which ignores case. Request bodies are sent PascalCase, as the ZVM documents
them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json as jsonlib
import logging
import random
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NoReturn
from urllib.parse import quote

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    InsecureRequestWarning,
    MaxRetryError,
    NewConnectionError,
)

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ApiError,
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    NotFound,
    TaskFailed,
    TaskTimeout,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until

log = logging.getLogger(__name__)

ZvmKind = Literal["appliance", "windows", "auto"]

TOKEN_PATH = "/auth/realms/zerto/protocol/openid-connect/token"  # noqa: S105 - a path
SESSION_ADD_PATH = "/v1/session/add"
SESSION_PATH = "/v1/session"
SESSION_HEADER = "x-zerto-session"

#: What :meth:`ZvmClient.site_objects` reads under ``/v1/virtualizationsites/{siteId}``.
SITE_OBJECT_KINDS = frozenset(
    {"hosts", "hostclusters", "datastores", "networks", "folders", "resourcepools", "vms"}
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

RETRY_RULE = """\
What ZvmClient.request retries (with exponential backoff and full jitter, at most
``retries`` times) and what it does not:

1. The request never reached the server: connection refused, DNS failure, connect timeout.
   Retried for every method, POSTs that create included: nothing can have happened.
2. 503 Service Unavailable and 429 Too Many Requests: the ZVM refused the request before
   acting on it (services starting, rate limit). Retried for every method, after Retry-After
   when the server sends one.
3. The request may have reached the ZVM: read timeout, connection dropped while waiting for the
   answer, 502 Bad Gateway, 504 Gateway Timeout (a proxy may have passed it on). Retried only
   for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE). A POST that creates something
   (pairing, VRA install, VPG settings, commit, failover, ...) is not repeated: it could act
   twice. The error says so, and that the ZVM's task list shows what happened.
4. 500 Internal Server Error: retried for GET and HEAD only (reads). A 500 on a change is most
   often the ZVM rejecting its content, which a retry does not fix.
5. 401 on an authenticated call: the ZVM rejected the token before doing anything, so the client
   logs in again and resends once, whatever the method.
6. Nothing else is retried: TLS verification failures, other 4xx, other 5xx.
"""

_RETRY_ANY_STATUS = frozenset({429, 503})
_RETRY_IDEMPOTENT_STATUS = frozenset({502, 504})
_RETRY_READ_STATUS = frozenset({500})
_READ_METHODS = frozenset({"GET", "HEAD"})


# -- ZVM status codes, in one place. Each member is named as the API names the code, so that
# ``.name`` is what a message shows (``VpgStatus(1).name == "MeetingSLA"``); see code_name().
class TaskState(enum.IntEnum):
    """A task's ``Status.State``."""

    FirstUnusedValue = 0
    InProgress = 1
    WaitingForUserInput = 2
    Paused = 3
    Failed = 4
    Stopped = 5
    Completed = 6
    Cancelling = 7


class VraStatus(enum.IntEnum):
    """A VRA's ``Status`` (``GET /v1/vras``)."""

    Installed = 0
    UnsupportedEsxVersion = 1
    NotInstalled = 2
    Installing = 3
    Removing = 4
    InstallationError = 5
    HostPasswordChanged = 6
    UpdatingIpSettings = 7
    DuringChangeHost = 8
    HostInMaintenanceMode = 9


class VpgStatus(enum.IntEnum):
    """A VPG's ``Status`` (``GET /v1/vpgs``)."""

    Initializing = 0
    MeetingSLA = 1
    NotMeetingSLA = 2
    RpoNotMeetingSLA = 3
    HistoryNotMeetingSLA = 4
    FailingOver = 5
    Moving = 6
    Deleting = 7
    Recovered = 8


class PairingStatus(enum.IntEnum):
    """A peer site's ``PairingStatus`` (``GET /v1/peersites``)."""

    Paired = 0
    Pairing = 1
    Unpaired = 2


def code_name(codes: type[enum.IntEnum], value: Any, default: str = "?") -> str:
    """The API's name of a status code (``code_name(VpgStatus, 1) == "MeetingSLA"``), or
    ``default`` for a value that is not one of ``codes``."""
    try:
        return codes(value).name
    except ValueError:
        return default


class CommitPolicy(enum.IntEnum):
    """``CommitPolicy`` of a failover or move."""

    ROLLBACK = 0
    COMMIT = 1
    NONE = 2


class ShutdownPolicy(enum.IntEnum):
    """``ShutdownPolicy`` of a failover."""

    NONE = 0
    SHUTDOWN = 1
    FORCE_SHUTDOWN = 2


@dataclasses.dataclass(frozen=True)
class ZvmConnectionParams:
    """How to reach one ZVM. ``password`` and ``client_secret`` are secrets: never log them.

    ``kind`` is ``appliance`` (ZVM Appliance 10.x, OpenID Connect token), ``windows`` (Windows
    ZVM 9.x and older, session API) or ``auto`` (try the appliance token endpoint, fall back to
    the Windows session API when it answers 404). With ``client_secret`` the appliance login
    uses the client credentials grant of ``client_id`` instead of the user's password.
    ``backoff`` is the first retry delay in seconds; it doubles per attempt up to ``backoff_max``
    and is drawn uniformly below that bound (full jitter). ``url`` must be https (refused
    otherwise, naming ``option``, before any request).
    """

    url: str
    username: str
    password: str = dataclasses.field(repr=False)
    kind: ZvmKind = "auto"
    client_id: str = "zerto-client"
    client_secret: str | None = dataclasses.field(default=None, repr=False)
    validate_certs: bool = True
    ca_file: str | None = None
    timeout: float = 30.0
    retries: int = 5
    backoff: float = 0.5
    backoff_max: float = 30.0
    #: The option the URL was given as, for messages (``zvm_url``, ``peer_zvm_url``).
    option: str = dataclasses.field(default="zvm_url (or peer_zvm_url)", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("appliance", "windows", "auto"):
            raise ConfigurationError(
                f"Unknown ZVM kind {self.kind!r}.", hint="Use appliance, windows or auto."
            )
        scheme = self.url.split("://", 1)[0].lower() if "://" in self.url else ""
        if scheme != "https":
            # Refused before any request: the credentials must never travel in clear text.
            what = f"scheme {scheme}://" if scheme else "no scheme"
            raise ConfigurationError(
                f"{self.option}: the ZVM URL {self.url!r} has {what}; the ZVM API is reached "
                "over https only.",
                hint="Use https://, e.g. https://zvm.example.com (appliance) or "
                "https://zvm:9669 (Windows ZVM).",
            )
        if "@" in self.url.split("://", 1)[1].split("/", 1)[0]:
            raise ConfigurationError(
                "The ZVM URL must not contain credentials.",
                hint="Give the user and password as username and password.",
            )
        if self.retries < 0 or self.backoff < 0 or self.timeout <= 0:
            raise ConfigurationError("ZVM retries and backoff must be >= 0 and timeout > 0.")

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def verify(self) -> str | bool:
        """What ``requests`` verifies the certificate with: the CA file, the system CAs, or
        (only when ``validate_certs`` is false) nothing."""
        if not self.validate_certs:
            return False
        return self.ca_file or True


def json_field(obj: Any, *path: str, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...`` with keys matched case-insensitively, or ``default``.

    ``json_field(task, "Status", "State")`` reads live PascalCase JSON and schema camelCase alike.
    """
    current = obj
    for key in path:
        if not isinstance(current, Mapping):
            return default
        if key in current:
            current = current[key]
            continue
        lowered = key.lower()
        for candidate, value in current.items():
            if isinstance(candidate, str) and candidate.lower() == lowered:
                current = value
                break
        else:
            return default
    return current


def get_path(obj: Any, path: tuple[str, ...]) -> Any:
    """``obj[path]`` read with :func:`json_field` (case-insensitive keys)."""
    return json_field(obj, *path)


def set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``obj[path]`` matching existing keys case-insensitively, creating what is missing."""
    node = obj
    for key in path[:-1]:
        existing = next((k for k in node if k.lower() == key.lower()), None)
        if existing is None or not isinstance(node[existing], dict):
            node[existing or key] = {}
        node = node[existing or key]
    last = next((k for k in node if k.lower() == path[-1].lower()), path[-1])
    node[last] = value


def site_id(site: Any) -> str:
    """The identifier of a local or peer site object (``GET /v1/localsite``, ``/v1/peersites``).

    ``SiteIdentifier`` first, else the identifier of the object's ``Link``; ``""`` when it has
    neither (a peer that is still pairing lists neither yet). Never the text ``"None"``: a missing
    or null field is no identifier. The one place that reads a site's identifier.
    """
    for value in (json_field(site, "SiteIdentifier"), json_field(site, "Link", "identifier")):
        if value is None or isinstance(value, Mapping | list | bool):
            continue
        text = str(value).strip()
        if text and text.lower() not in ("none", "null"):
            return text
    return ""


#: Keys whose values are secrets in what the ZVM returns (compared case-insensitively).
SECRET_RESULT_KEYS = frozenset({"licensekey"})


def mask(value: str, keep: int = 4) -> str:
    """``value`` hidden but for its last ``keep`` characters ("********ABCD"); all of it when
    it is too short for that to leave most of it hidden."""
    return "*" * 8 + (value[-keep:] if len(value) >= 3 * keep else "")


def masked(obj: Any) -> tuple[Any, set[str]]:
    """A copy of ``obj`` with the values of :data:`SECRET_RESULT_KEYS` masked (:func:`mask`),
    and the secrets it held, so that a caller can keep them out of logs too."""
    secrets: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            out = {}
            for key, value in node.items():
                if str(key).lower() in SECRET_RESULT_KEYS and isinstance(value, str) and value:
                    secrets.add(value)
                    out[key] = mask(value)
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(obj), secrets


def task_summary(task: Mapping[str, Any]) -> str:
    """``"<type> (<state>, <progress>%)"`` of a task, for messages."""
    state = json_field(task, "Status", "State")
    name = code_name(TaskState, state, str(state)) if isinstance(state, int) else str(state)
    progress = json_field(task, "Status", "Progress", default="?")
    return f"{json_field(task, 'Type') or 'task'} ({name}, {progress}%)"


class _Retryable(Exception):
    """Internal: one attempt failed in a way that may be retried."""

    def __init__(self, error: Exception, delay: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


_SECRET_KEY_PARTS = ("password", "secret", "token")


class ZvmClient:
    """A ZVM REST session. Logs in on first use; use as a context manager or call :meth:`close`.

    ``sleep``, ``clock`` and ``rand`` are injectable so that tests need not wait.
    """

    def __init__(
        self,
        params: ZvmConnectionParams,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.params = params
        self.session = session or requests.Session()
        self.session.verify = params.verify
        self.session.headers.update({"Accept": "application/json"})
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._lock = threading.RLock()
        #: HTTP round trips made, logins and retries included (benchmarks read it).
        self.calls = 0
        #: The kind of ZVM found at login: "appliance" or "windows" (None before login).
        self.kind: Literal["appliance", "windows"] | None = (
            None if params.kind == "auto" else params.kind
        )
        self._auth_header: dict[str, str] = {}
        self._access_expires = 0.0
        self._refresh_token: str | None = None
        self._refresh_expires: float | None = None
        self._session_secrets: set[str] = set()

    def __repr__(self) -> str:
        return f"ZvmClient(url={self.params.url!r}, kind={self.kind or self.params.kind!r})"

    def __enter__(self) -> ZvmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        return f"ZVM {self.params.base_url}"

    # -- authentication ---------------------------------------------------------------------
    def login(self) -> None:
        """Log in now (otherwise the first request does). Raises AuthenticationFailed."""
        with self._lock:
            self._login()

    def _login(self) -> None:
        self._auth_header = {}
        self._refresh_token = None
        if self.kind == "windows":
            self._login_windows()
            return
        try:
            self._login_appliance()
        except NotFound:
            if self.params.kind != "auto":
                raise ConfigurationError(
                    f"{self.where} has no appliance token endpoint ({TOKEN_PATH}).",
                    hint="It may be a Windows ZVM: set kind to windows (port 9669) or auto.",
                ) from None
            log.debug("%s: no appliance token endpoint, trying the Windows session API", self.where)
            self.kind = "windows"
            self._login_windows()
        else:
            self.kind = "appliance"

    def _login_appliance(self, refresh: bool = False) -> None:
        p = self.params
        form: dict[str, str]
        if refresh and self._refresh_token:
            form = {
                "grant_type": "refresh_token",
                "client_id": p.client_id,
                "refresh_token": self._refresh_token,
            }
            if p.client_secret:
                form["client_secret"] = p.client_secret
        elif p.client_secret:
            form = {
                "grant_type": "client_credentials",
                "client_id": p.client_id,
                "client_secret": p.client_secret,
            }
        else:
            form = {
                "grant_type": "password",
                "client_id": p.client_id,
                "username": p.username,
                "password": p.password,
            }
        response = self._send("POST", TOKEN_PATH, data=form, idempotent=True)
        if response.status_code == 404:
            raise NotFound(f"{self.where} has no {TOKEN_PATH}.")
        if response.status_code in (400, 401, 403):
            raise self._login_refused(response)
        body = self._result(response, "POST", TOKEN_PATH)
        token = json_field(body, "access_token")
        if not isinstance(token, str) or not token:
            raise ApiError(
                f"{self.where} answered the login without an access token.",
                status=response.status_code,
            )
        now = self._clock()
        lifetime = float(json_field(body, "expires_in", default=300) or 300)
        self._access_expires = now + lifetime - min(30.0, lifetime / 2)
        self._refresh_token = json_field(body, "refresh_token") or None
        refresh_lifetime = float(json_field(body, "refresh_expires_in", default=0) or 0)
        self._refresh_expires = (
            now + refresh_lifetime - min(30.0, refresh_lifetime / 2) if refresh_lifetime else None
        )
        self._session_secrets = {token} | ({self._refresh_token} if self._refresh_token else set())
        self._auth_header = {"Authorization": f"Bearer {token}"}

    def _login_windows(self) -> None:
        p = self.params
        response = self._send(
            "POST",
            SESSION_ADD_PATH,
            json={"AuthenticationMethod": 1},
            auth=(p.username, p.password),
            idempotent=True,
        )
        if response.status_code in (400, 401, 403):
            raise self._login_refused(response)
        if response.status_code == 404:
            raise ConfigurationError(
                f"{self.where} answers neither the appliance token endpoint nor the Windows "
                "session API.",
                hint="Check that the URL is the ZVM's API address: https://<zvm> for an "
                "appliance, https://<zvm>:9669 for a Windows ZVM.",
            )
        self._result(response, "POST", SESSION_ADD_PATH)
        token = response.headers.get(SESSION_HEADER)
        if not token:
            raise ApiError(
                f"{self.where} answered the login without an {SESSION_HEADER} header.",
                status=response.status_code,
                hint="Check that the URL is the ZVM's API address (Windows ZVM: port 9669).",
            )
        self._session_secrets = {token}
        self._auth_header = {SESSION_HEADER: token}
        self._access_expires = float("inf")

    def _login_refused(self, response: requests.Response) -> AuthenticationFailed:
        p = self.params
        who = (
            f"client {p.client_id!r}"
            if p.client_secret and self.kind != "windows"
            else f"user {p.username!r}"
        )
        detail = self._error_message(response)
        if who.startswith("client"):
            hint = "Check the ZVM client_id/client_secret."
        else:
            hint = "Check the ZVM username/password (vault or ZVM_USERNAME/ZVM_PASSWORD)."
        return AuthenticationFailed(
            self._scrub(
                f"{self.where} refused the login of {who} (HTTP {response.status_code}: {detail})."
            ),
            hint=hint,
        )

    def _ensure_auth(self) -> None:
        with self._lock:
            if not self._auth_header:
                self._login()
            elif self._clock() >= self._access_expires:
                self._renew()

    def _renew(self) -> None:
        """Renew an appliance token that is about to expire: refresh token while it is valid,
        else a new login."""
        refresh_valid = self._refresh_token and (
            self._refresh_expires is None or self._clock() < self._refresh_expires
        )
        if refresh_valid:
            try:
                self._login_appliance(refresh=True)
                return
            except AuthenticationFailed:
                log.debug("%s: refresh token refused, logging in again", self.where)
        self._login()

    def close(self) -> None:
        """End a Windows session (best effort) and release the connections."""
        with self._lock:
            if self.kind == "windows" and self._auth_header:
                with contextlib.suppress(Exception):  # best effort on the way out
                    self._attempt("DELETE", SESSION_PATH, headers=dict(self._auth_header))
            self._auth_header = {}
            self._refresh_token = None
        self.session.close()

    # -- requests ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> Any:
        """Send an authenticated request and return the parsed JSON answer (None when empty).

        Retries follow :data:`RETRY_RULE`; ``idempotent`` overrides the method's default for a
        call that is (or is not) safe to repeat. Raises NotFound on 404, ApiError on other
        errors, ConnectionFailed when the ZVM cannot be reached.
        """
        method = method.upper()
        self._ensure_auth()
        response = self._send(method, path, json=json, params=params, idempotent=idempotent)
        if response.status_code == 401:
            log.debug("%s: %s %s answered 401, logging in again", self.where, method, path)
            with self._lock:
                self._login()
            response = self._send(method, path, json=json, params=params, idempotent=idempotent)
            if response.status_code == 401:
                raise AuthenticationFailed(
                    self._scrub(
                        f"{self.where} refused {method} {path} after a fresh login: "
                        f"{self._error_message(response)}"
                    ),
                    hint="Check the ZVM user's role and permissions.",
                )
        return self._result(response, method, path, json)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None, *, idempotent: bool | None = None) -> Any:
        return self.request("POST", path, json=json, idempotent=idempotent)

    def put(self, path: str, json: Any = None) -> Any:
        return self.request("PUT", path, json=json)

    def delete(self, path: str, json: Any = None) -> Any:
        return self.request("DELETE", path, json=json)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """One request with the retries of :data:`RETRY_RULE`; returns the last response."""
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        attempts = self.params.retries + 1
        for attempt in range(attempts):
            try:
                headers = dict(self._auth_header) if auth is None and data is None else {}
                response = self._attempt(
                    method,
                    path,
                    json=json,
                    data=data,
                    params=params,
                    auth=auth,
                    headers=headers,
                    idempotent=idempotent,
                )
                self._check_retryable_status(response, method, idempotent)
                return response
            except _Retryable as exc:
                if attempt + 1 >= attempts:
                    raise self._exhausted(exc.error, method, path, attempts) from None
                delay = self._backoff(attempt, exc.delay)
                log.debug(
                    "%s: %s %s failed (%s), retry %d/%d in %.2f s",
                    self.where,
                    method,
                    path,
                    _reason(exc.error),
                    attempt + 1,
                    attempts - 1,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
    ) -> requests.Response:
        url = self.params.base_url + path
        with self._lock:
            self.calls += 1
        try:
            response = self.session.request(
                method,
                url,
                json=json,
                data=data,
                params=_query(params),
                auth=auth,
                headers=dict(headers or {}),
                timeout=self.params.timeout,
                # Given on every request: a session-level value would lose to REQUESTS_CA_BUNDLE.
                verify=self.params.verify,
            )
        except requests.exceptions.SSLError as exc:
            raise ConnectionFailed(
                f"{self.where}: the TLS connection failed ({_reason(exc)}).",
                hint="If its certificate is signed by a private CA, give that CA with ca_file; "
                "set validate_certs: false only in a lab.",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            if idempotent or _never_sent(exc):
                raise _Retryable(exc) from None
            self._raise_unsafe(exc, method, path)
        log.debug("%s: %s %s -> %d", self.where, method, path, response.status_code)
        return response

    def _check_retryable_status(
        self, response: requests.Response, method: str, idempotent: bool
    ) -> None:
        status = response.status_code
        if (
            status in _RETRY_ANY_STATUS
            or (status in _RETRY_IDEMPOTENT_STATUS and idempotent)
            or (status in _RETRY_READ_STATUS and method in _READ_METHODS)
        ):
            raise _Retryable(_HttpStatus(response), _retry_after(response))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        bound = min(self.params.backoff_max, self.params.backoff * (2**attempt))
        delay = self._rand() * bound
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.params.backoff_max))
        return delay

    def _exhausted(self, error: Exception, method: str, path: str, attempts: int) -> Exception:
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if isinstance(error, _HttpStatus):
            response = error.response
            return ApiError(
                self._scrub(
                    f"{self.where} answered {method} {path} with HTTP {response.status_code} "
                    f"after {tries}: {self._error_message(response)}"
                ),
                status=response.status_code,
                hint="The ZVM may be overloaded or restarting: check its services, then re-run.",
            )
        if isinstance(error, requests.exceptions.ReadTimeout):
            return ConnectionFailed(
                f"{self.where} did not answer {method} {path} within "
                f"{self.params.timeout:g} s ({tries}).",
                hint="The ZVM may be overloaded: check its services, or raise the timeout.",
            )
        return ConnectionFailed(
            self._scrub(
                f"Cannot reach {self.where} ({method} {path}) after {tries}: {_reason(error)}."
            ),
            hint="Check the URL and port and that the controller can reach the ZVM.",
        )

    def _raise_unsafe(self, error: Exception, method: str, path: str) -> NoReturn:
        if isinstance(error, requests.exceptions.Timeout):
            what = f"within {self.params.timeout:g} s"
        else:
            what = f"({_reason(error)})"
        raise ConnectionFailed(
            self._scrub(
                f"{self.where} did not answer {method} {path} {what}; the request may have "
                "been processed, so it was not repeated."
            ),
            hint="Check the ZVM's task list before a re-run.",
        ) from None

    def _result(self, response: requests.Response, method: str, path: str, body: Any = None) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            text = response.text
            if not text.strip():
                return None
            try:
                return response.json()
            except ValueError:
                return text
        message = self._scrub(self._error_message(response), body)
        if status == 404:
            raise NotFound(f"{self.where}: {method} {path} not found: {message}")
        hint = None
        if status == 403:
            hint = "Check the ZVM user's role and permissions, and the ZVM license."
        raise ApiError(
            f"{self.where} refused {method} {path} (HTTP {status}): {message}",
            status=status,
            hint=hint,
        )

    @staticmethod
    def _error_message(response: requests.Response) -> str:
        """The server's message from ``{"Message": ...}``, ``{"errorCode", "errorMessage"}``,
        an OAuth error, or a plain text body."""
        text = response.text or ""
        try:
            body = jsonlib.loads(text) if text.strip() else None
        except ValueError:
            body = None
        if isinstance(body, Mapping):
            message = (
                json_field(body, "Message")
                or json_field(body, "errorMessage")
                or json_field(body, "error_description")
                or json_field(body, "error")
                or json_field(body, "title")
            )
            code = json_field(body, "errorCode")
            if message:
                return f"{message} (error code {code})" if code is not None else str(message)
            return text.strip()[:500]
        if isinstance(body, str) and body:
            return body[:500]
        if text.strip():
            return " ".join(text.split())[:500]
        return response.reason or f"HTTP {response.status_code}"

    def _scrub(self, text: str, body: Any = None) -> str:
        """``text`` with every known secret replaced by ``***``."""
        secrets = {self.params.password, self.params.client_secret, *self._session_secrets}
        secrets.update(_body_secrets(body))
        for secret in secrets:
            if secret and len(secret) >= 3:
                text = text.replace(secret, "***")
        return text

    # -- tasks ------------------------------------------------------------------------------
    def task(self, task_id: str) -> dict[str, Any]:
        """``GET /v1/tasks/{id}``."""
        return self._object(self.get(f"/v1/tasks/{_seg(task_id)}"))

    def tasks(self, task_type: str | None = None) -> list[dict[str, Any]]:
        """``GET /v1/tasks`` (``?type=`` when given, e.g. ``PairSites``): the ZVM's tasks."""
        return self._list(self.get("/v1/tasks", params={"type": task_type} if task_type else None))

    def wait_for_tasks(
        self,
        task_ids: Iterable[str],
        timeout: float = 1800.0,
        interval: float = 2.0,
        *,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        raise_on_error: bool = True,
        accept_waiting: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Wait for every task, polling the pending ones each round; returns ``{id: task JSON}``.

        A task is done when ``Status.State`` is 6 (Completed) with ``Progress`` 100, failed at
        4 (Failed) or 5 (Stopped). With ``accept_waiting`` a task waiting for user input (2, e.g.
        a failover before commit) counts as finished too. All tasks are observed to their end
        before :class:`TaskFailed` is raised (``raise_on_error``), naming every failed task and
        its ``CompleteReason``. ``on_progress`` gets ``{"done", "pending", "progress": {id: %}}``
        after every round. Raises :class:`TaskTimeout` naming the unfinished tasks.
        """
        pending = list(dict.fromkeys(task_ids))
        results: dict[str, dict[str, Any]] = {}

        def round_() -> dict[str, dict[str, Any]] | None:
            for task_id in list(pending):
                task = self.task(task_id)
                results[task_id] = task
                if _task_finished(task, accept_waiting):
                    pending.remove(task_id)
            if on_progress is not None:
                on_progress(
                    {
                        "done": len(results) - len(pending),
                        "pending": len(pending),
                        "progress": {
                            tid: json_field(t, "Status", "Progress") for tid, t in results.items()
                        },
                    }
                )
            return results if not pending else None

        def timed_out() -> TaskTimeout:
            states = ", ".join(f"{tid} {task_summary(results[tid])}" for tid in pending)
            return TaskTimeout(
                f"{self.where}: tasks did not finish within {timeout:.0f} s: {states}.",
                hint="They may still be running: check the ZVM task list before a re-run.",
            )

        if pending:
            poll_until(
                round_,
                timeout=timeout,
                interval=interval,
                timeout_error=timed_out,
                sleep=self._sleep,
                clock=self._clock,
            )
        if raise_on_error:
            failed = [(tid, t) for tid, t in results.items() if _task_state(t) in (4, 5)]
            if failed:
                reasons = "; ".join(
                    f"task {tid} {task_summary(t)}: "
                    f"{json_field(t, 'CompleteReason') or 'no reason given'}"
                    for tid, t in failed
                )
                ended = f"{len(failed)} of {len(results)} tasks failed"
                raise TaskFailed(f"{self.where}: {ended}: {reasons}")
        return results

    def wait_for_task(
        self, task_id: str, timeout: float = 1800.0, interval: float = 2.0
    ) -> dict[str, Any]:
        """Wait for one task; returns its JSON. Raises TaskFailed or TaskTimeout."""
        return self.wait_for_tasks([task_id], timeout, interval)[task_id]

    # -- sites and pairing ------------------------------------------------------------------
    def local_site(self) -> dict[str, Any]:
        """``GET /v1/localsite``: SiteIdentifier, SiteName, Version, ..."""
        return self._object(self.get("/v1/localsite"))

    def peer_sites(self) -> list[dict[str, Any]]:
        """``GET /v1/peersites``: PeerSiteName, PairingStatus (0 Paired, 1 Pairing, 2 Unpaired),
        HostName, Port, Link.identifier."""
        return self._list(self.get("/v1/peersites"))

    def generate_peer_token(self) -> dict[str, Any]:
        """``POST /v1/peersites/generatetoken`` on the target site: ``{Token, UtcExpirationDate}``.
        The token is a secret."""
        result = self._object(self.post("/v1/peersites/generatetoken", idempotent=True))
        token = json_field(result, "Token")
        if isinstance(token, str):
            self._session_secrets.add(token)
        return result

    def pair_site(self, host: str, port: int, token: str) -> str:
        """``POST /v1/peersites`` on the source site; returns the pairing task id."""
        body = {"HostName": host, "Port": port, "Token": token}
        return self._task_id(self.post("/v1/peersites", body), "pairing")

    def unpair_site(self, site_id: str, keep_target_disks: bool = False) -> str:
        """``DELETE /v1/peersites/{id}``: unpairs and deletes the VPGs between the sites."""
        body = {"IsKeepTargetDisks": keep_target_disks}
        return self._task_id(self.delete(f"/v1/peersites/{_seg(site_id)}", body), "unpairing")

    # -- inventory --------------------------------------------------------------------------
    def virtualization_sites(self) -> list[dict[str, Any]]:
        """``GET /v1/virtualizationsites``: the local and the peer vCenters."""
        return self._list(self.get("/v1/virtualizationsites"))

    def site_objects(self, site_id: str, kind: str) -> list[dict[str, Any]]:
        """``GET /v1/virtualizationsites/{id}/{kind}`` for hosts, hostclusters, datastores,
        networks, folders, resourcepools or vms (unprotected VMs only)."""
        if kind not in SITE_OBJECT_KINDS:
            raise ConfigurationError(
                f"Unknown virtualization site object kind {kind!r}.",
                hint=f"Use one of {', '.join(sorted(SITE_OBJECT_KINDS))}.",
            )
        return self._list(self.get(f"/v1/virtualizationsites/{_seg(site_id)}/{kind}"))

    # -- VRAs -------------------------------------------------------------------------------
    def vras(self) -> list[dict[str, Any]]:
        """``GET /v1/vras``."""
        return self._list(self.get("/v1/vras"))

    def vra(self, vra_id: str) -> dict[str, Any]:
        """``GET /v1/vras/{id}``."""
        return self._object(self.get(f"/v1/vras/{_seg(vra_id)}"))

    def install_vra(self, body: Mapping[str, Any]) -> str:
        """``POST /v1/vras`` (body: see ``vras.vra_create_body``); returns the task id."""
        return self._task_id(self.request("POST", "/v1/vras", dict(body)), "VRA install")

    def edit_vra(self, vra_id: str, body: Mapping[str, Any]) -> str:
        """``PUT /v1/vras/{id}`` (GroupName, MemoryInGb, NumOfCpus, VraNetworkDataApi, ...)."""
        return self._task_id(self.put(f"/v1/vras/{_seg(vra_id)}", dict(body)), "VRA edit")

    def upgrade_vra(self, vra_id: str) -> str:
        """``POST /v1/vras/{id}/upgrade``; returns the task id."""
        return self._task_id(self.post(f"/v1/vras/{_seg(vra_id)}/upgrade"), "VRA upgrade")

    def uninstall_vra(self, vra_id: str) -> str:
        """``DELETE /v1/vras/{id}``; returns the task id."""
        return self._task_id(self.delete(f"/v1/vras/{_seg(vra_id)}"), "VRA uninstall")

    def recovery_vra_potentials(self, vra_id: str, vm_id: str) -> list[dict[str, Any]]:
        """``GET /v1/vras/{id}/changerecoveryvra/potentials?vmIdentifier=``: the hosts that can
        take the recovery of that VM from this VRA (``HostIdentifier``, ``HostName``)."""
        path = f"/v1/vras/{_seg(vra_id)}/changerecoveryvra/potentials"
        return self._list(self.get(path, {"vmIdentifier": vm_id}))

    def recovery_vra_validate(
        self, vra_id: str, allocations: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """``POST /v1/vras/{id}/changerecoveryvra/validate`` ``{VmsAllocations: [{VmIdentifier,
        HostIdentifier}]}`` (changes nothing): one result per VM (``Status``, ``Reason``)."""
        path = f"/v1/vras/{_seg(vra_id)}/changerecoveryvra/validate"
        answer = self.post(path, _allocations(allocations), idempotent=True)
        return self._list(json_field(answer, "VmsValidationsResults"))

    def recovery_vra_execute(self, vra_id: str, allocations: Mapping[str, str]) -> str:
        """``POST /v1/vras/{id}/changerecoveryvra/execute``: move the recovery of the VMs
        (VM identifier → host identifier) to those hosts; returns the task id."""
        path = f"/v1/vras/{_seg(vra_id)}/changerecoveryvra/execute"
        return self._task_id(self.post(path, _allocations(allocations)), "change recovery VRA")

    # -- VPGs -------------------------------------------------------------------------------
    def vpgs(self) -> list[dict[str, Any]]:
        """``GET /v1/vpgs``."""
        return self._list(self.get("/v1/vpgs"))

    def vpg_substatuses(self) -> list[str]:
        """``GET /v1/vpgs/substatuses``: the names of the VPG substatuses (index = value)."""
        return [str(name) for name in self._list(self.get("/v1/vpgs/substatuses"))]

    def vpg(self, vpg_id: str) -> dict[str, Any]:
        """``GET /v1/vpgs/{id}``."""
        return self._object(self.get(f"/v1/vpgs/{_seg(vpg_id)}"))

    def vpg_settings_create(self, vpg_id: str | None = None) -> str:
        """``POST /v1/vpgSettings``: a new (or, with ``vpg_id``, an edit) settings object; returns
        its id. It is deleted on commit or after 30 minutes unused."""
        body = {"VpgIdentifier": vpg_id} if vpg_id else {}
        return self._task_id(self.post("/v1/vpgSettings", body), "VPG settings")

    def vpg_settings_get(self, settings_id: str) -> dict[str, Any]:
        """``GET /v1/vpgSettings/{id}``: the whole settings object."""
        return self._object(self.get(f"/v1/vpgSettings/{_seg(settings_id)}"))

    def vpg_settings_put(self, settings_id: str, body: Mapping[str, Any]) -> None:
        """``PUT /v1/vpgSettings/{id}`` with the whole settings object."""
        self.put(f"/v1/vpgSettings/{_seg(settings_id)}", dict(body))

    def vpg_settings_add_vm(self, settings_id: str, vm_id: str) -> None:
        """``POST /v1/vpgSettings/{id}/vms`` ``{VmIdentifier}``: add a VM with default settings."""
        self.post(f"/v1/vpgSettings/{_seg(settings_id)}/vms", {"VmIdentifier": vm_id})

    def vpg_settings_commit(self, settings_id: str) -> str:
        """``POST /v1/vpgSettings/{id}/commit``; returns the task id."""
        path = f"/v1/vpgSettings/{_seg(settings_id)}/commit"
        return self._task_id(self.post(path), "VPG commit")

    def vpg_settings_delete(self, settings_id: str) -> None:
        """``DELETE /v1/vpgSettings/{id}``: discard an uncommitted settings object."""
        self.delete(f"/v1/vpgSettings/{_seg(settings_id)}")

    def delete_vpg(
        self, vpg_id: str, keep_recovery_volumes: bool = False, force: bool = False
    ) -> str:
        """``DELETE /v1/vpgs/{id}`` ``{KeepRecoveryVolumes, Force}``; returns the task id."""
        body = {"KeepRecoveryVolumes": keep_recovery_volumes, "Force": force}
        return self._task_id(self.delete(f"/v1/vpgs/{_seg(vpg_id)}", body), "VPG delete")

    def checkpoints(
        self, vpg_id: str, start: str | None = None, end: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /v1/vpgs/{id}/checkpoints`` (optionally between ``start`` and ``end`` dates)."""
        query = {"startDate": start, "endDate": end}
        return self._list(self.get(f"/v1/vpgs/{_seg(vpg_id)}/checkpoints", query))

    def add_checkpoint(self, vpg_id: str, name: str) -> str:
        """``POST /v1/vpgs/{id}/checkpoints`` ``{CheckpointName}``: a tagged checkpoint; returns
        the identifier the ZVM answers."""
        path = f"/v1/vpgs/{_seg(vpg_id)}/checkpoints"
        return self._task_id(self.post(path, {"CheckpointName": name}), "checkpoint")

    # -- recovery operations (each returns a task id) ----------------------------------------
    def failover_test(
        self,
        vpg_id: str,
        checkpoint_id: str | None = None,
        vm_ids: Sequence[str] | None = None,
    ) -> str:
        """``POST /v1/vpgs/{id}/FailoverTest``: latest checkpoint and all VMs unless given."""
        body = _without_none(
            {"CheckpointIdentifier": checkpoint_id, "VmIdentifiers": _list_or_none(vm_ids)}
        )
        return self._vpg_action(vpg_id, "FailoverTest", body)

    def failover_test_stop(self, vpg_id: str, success: bool = True, summary: str = "") -> str:
        """``POST /v1/vpgs/{id}/FailoverTestStop``: ends the test, discarding its changes."""
        body = {"FailoverTestSuccess": success, "FailoverTestSummary": summary}
        return self._vpg_action(vpg_id, "FailoverTestStop", body)

    def failover(
        self,
        vpg_id: str,
        *,
        commit_policy: CommitPolicy,
        shutdown_policy: ShutdownPolicy,
        time_to_wait_before_shutdown: int = 3600,
        reverse_protection: bool = False,
        checkpoint_id: str | None = None,
        vm_ids: Sequence[str] | None = None,
    ) -> str:
        """``POST /v1/vpgs/{id}/Failover``. With ``CommitPolicy.NONE`` the task waits for
        :meth:`failover_commit` or :meth:`failover_rollback`."""
        if not 300 <= time_to_wait_before_shutdown <= 86400:
            raise ConfigurationError(
                f"time_to_wait_before_shutdown {time_to_wait_before_shutdown} s is outside "
                "300-86400 s."
            )
        body = _without_none(
            {
                "CheckpointIdentifier": checkpoint_id,
                "CommitPolicy": int(CommitPolicy(commit_policy)),
                "ShutdownPolicy": int(ShutdownPolicy(shutdown_policy)),
                "TimeToWaitBeforeShutdownInSec": time_to_wait_before_shutdown,
                "IsReverseProtection": reverse_protection,
                "VmIdentifiers": _list_or_none(vm_ids),
            }
        )
        return self._vpg_action(vpg_id, "Failover", body)

    def failover_commit(self, vpg_id: str, reverse_protection: bool = False) -> str:
        """``POST /v1/vpgs/{id}/FailoverCommit`` ``{IsReverseProtection}``."""
        body = {"IsReverseProtection": reverse_protection}
        return self._vpg_action(vpg_id, "FailoverCommit", body)

    def failover_rollback(self, vpg_id: str) -> str:
        """``POST /v1/vpgs/{id}/FailoverRollback``."""
        return self._vpg_action(vpg_id, "FailoverRollback")

    def move(
        self,
        vpg_id: str,
        *,
        commit_policy: CommitPolicy,
        commit_policy_timeout: int | None = None,
        force_shutdown: bool = False,
        reverse_protection: bool = True,
        keep_source_vms: bool = False,
        continue_on_pre_script_failure: bool = False,
    ) -> str:
        """``POST /v1/vpgs/{id}/Move``. ``keep_source_vms`` needs ``reverse_protection`` off."""
        _check_keep_source_vms(keep_source_vms, reverse_protection)
        body = _without_none(
            {
                "CommitPolicy": int(CommitPolicy(commit_policy)),
                "CommitPolicyTimeout": commit_policy_timeout,
                "ForceShutdown": force_shutdown,
                "ReverseProtection": reverse_protection,
                "KeepSourceVms": keep_source_vms,
                "ContinueOnPreScriptFailure": continue_on_pre_script_failure,
            }
        )
        return self._vpg_action(vpg_id, "Move", body)

    def move_commit(
        self, vpg_id: str, reverse_protection: bool = True, keep_source_vms: bool = False
    ) -> str:
        """``POST /v1/vpgs/{id}/MoveCommit`` ``{ReverseProtection, KeepSourceVms}``."""
        _check_keep_source_vms(keep_source_vms, reverse_protection)
        body = {"ReverseProtection": reverse_protection, "KeepSourceVms": keep_source_vms}
        return self._vpg_action(vpg_id, "MoveCommit", body)

    def move_rollback(self, vpg_id: str) -> str:
        """``POST /v1/vpgs/{id}/moveRollback``."""
        return self._vpg_action(vpg_id, "moveRollback")

    def pause(self, vpg_id: str) -> str:
        """``POST /v1/vpgs/{id}/pause``: pause replication."""
        return self._vpg_action(vpg_id, "pause")

    def resume(self, vpg_id: str) -> str:
        """``POST /v1/vpgs/{id}/resume``: resume a paused VPG."""
        return self._vpg_action(vpg_id, "resume")

    def force_sync(self, vpg_id: str) -> str:
        """``POST /v1/vpgs/{id}/forcesync``."""
        return self._vpg_action(vpg_id, "forcesync")

    def _vpg_action(self, vpg_id: str, action: str, body: Mapping[str, Any] | None = None) -> str:
        path = f"/v1/vpgs/{_seg(vpg_id)}/{action}"
        result = self.post(path, None if body is None else dict(body))
        return self._task_id(result, action)

    # -- monitoring -------------------------------------------------------------------------
    def alerts(
        self, vpg_id: str | None = None, is_dismissed: bool | None = None
    ) -> list[dict[str, Any]]:
        """``GET /v1/alerts``: Level, HelpIdentifier, Description, AffectedVpgs, ..."""
        query = {"vpgIdentifier": vpg_id, "isDismissed": is_dismissed}
        return self._list(self.get("/v1/alerts", query))

    def vms(self, vpg_name: str | None = None) -> list[dict[str, Any]]:
        """``GET /v1/vms``: protected VMs with ActualRPO, JournalUsedStorageMb, ..."""
        return self._list(self.get("/v1/vms", {"vpgName": vpg_name}))

    def statistics_vms(self) -> list[dict[str, Any]]:
        """``GET /v1/statistics/vms``: cumulative I/O counters per VM."""
        return self._list(self.get("/v1/statistics/vms"))

    def datastores(self) -> list[dict[str, Any]]:
        """``GET /v1/datastores``: Stats.Usage.Datastore.{CapacityInBytes, FreeInBytes}."""
        return self._list(self.get("/v1/datastores"))

    def license(self) -> dict[str, Any]:
        """``GET /v1/license``."""
        return self._object(self.get("/v1/license"))

    def recovery_reports(self, recovery_type: str | None = None) -> list[dict[str, Any]]:
        """``GET /v1/reports/recovery`` (``recovery_type``: Failover, FailoverTest or Move)."""
        return self._list(self.get("/v1/reports/recovery", {"recoveryType": recovery_type}))

    # -- result shapes ----------------------------------------------------------------------
    def _task_id(self, result: Any, what: str) -> str:
        if isinstance(result, str) and result:
            return result
        raise ApiError(
            f"{self.where} answered the {what} request without an identifier: {result!r:.200}",
            status=200,
        )

    def _list(self, result: Any) -> list[dict[str, Any]]:
        if result is None:
            return []
        if isinstance(result, list):
            return result
        raise ApiError(
            f"{self.where} answered with {type(result).__name__} where a list was expected.",
            status=200,
        )

    def _object(self, result: Any) -> dict[str, Any]:
        if isinstance(result, dict):
            return result
        raise ApiError(
            f"{self.where} answered with {type(result).__name__} where an object was expected.",
            status=200,
        )


class _HttpStatus(Exception):
    """Internal: a retryable HTTP status, carrying the response."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _task_state(task: Mapping[str, Any]) -> Any:
    return json_field(task, "Status", "State")


def _task_finished(task: Mapping[str, Any], accept_waiting: bool) -> bool:
    state = _task_state(task)
    if state in (TaskState.Failed, TaskState.Stopped):
        return True
    if state == TaskState.Completed:
        progress = json_field(task, "Status", "Progress")
        return progress is None or progress >= 100
    return accept_waiting and state == TaskState.WaitingForUserInput


def _seg(value: str) -> str:
    """A path segment, quoted (identifiers contain dots, never slashes)."""
    if not value:
        raise ConfigurationError("An empty identifier was given for a ZVM path.")
    return quote(str(value), safe=".-_~")


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    query = {}
    for key, value in params.items():
        if value is None:
            continue
        query[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return query or None


def _allocations(allocations: Mapping[str, str]) -> dict[str, Any]:
    return {
        "VmsAllocations": [
            {"VmIdentifier": vm, "HostIdentifier": host} for vm, host in allocations.items()
        ]
    }


def _without_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _list_or_none(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def _check_keep_source_vms(keep_source_vms: bool, reverse_protection: bool) -> None:
    if keep_source_vms and reverse_protection:
        raise ConfigurationError(
            "keep_source_vms requires reverse protection off.",
            hint="Set reverse_protection: false, or keep_source_vms: false.",
        )


def _body_secrets(body: Any) -> set[str]:
    """String values under keys that name a password, secret or token, at any depth."""
    found: set[str] = set()
    if isinstance(body, Mapping):
        for key, value in body.items():
            if isinstance(value, str) and any(p in str(key).lower() for p in _SECRET_KEY_PARTS):
                found.add(value)
            else:
                found |= _body_secrets(value)
    elif isinstance(body, list):
        for item in body:
            found |= _body_secrets(item)
    return found


def _never_sent(exc: Exception) -> bool:
    """True when the request cannot have reached the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason: Any = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _reason(exc: BaseException) -> str:
    """A short reason for a connection error, without the libraries' nesting."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8 and all(current is not c for c in chain):
        chain.append(current)
        if isinstance(current, MaxRetryError):
            current = current.reason
        elif current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
        else:
            current = current.__cause__ or current.__context__
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {item.verify_message}"
    inner = chain[-1]
    text = str(inner)
    marker = "Failed to establish a new connection: "
    if marker in text:
        text = text.split(marker, 1)[1].rstrip(")'\"")
    elif "Pool(host=" in text and "): " in text:
        text = text.split("): ", 1)[1]
    return text or type(inner).__name__


#: What a ZVM's API answers once it is up: 200, or 401 to a request without credentials.
API_UP = (200, 401)


def api_answers(
    url: str, validate_certs: bool = True, ca_file: str | None = None, timeout: float = 10.0
) -> bool | None:
    """True when ``GET {url}/v1/localsite`` answers 200 or 401 (the API is up); None while it
    does not (yet): no connection, a TLS handshake that does not finish, another status. A
    certificate that cannot be verified is an error (ConnectionFailed), not "not yet"."""
    probe = url.rstrip("/") + "/v1/localsite"
    verify: str | bool = (ca_file or True) if validate_certs else False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)  # validate_certs: false
            status = requests.get(probe, verify=verify, timeout=timeout).status_code
    except requests.exceptions.SSLError as exc:
        reason = _reason(exc)
        if reason.startswith("certificate verify failed"):
            raise ConnectionFailed(
                f"{probe}: the TLS certificate could not be verified ({reason}).",
                hint="Give its CA with api_ca_file; api_validate_certs: false only in a lab.",
            ) from None
        return None
    except (requests.exceptions.RequestException, OSError):
        return None
    return True if status in API_UP else None
