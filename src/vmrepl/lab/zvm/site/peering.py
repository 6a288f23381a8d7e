"""Site pairing and the link between simulators.

Pairing follows the API: the target generates a one-time token
(``POST /v1/peersites/generatetoken``); the source is given ``{HostName, Port, Token}``
(``POST /v1/peersites``) and runs a "PairSites" task that calls the target's private
``POST /lab/peer/pair`` over HTTPS (verified with ``--ca-file``) with the token, its own
identity and pairing URL, and a fresh shared key. The target checks the token (known, unused,
not expired), records the source as Paired and answers with its identity. The peer endpoints are
served only on each simulator's pairing port (9071 on a real appliance; any free port in the
lab), never on its API port: HostName and Port name the peer's pairing port, and a Port that is
not a pairing listener fails the task with "could not be reached", as a real ZVM's does.

Afterwards every simulator-to-simulator call (``/lab/peer/...``) carries the shared key. A
heartbeat (every ``heartbeat_seconds``) exchanges the VPG records the two sites share
(``POST /lab/peer/sync``; the higher revision wins) and tells whether the link is up. The
``peer_link: cut`` fault makes a simulator refuse and stop making those calls.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.config import ZVM_VERSION
from vmrepl.lab.zvm.enums import PAIRED, PAIRING, UNPAIRED
from vmrepl.lab.zvm.errors import ApiError, BadRequest, NotFound, OperationFailed, Unavailable
from vmrepl.lab.zvm.http.routing import Request
from vmrepl.lab.zvm.links import link
from vmrepl.lab.zvm.site.tasks import TaskContext, TaskService
from vmrepl.lab.zvm.store import PairingToken, PeerRecord, VpgRecord

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext

LOG = logging.getLogger(__name__)
KEY_HEADER = "X-Vmrepl-Peer-Key"
SITE_HEADER = "X-Vmrepl-Peer-Site"
DEFAULT_PAIRING_PORT = 9071
#: what answers at an address that is not a pairing listener (e.g. the peer's API port)
NOT_A_PAIRING_LISTENER = (404, 405, 501)


class PeerUnreachable(Exception):
    """The peer could not be reached (or the link is cut)."""


class PeerError(Exception):
    """The peer answered with an error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """One verifying context per CA file, shared by every call (loading the CA file and the
    system's store again for each heartbeat was 6 % of an idle simulator's CPU samples)."""
    return ssl.create_default_context(cafile=ca_file)


class PeerClient:
    """HTTPS calls to one peer simulator's private endpoints."""

    def __init__(
        self, ctx: SiteContext, url: str, key: str | None = None, name: str | None = None
    ) -> None:
        self.ctx = ctx
        self.url = url.rstrip("/")
        self.key = key
        self.name = name or url

    def _context(self) -> ssl.SSLContext:
        ca = self.ctx.config.ca_file
        return _tls_context(str(ca) if ca else None)

    def call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        if self.ctx.faults.link_cut:
            raise PeerUnreachable(f"the link to {self.name} is cut")
        data = None if body is None else json.dumps(body).encode()
        # the URL is the peer's https address, never a file: or custom scheme
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        request.add_header(SITE_HEADER, self.ctx.site_identifier)
        if self.key:
            request.add_header(KEY_HEADER, self.key)
        # straight to the peer: no proxy from the environment between two lab sites
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if self.url.startswith("https:"):
            handlers.append(urllib.request.HTTPSHandler(context=self._context()))
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(request, timeout=timeout or self.ctx.config.peer_timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            message = exc.reason
            try:
                payload = json.loads(exc.read().decode() or "{}")
                message = payload.get("Message", message) if isinstance(payload, dict) else message
            except ValueError:
                pass
            if exc.code == 503:
                raise PeerUnreachable(f"{self.name} is unavailable: {message}") from exc
            raise PeerError(exc.code, str(message)) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PeerUnreachable(f"cannot reach {self.name}: {reason}") from exc
        return json.loads(text) if text.strip() else None

    def rpc(self, method: str, args: dict[str, Any]) -> Any:
        """One gateway call; failures become :class:`OperationFailed`."""
        try:
            return self.call("POST", f"/lab/peer/rpc/{method}", args, timeout=60)
        except PeerUnreachable as exc:
            raise OperationFailed(f"The peer site {self.name} cannot be reached ({exc}).") from exc
        except PeerError as exc:
            raise OperationFailed(f"The peer site {self.name} failed: {exc.message}") from exc


@dataclass
class LinkState:
    reachable: bool = True
    up: bool = True
    outages: list[list[float | None]] = field(default_factory=list)


@dataclass
class PendingPairing:
    host_name: str
    port: int
    task: str


class PeeringService:
    def __init__(self, ctx: SiteContext, tasks: TaskService) -> None:
        self.ctx = ctx
        self.tasks = tasks
        #: called after every heartbeat round (app.py wires the alerts' evaluation here)
        self.on_heartbeat: list[Callable[[], object]] = []
        self._links: dict[str, LinkState] = {}
        self._pending: dict[str, PendingPairing] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- peers ------------------------------------------------------------------------------
    def peers(self) -> list[PeerRecord]:
        with self.ctx.store.lock:
            return list(self.ctx.store.peers.values())

    def peer(self, site_identifier: str) -> PeerRecord | None:
        with self.ctx.store.lock:
            return self.ctx.store.peers.get(site_identifier)

    def is_paired(self, site_identifier: str) -> bool:
        peer = self.peer(site_identifier)
        return peer is not None and peer.status == PAIRED

    def site_name(self, site_identifier: str) -> str:
        if site_identifier == self.ctx.site_identifier:
            return self.ctx.config.site_name
        peer = self.peer(site_identifier)
        return peer.site_name if peer else site_identifier

    def client(self, site_identifier: str) -> PeerClient:
        peer = self.peer(site_identifier)
        if peer is None or peer.status == UNPAIRED:
            raise BadRequest(f"Site {site_identifier} is not a paired site.")
        return PeerClient(self.ctx, peer.url, peer.key, f"site {peer.site_name}")

    # -- the link ---------------------------------------------------------------------------
    def link_up(self, site_identifier: str) -> bool:
        """Whether this site can talk to that one now (always for itself)."""
        if site_identifier == self.ctx.site_identifier:
            return True
        with self.ctx.store.lock:
            state = self._links.setdefault(site_identifier, LinkState())
            up = state.reachable and not self.ctx.faults.link_cut
            if up != state.up:
                state.up = up
                if up and state.outages and state.outages[-1][1] is None:
                    state.outages[-1][1] = clock.now()
                elif not up:
                    state.outages.append([clock.now(), None])
            return up

    def outages(self, site_identifier: str) -> list[list[float | None]]:
        self.link_up(site_identifier)
        with self.ctx.store.lock:
            state = self._links.get(site_identifier)
            return [list(o) for o in state.outages] if state else []

    def _set_reachable(self, site_identifier: str, reachable: bool) -> None:
        with self.ctx.store.lock:
            self._links.setdefault(site_identifier, LinkState()).reachable = reachable
        self.link_up(site_identifier)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="zvm-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.ctx.config.heartbeat_seconds):
            if not self.ctx.answering:  # the appliance is down: no heartbeat either
                continue
            for peer in self.peers():
                if peer.status == PAIRED and not self._stop.is_set():
                    self.sync(peer)
            for hook in self.on_heartbeat:
                try:
                    hook()
                except Exception:
                    LOG.exception("after the heartbeat: %s failed", hook)

    def sync(self, peer: PeerRecord) -> bool:
        """Exchange the shared VPG records with a peer; True when the peer answered."""
        if self.ctx.faults.link_cut:
            self.link_up(peer.site_identifier)
            return False
        client = PeerClient(self.ctx, peer.url, peer.key, f"site {peer.site_name}")
        mine = [r.to_wire() for r in self.shared_vpgs(peer.site_identifier)]
        try:
            answer = client.call(
                "POST",
                "/lab/peer/sync",
                {"SiteIdentifier": self.ctx.site_identifier, "Vpgs": mine},
                timeout=self.ctx.config.peer_timeout,
            )
        except PeerUnreachable:
            self._set_reachable(peer.site_identifier, False)
            return False
        except PeerError as exc:
            if exc.status in (401, 403, 404):
                LOG.warning("site %s no longer knows this site: %s", peer.site_name, exc.message)
                with self.ctx.store.lock:
                    peer.status = UNPAIRED
            self._set_reachable(peer.site_identifier, False)
            return False
        self._set_reachable(peer.site_identifier, True)
        self.merge([VpgRecord.from_wire(v) for v in (answer or {}).get("Vpgs", [])])
        return True

    def pending(self) -> list[PendingPairing]:
        """The pairings started here whose task has not reached the peer yet."""
        with self.ctx.store.lock:
            return list(self._pending.values())

    def shared_vpgs(self, site_identifier: str) -> list[VpgRecord]:
        with self.ctx.store.lock:
            return [v for v in self.ctx.store.vpgs.values() if site_identifier in v.sites()]

    def merge(self, records: list[VpgRecord]) -> None:
        """Take the peer's VPG records where they are newer than ours: only those between
        this site and sites it is paired with now (a push that crossed an unpairing, its peer
        authenticated just before this site forgot it, brings nothing back)."""
        mine = self.ctx.site_identifier
        with self.ctx.store.lock:
            for record in records:
                others = record.sites() - {mine}
                if mine not in record.sites() or not others <= self.ctx.store.peers.keys():
                    continue
                local = self.ctx.store.vpgs.get(record.identifier)
                if local is None or record.revision > local.revision:
                    self.ctx.store.vpgs[record.identifier] = record

    def push(self, record: VpgRecord) -> None:
        """Send a changed VPG record to the other site of the VPG (best effort: the
        heartbeat catches up after an outage)."""
        for site in record.sites() - {self.ctx.site_identifier}:
            peer = self.peer(site)
            if peer is None or peer.status != PAIRED:
                continue
            try:
                PeerClient(self.ctx, peer.url, peer.key, peer.site_name).call(
                    "POST", "/lab/peer/vpgs", {"Vpg": record.to_wire()}
                )
            except (PeerUnreachable, PeerError) as exc:
                LOG.info("VPG %s not sent to %s now: %s", record.name, peer.site_name, exc)

    # -- pairing ----------------------------------------------------------------------------
    def generate_token(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        expires = clock.now() + self.ctx.config.pairing_token_seconds
        with self.ctx.store.lock:
            self.ctx.store.pairing_tokens[token] = PairingToken(token, expires)
        return {"Token": token, "UtcExpirationDate": clock.iso(expires)}

    def expire_tokens(self) -> None:
        with self.ctx.store.lock:
            for token in self.ctx.store.pairing_tokens.values():
                token.expires = min(token.expires, clock.now() - 1)

    def pair(self, request: Request) -> str:
        self.ctx.require_license("pairing sites")
        body = request.fields()
        host = body.require_text("HostName").strip()
        port = body.integer("Port", default=DEFAULT_PAIRING_PORT, low=1, high=65535)
        assert port is not None
        token = body.require_text("Token")
        own = [urlsplit(self.ctx.url), urlsplit(self.ctx.pairing_url)]
        if any(host.lower() == (u.hostname or "").lower() and port == u.port for u in own):
            raise BadRequest("A site cannot be paired with itself.")
        with self.ctx.store.lock:
            for peer in self.ctx.store.peers.values():
                if peer.host_name.lower() == host.lower() and peer.port == port:
                    raise BadRequest(
                        f"The site at {host}:{port} is already paired ({peer.site_name})."
                    )
            if any(p.host_name == host and p.port == port for p in self._pending.values()):
                raise BadRequest(f"Pairing with {host}:{port} is already in progress.")
        key = secrets.token_urlsafe(32)
        url = f"https://{host}:{port}"
        pending_key = f"{host}:{port}"
        unreachable = f"The peer site could not be reached at {host}:{port}."

        def work(ctx: TaskContext) -> None:
            client = PeerClient(self.ctx, url, None, f"{host}:{port}")
            try:
                answer = client.call(
                    "POST",
                    "/lab/peer/pair",
                    {
                        "Token": token,
                        "SiteIdentifier": self.ctx.site_identifier,
                        "SiteName": self.ctx.config.site_name,
                        "Location": self.ctx.config.location,
                        "Version": ZVM_VERSION,
                        "Url": self.ctx.pairing_url,
                        "Key": key,
                    },
                )
            except PeerUnreachable as exc:
                LOG.info("pairing with %s:%s: %s", host, port, exc)
                raise OperationFailed(unreachable) from exc
            except PeerError as exc:
                if exc.status in NOT_A_PAIRING_LISTENER:
                    raise OperationFailed(unreachable) from exc
                raise OperationFailed(f"Pairing with {host}:{port} failed: {exc.message}") from exc
            finally:
                with self.ctx.store.lock:
                    self._pending.pop(pending_key, None)
            record = PeerRecord(
                site_identifier=str(answer["SiteIdentifier"]),
                site_name=str(answer["SiteName"]),
                host_name=host,
                port=port,
                url=url,
                version=str(answer.get("Version", "")),
                location=str(answer.get("Location", "")),
                status=PAIRING,
                key=key,
                paired=clock.now(),
            )
            with self.ctx.store.lock:
                self.ctx.store.peers[record.site_identifier] = record
            self._set_reachable(record.site_identifier, True)
            ctx.wait(1.0)
            with self.ctx.store.lock:
                record.status = PAIRED

        with self.ctx.store.lock:
            task = self.tasks.start("PairSites", "pair", work, initiated_by=request.principal)
            self._pending[pending_key] = PendingPairing(host, port, task)
        return task

    def accept_pairing(self, request: Request) -> Any:
        if self.ctx.faults.link_cut:
            raise Unavailable("The link to the peer site is cut (lab fault).")
        body = request.fields()
        token = body.require_text("Token")
        site = body.require_text("SiteIdentifier")
        url = body.require_text("Url")
        key = body.require_text("Key")
        if site == self.ctx.site_identifier:
            raise BadRequest("A site cannot be paired with itself.")
        with self.ctx.store.lock:
            entry = self.ctx.store.pairing_tokens.get(token)
            if entry is None:
                raise BadRequest("The pairing token is not valid for this site.")
            if entry.used:
                raise BadRequest("The pairing token was already used; generate a new one.")
            if entry.expires <= clock.now():
                raise BadRequest("The pairing token has expired; generate a new one.")
            existing = self.ctx.store.peers.get(site)
            if existing is not None and existing.status == PAIRED:
                raise BadRequest(f"This site is already paired with {existing.site_name}.")
            entry.used = True
            parts = urlsplit(url)
            self.ctx.store.peers[site] = PeerRecord(
                site_identifier=site,
                site_name=body.text("SiteName") or site,
                host_name=parts.hostname or "",
                port=parts.port or 443,
                url=url,
                version=body.text("Version") or "",
                location=body.text("Location") or "",
                status=PAIRED,
                key=key,
                paired=clock.now(),
            )
        self._set_reachable(site, True)
        return {
            "SiteIdentifier": self.ctx.site_identifier,
            "SiteName": self.ctx.config.site_name,
            "Location": self.ctx.config.location,
            "Version": ZVM_VERSION,
        }

    def unpair(self, request: Request, site_identifier: str) -> str:
        peer = self.peer(site_identifier)
        if peer is None:
            raise NotFound(f"Peer site {site_identifier} was not found.")
        request.fields().boolean("IsKeepTargetDisks")

        def work(ctx: TaskContext) -> None:
            client = PeerClient(self.ctx, peer.url, peer.key, peer.site_name)
            try:
                client.call("POST", "/lab/peer/unpair", {})
            except (PeerUnreachable, PeerError) as exc:
                LOG.warning("unpairing: %s was not told: %s", peer.site_name, exc)
            ctx.wait(0.5)
            self.forget(site_identifier)

        return self.tasks.start(
            "UnpairSites",
            "unpair",
            work,
            initiated_by=request.principal,
            sites=[self.ctx.site_identifier, site_identifier],
        )

    def forget(self, site_identifier: str) -> None:
        """Drop a peer and the VPGs between the two sites."""
        with self.ctx.store.lock:
            for vpg in list(self.ctx.store.vpgs.values()):
                if site_identifier in vpg.sites():
                    del self.ctx.store.vpgs[vpg.identifier]
            self.ctx.store.peers.pop(site_identifier, None)
            self._links.pop(site_identifier, None)

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self, peer: PeerRecord) -> dict[str, Any]:
        shared = self.shared_vpgs(peer.site_identifier)
        used = sum(sum(vm.storage_mb for vm in v.vms) for v in shared if not v.deleted)
        return {
            "SiteIdentifier": peer.site_identifier,
            "Link": link(self.ctx.url, "peersites", peer.site_identifier, "PeerSiteApi"),
            "PeerSiteName": peer.site_name,
            "PairingStatus": peer.status,
            "Location": peer.location,
            "HostName": peer.host_name,
            "Port": peer.port,
            "ProvisionedStorage": used,
            "UsedStorage": used,
            "IncomingThroughputInMb": 0.0,
            "OutgoingBandWidth": 0.0,
            "Version": peer.version,
            "SiteType": "VCenter",
            "RegionName": None,
        }

    def pending_json(self, pending: PendingPairing) -> dict[str, Any]:
        return {
            "SiteIdentifier": None,
            "Link": link(self.ctx.url, "peersites", None, "PeerSiteApi"),
            "PeerSiteName": None,
            "PairingStatus": PAIRING,
            "Location": None,
            "HostName": pending.host_name,
            "Port": pending.port,
            "ProvisionedStorage": 0,
            "UsedStorage": 0,
            "IncomingThroughputInMb": 0.0,
            "OutgoingBandWidth": 0.0,
            "Version": None,
            "SiteType": "VCenter",
            "RegionName": None,
        }

    # -- the peer's calls -------------------------------------------------------------------
    def authenticate_peer(self, request: Request) -> PeerRecord:
        if self.ctx.faults.link_cut:
            raise Unavailable("The link to the peer site is cut (lab fault).")
        site = request.header(SITE_HEADER) or ""
        key = request.header(KEY_HEADER) or ""
        peer = self.peer(site)
        if peer is None or peer.status == UNPAIRED or not secrets.compare_digest(peer.key, key):
            raise ApiError(403, "This site is not paired with the calling site.")
        self._set_reachable(site, True)
        return peer
