"""The simulator's state: records of tasks, peers, pairing tokens, VPG settings objects, VPGs,
alerts and recovery reports, behind one lock.

VRAs are not stored here: they are read from vCenter (the VRA VMs carry their settings as
extraConfig marks), so a restarted simulator finds them again. VPG records travel to the peer
simulator as JSON (:meth:`VpgRecord.to_wire`); the higher ``revision`` wins.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TaskRecord:
    identifier: str
    type: str
    kind: str
    initiated_by: str
    started: float
    duration: float
    state: int = 1
    progress: int = 0
    completed: float | None = None
    complete_reason: str | None = None
    vpgs: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    generation: int = 0


@dataclass
class PeerRecord:
    site_identifier: str
    site_name: str
    host_name: str
    port: int
    #: the peer simulator's base URL (https://host:port)
    url: str
    version: str
    location: str
    #: 0 Paired, 1 Pairing, 2 Unpaired
    status: int
    #: the secret both simulators send on their private peer endpoints
    key: str = field(repr=False)
    paired: float = 0.0


@dataclass
class PairingToken:
    token: str
    expires: float
    used: bool = False


@dataclass
class SettingsRecord:
    identifier: str
    vpg_identifier: str | None
    data: dict[str, Any]
    touched: float
    created_by: str = ""


@dataclass
class ProtectedVm:
    """A VM of a VPG, as it was when it was added (identifiers at the protected site)."""

    vm: str
    name: str
    host: str | None = None
    datastore: str | None = None
    folder: str | None = None
    network: str | None = None
    cpus: int = 1
    memory_mb: int = 1024
    storage_mb: int = 0
    nics: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


@dataclass
class RecoveredVm:
    """A VM brought up at the recovery site by a test, failover or move."""

    source: str
    vm: str
    name: str
    powered_on: bool = True
    #: an earlier replica (the original VM after reverse protection) was reused
    reused: bool = False
    host: str | None = None
    datastore: str | None = None
    folder: str | None = None
    network: str | None = None
    host_name: str = ""
    datastore_name: str = ""
    folder_name: str = ""
    network_name: str = ""


@dataclass
class OperationRecord:
    """The recovery operation a VPG is in: a failover test, a failover or a move."""

    kind: str
    stage: str
    started: float
    initiated_by: str
    task: str
    checkpoint: str | None = None
    point_in_time: float | None = None
    vms: list[str] = field(default_factory=list)
    created: list[RecoveredVm] = field(default_factory=list)
    powered_off: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TaggedCheckpoint:
    identifier: str
    timestamp: float
    tag: str


@dataclass
class VpgRecord:
    identifier: str
    name: str
    protected_site: str
    recovery_site: str
    protected_site_name: str
    recovery_site_name: str
    #: the canonical VpgSettingsApi object (without the identifiers)
    settings: dict[str, Any]
    vms: list[ProtectedVm]
    created: float
    sync_started: float
    sync_done: float
    #: "InitialSync" or "DeltaSync" (after reverse protection)
    sync_kind: str = "InitialSync"
    #: periods of replication: [start, end or None]
    segments: list[list[float | None]] = field(default_factory=list)
    paused: bool = False
    forcesync_until: float = 0.0
    tagged: list[TaggedCheckpoint] = field(default_factory=list)
    operation: OperationRecord | None = None
    last_test: float | None = None
    recovered: bool = False
    deleting: bool = False
    deleted: bool = False
    #: protected VM identifier → its replica VM at the recovery site (after reverse protection)
    replicas: dict[str, str] = field(default_factory=dict)
    #: the VRAs serving this VPG that are down now ("<site>/<host identifier>": a host in
    #: maintenance, a VRA VM powered off); each site keeps the entries of its own VRAs
    vra_down: list[str] = field(default_factory=list)
    #: a bitmap sync runs until then (after a VRA upgrade, or a VRA that came back)
    bitmap_sync_until: float = 0.0
    revision: int = 1
    updated: float = 0.0

    @property
    def is_local(self) -> bool:
        return self.protected_site == self.recovery_site

    def sites(self) -> set[str]:
        return {self.protected_site, self.recovery_site}

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> VpgRecord:
        raw = dict(data)
        raw["vms"] = [ProtectedVm(**v) for v in raw.get("vms", [])]
        raw["tagged"] = [TaggedCheckpoint(**t) for t in raw.get("tagged", [])]
        op = raw.get("operation")
        if op is not None:
            op = dict(op)
            op["created"] = [RecoveredVm(**c) for c in op.get("created", [])]
            raw["operation"] = OperationRecord(**op)
        return cls(**raw)


@dataclass
class AlertRecord:
    identifier: str
    key: str
    level: str
    entity: str
    help_identifier: str
    description: str
    turned_on: float
    vpgs: list[str] = field(default_factory=list)
    dismissed: bool = False


@dataclass
class ReportRecord:
    identifier: str
    vpg_identifier: str
    vpg_name: str
    recovery_type: str
    protected_site_name: str
    recovery_site_name: str
    started: float
    ended: float
    point_in_time: float | None
    status: str
    initiated_by: str
    notes: str
    vpg_settings: dict[str, Any]
    vms: list[dict[str, Any]]
    steps: list[dict[str, Any]]


@dataclass
class VraActivity:
    """What is happening to the VRA of a host right now (vCenter holds the rest)."""

    host: str
    status: int
    task: str


class Store:
    """All records, guarded by :attr:`lock` (re-entrant: take it around read-modify-write)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tasks: dict[str, TaskRecord] = {}
        self.peers: dict[str, PeerRecord] = {}
        self.pairing_tokens: dict[str, PairingToken] = {}
        self.settings: dict[str, SettingsRecord] = {}
        self.vpgs: dict[str, VpgRecord] = {}
        self.alerts: dict[str, AlertRecord] = {}
        self.reports: list[ReportRecord] = []
        self.vra_activity: dict[str, VraActivity] = {}
        #: the licence entered (``PUT /v1/license``); a new ZVM has none
        self.license_key: str | None = None
        #: when it was entered (the lab's licences run LICENCE_TERM_SECONDS from then)
        self.license_entered: float | None = None
        self.login_banner: tuple[bool, str] = (False, "")

    def live_vpgs(self) -> list[VpgRecord]:
        with self.lock:
            return [v for v in self.vpgs.values() if not v.deleted]

    def reset(self) -> None:
        with self.lock:
            self.tasks.clear()
            self.settings.clear()
            self.alerts.clear()
            self.reports.clear()
            self.vra_activity.clear()
