"""VPG settings objects: the transient drafts from which VPGs are created and edited.

``POST /v1/vpgSettings`` ``{}`` starts a new VPG, ``{"VpgIdentifier": id}`` an edit of one;
the object is read and written whole or by section, VMs are added and removed, and
``POST .../commit`` validates it and starts the task that creates or updates the VPG. An
object is deleted on commit or after ``settings_ttl_seconds`` (30 minutes) unused. Request
bodies are canonicalised to the schema's PascalCase names, so the object is always shaped like
``VpgSettingsApi`` (see ``openapi/vpg-settings-example.json``).
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.binding import Canonicalizer
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.inventory import APPLIANCE_ROLES, Inventory, VmInfo
from vmrepl.lab.zvm.routing import Request, Response, Router
from vmrepl.lab.zvm.store import SettingsRecord

if TYPE_CHECKING:
    from vmrepl.lab.zvm.app import Simulator

DEFAULT_BOOT_GROUP = "00000000-0000-0000-0000-000000000000"
_NS = "Zerto.Zvm.Api.Interfaces.VpgSettings."
#: URL section → (key in the settings object, schema)
SECTIONS = {
    "basic": ("Basic", _NS + "VpgSettingsBasicApi"),
    "journal": ("Journal", _NS + "VpgSettingsJournalApi"),
    "scratch": ("Scratch", _NS + "VpgSettingsScratchApi"),
    "recovery": ("Recovery", _NS + "VpgSettingsRecoveryApi"),
    "networks": ("Networks", _NS + "VpgSettingsNetworksApi"),
    "bootgroup": ("BootGroups", _NS + "VpgSettingsBootGroupsApi"),
    "scripting": ("Scripting", _NS + "VpgSettingsScriptsApi"),
    "ltr": ("LongTermRetention", _NS + "VpgSettingsLtrApi"),
}
SETTINGS_SCHEMA = _NS + "VpgSettingsApi"
VM_SCHEMA = _NS + "VpgSettingsVmApi"
NIC_SCHEMA = _NS + "VpgSettingsVmNicApi"
VOLUME_SCHEMA = _NS + "VpgSettingsVmVolumeApi"


def _limits(hard: int, warning: int) -> dict[str, Any]:
    return {
        "HardLimitInMB": hard,
        "HardLimitInPercent": 0,
        "WarningThresholdInMB": warning,
        "WarningThresholdInPercent": 0,
    }


def default_section(key: str, protected_site: str) -> Any:
    """The value a new settings object has for one of its top-level keys."""
    script = {"Command": None, "Parameters": None, "TimeoutInSeconds": 300}
    network = {"VCD": None, "Hypervisor": {"DefaultNetworkIdentifier": None}, "PublicCloud": None}
    defaults: dict[str, Any] = {
        "Basic": {
            "Name": None,
            "VpgType": "Remote",
            "RpoInSeconds": 300,
            "TestIntervalInMinutes": 262080,
            "JournalHistoryInHours": 24,
            "Priority": "Medium",
            "UseWanCompression": True,
            "ServiceProfileIdentifier": None,
            "ZorgIdentifier": None,
            "ProtectedSiteIdentifier": protected_site,
            "RecoverySiteIdentifier": None,
        },
        "Scripting": {
            "PreRecovery": dict(script),
            "PostRecovery": dict(script),
            "PostBackup": None,
        },
        "BootGroups": {
            "BootGroups": [
                {
                    "BootGroupIdentifier": DEFAULT_BOOT_GROUP,
                    "Name": "Default",
                    "BootDelayInSeconds": 0,
                }
            ]
        },
        "Journal": {
            "Limitation": _limits(153600, 115200),
            "DatastoreIdentifier": None,
            "DatastoreClusterIdentifier": None,
        },
        "Scratch": {
            "Limitation": _limits(307200, 230400),
            "DatastoreIdentifier": None,
            "DatastoreClusterIdentifier": None,
        },
        "LongTermRetention": None,
        "Recovery": {
            "DefaultHostIdentifier": None,
            "DefaultHostClusterIdentifier": None,
            "DefaultDatastoreIdentifier": None,
            "DefaultDatastoreClusterIdentifier": None,
            "DefaultFolderIdentifier": None,
            "ResourcePoolIdentifier": None,
            "VCD": None,
            "PublicCloud": None,
        },
        "Networks": {"Failover": dict(network), "FailoverTest": copy.deepcopy(network)},
        "Vms": [],
        "Protected": {"VCD": None},
    }
    return copy.deepcopy(defaults[key])


def default_settings(protected_site: str) -> dict[str, Any]:
    keys = (
        "Basic",
        "Scripting",
        "BootGroups",
        "Journal",
        "Scratch",
        "LongTermRetention",
        "Recovery",
        "Networks",
        "Vms",
        "Protected",
    )
    return {key: default_section(key, protected_site) for key in keys}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` laid over ``base``: objects merged key by key, everything else replaced."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def vm_entry(inv: Inventory, vm: VmInfo, settings: dict[str, Any]) -> dict[str, Any]:
    """A VpgSettingsVmApi entry for a VM, filled from the VPG's defaults."""
    recovery = settings.get("Recovery") or {}
    journal = settings.get("Journal") or {}
    scratch = settings.get("Scratch") or {}
    networks = settings.get("Networks") or {}

    def default_network(kind: str) -> str | None:
        return ((networks.get(kind) or {}).get("Hypervisor") or {}).get("DefaultNetworkIdentifier")

    def nic_network(kind: str) -> dict[str, Any]:
        return {
            "Hypervisor": {
                "NetworkIdentifier": default_network(kind),
                "ShouldReplaceMacAddress": False,
                "DnsSuffix": None,
                "IpConfig": None,
                "ShouldReplaceIpConfiguration": False,
            },
            "VCD": None,
            "PublicCloud": None,
        }

    return {
        "VmIdentifier": inv.ident(vm.moref),
        "Recovery": {
            "HostIdentifier": recovery.get("DefaultHostIdentifier"),
            "HostClusterIdentifier": recovery.get("DefaultHostClusterIdentifier"),
            "DatastoreIdentifier": recovery.get("DefaultDatastoreIdentifier"),
            "DatastoreClusterIdentifier": recovery.get("DefaultDatastoreClusterIdentifier"),
            "FolderIdentifier": recovery.get("DefaultFolderIdentifier"),
            "ResourcePoolIdentifier": recovery.get("ResourcePoolIdentifier"),
            "VCD": None,
            "PublicCloud": None,
        },
        "BootGroupIdentifier": DEFAULT_BOOT_GROUP,
        "Journal": {
            "Limitation": copy.deepcopy(journal.get("Limitation") or _limits(153600, 115200)),
            "DatastoreIdentifier": journal.get("DatastoreIdentifier")
            or recovery.get("DefaultDatastoreIdentifier"),
            "DatastoreClusterIdentifier": journal.get("DatastoreClusterIdentifier"),
        },
        "Scratch": {
            "Limitation": copy.deepcopy(scratch.get("Limitation") or _limits(307200, 230400)),
            "DatastoreIdentifier": scratch.get("DatastoreIdentifier")
            or recovery.get("DefaultDatastoreIdentifier"),
            "DatastoreClusterIdentifier": scratch.get("DatastoreClusterIdentifier"),
        },
        "Volumes": [
            {
                "VolumeIdentifier": disk.identifier,
                "VCD": None,
                "Preseed": None,
                "RDM": None,
                "Datastore": {
                    "DatastoreClusterIdentifier": None,
                    "DatastoreIdentifier": recovery.get("DefaultDatastoreIdentifier"),
                    "IsThin": True,
                },
                "VolumeSyncSettings": "ContinuousSync",
            }
            for disk in vm.disks
        ],
        "Nics": [
            {
                "NicIdentifier": nic.label,
                "FailoverTest": nic_network("FailoverTest"),
                "Failover": nic_network("Failover"),
            }
            for nic in vm.nics
        ],
    }


#: VPG default (recovery section) → the VM-level setting that follows it
_RECOVERY_DEFAULTS = {
    "DefaultHostIdentifier": "HostIdentifier",
    "DefaultHostClusterIdentifier": "HostClusterIdentifier",
    "DefaultDatastoreIdentifier": "DatastoreIdentifier",
    "DefaultDatastoreClusterIdentifier": "DatastoreClusterIdentifier",
    "DefaultFolderIdentifier": "FolderIdentifier",
    "ResourcePoolIdentifier": "ResourcePoolIdentifier",
}


def propagate_defaults(data: dict[str, Any], key: str, old: Any, new: Any) -> None:
    """A VPG-level default changed: VMs that used the old default follow the new one (a VM
    setting that differs from the default is the VM's own and stays)."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}

    def follow(target: dict[str, Any], field: str, before: Any, after: Any) -> None:
        if isinstance(target, dict) and target.get(field) == before and before != after:
            target[field] = after

    for vm in data.get("Vms") or []:
        if key == "Recovery":
            for default, field in _RECOVERY_DEFAULTS.items():
                follow(vm.get("Recovery") or {}, field, old.get(default), new.get(default))
            before, after = (
                old.get("DefaultDatastoreIdentifier"),
                new.get("DefaultDatastoreIdentifier"),
            )
            for volume in vm.get("Volumes") or []:
                follow(volume.get("Datastore") or {}, "DatastoreIdentifier", before, after)
        elif key == "Networks":
            for kind in ("Failover", "FailoverTest"):
                before = ((old.get(kind) or {}).get("Hypervisor") or {}).get(
                    "DefaultNetworkIdentifier"
                )
                after = ((new.get(kind) or {}).get("Hypervisor") or {}).get(
                    "DefaultNetworkIdentifier"
                )
                for nic in vm.get("Nics") or []:
                    follow(
                        (nic.get(kind) or {}).get("Hypervisor") or {},
                        "NetworkIdentifier",
                        before,
                        after,
                    )
        elif key in ("Journal", "Scratch"):
            target = vm.get(key) or {}
            follow(
                target,
                "DatastoreIdentifier",
                old.get("DatastoreIdentifier"),
                new.get("DatastoreIdentifier"),
            )
            follow(target, "Limitation", old.get("Limitation"), new.get("Limitation"))


def check_basic_ranges(basic: dict[str, Any]) -> None:
    """The ranges the appliance enforces on the basic section."""
    hours = basic.get("JournalHistoryInHours")
    if hours is not None and not 1 <= int(hours) <= 720:
        raise BadRequest(f"JournalHistoryInHours must be between 1 and 720, not {hours}.")
    rpo = basic.get("RpoInSeconds")
    if rpo is not None and not 1 <= int(rpo) <= 86400:
        raise BadRequest(f"RpoInSeconds must be between 1 and 86400, not {rpo}.")
    interval = basic.get("TestIntervalInMinutes")
    if interval is not None and int(interval) < 0:
        raise BadRequest(f"TestIntervalInMinutes must not be negative, not {interval}.")
    priority = basic.get("Priority")
    if priority is not None and str(priority).lower() not in ("low", "medium", "high"):
        raise BadRequest(f"Priority must be Low, Medium or High, not {priority!r}.")


class SettingsService:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.canon = Canonicalizer(sim.document.validator)

    def _expire(self) -> None:
        limit = clock.now() - self.sim.config.settings_ttl_seconds
        with self.sim.store.lock:
            for key in [k for k, r in self.sim.store.settings.items() if r.touched < limit]:
                del self.sim.store.settings[key]

    def get(self, identifier: str) -> SettingsRecord:
        self._expire()
        with self.sim.store.lock:
            record = self.sim.store.settings.get(identifier)
            if record is None:
                raise NotFound(
                    f"VPG settings {identifier} were not found (a settings object is deleted on "
                    "commit and after 30 minutes unused)."
                )
            record.touched = clock.now()
            return record

    def to_json(self, record: SettingsRecord) -> dict[str, Any]:
        return {
            "VpgIdentifier": record.vpg_identifier,
            "VpgSettingsIdentifier": record.identifier,
            **copy.deepcopy(record.data),
        }

    def _canonical(self, body: Any, schema: str) -> dict[str, Any]:
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        result = self.canon.bind(body, schema)
        assert isinstance(result, dict)
        return result

    # -- create, replace, delete ------------------------------------------------------------
    def create(self, request: Request) -> str:
        self._expire()
        body = self._canonical(request.json(), SETTINGS_SCHEMA)
        vpg_id = body.pop("VpgIdentifier", None)
        body.pop("VpgSettingsIdentifier", None)
        if not vpg_id:
            self.sim.require_license("creating a VPG")
        if vpg_id:
            vpg = self.sim.vpgs.get(vpg_id)
            with self.sim.store.lock:
                if any(s.vpg_identifier == vpg_id for s in self.sim.store.settings.values()):
                    raise BadRequest(f"VPG {vpg.name} is already being edited.")
            data = merge(copy.deepcopy(vpg.settings), body)
        else:
            data = merge(default_settings(self.sim.site_identifier), body)
        check_basic_ranges(data.get("Basic") or {})
        record = SettingsRecord(
            str(uuid.uuid4()), vpg_id, data, clock.now(), request.principal or ""
        )
        with self.sim.store.lock:
            self.sim.store.settings[record.identifier] = record
        return record.identifier

    def replace(self, identifier: str, request: Request) -> Response:
        record = self.get(identifier)
        body = self._canonical(request.json(), SETTINGS_SCHEMA)
        body.pop("VpgIdentifier", None)
        body.pop("VpgSettingsIdentifier", None)
        check_basic_ranges(body.get("Basic") or {})
        with self.sim.store.lock:
            for key, value in body.items():
                if key != "Vms":
                    propagate_defaults(record.data, key, record.data.get(key), value)
            record.data.update(body)
        return Response.empty()

    def delete(self, identifier: str) -> Response:
        self.get(identifier)
        with self.sim.store.lock:
            self.sim.store.settings.pop(identifier, None)
        return Response.empty()

    # -- sections ---------------------------------------------------------------------------
    def section(self, identifier: str, name: str) -> Any:
        key, _ = SECTIONS[name]
        return copy.deepcopy(self.get(identifier).data.get(key))

    def put_section(self, identifier: str, name: str, request: Request) -> Response:
        key, schema = SECTIONS[name]
        record = self.get(identifier)
        body = self._canonical(request.json(), schema)
        if key == "Basic":
            check_basic_ranges(body)
        with self.sim.store.lock:
            propagate_defaults(record.data, key, record.data.get(key), body)
            record.data[key] = body
        return Response.empty()

    def reset_section(self, identifier: str, name: str) -> Response:
        key, _ = SECTIONS[name]
        record = self.get(identifier)
        with self.sim.store.lock:
            default = default_section(key, self.sim.site_identifier)
            propagate_defaults(record.data, key, record.data.get(key), default)
            record.data[key] = default
        return Response.empty()

    # -- VMs --------------------------------------------------------------------------------
    def _vms(self, record: SettingsRecord) -> list[dict[str, Any]]:
        vms = record.data.get("Vms")
        if not isinstance(vms, list):
            vms = record.data["Vms"] = []
        return vms

    def _vm(self, record: SettingsRecord, vm_identifier: str) -> dict[str, Any]:
        for entry in self._vms(record):
            if entry.get("VmIdentifier") == vm_identifier:
                return entry
        raise NotFound(f"VM {vm_identifier} is not in VPG settings {record.identifier}.")

    def add_vm(self, identifier: str, request: Request) -> Response:
        record = self.get(identifier)
        body = self._canonical(request.json(), VM_SCHEMA)
        vm_id = body.get("VmIdentifier")
        if not vm_id:
            raise BadRequest("VmIdentifier is required.")
        basic = record.data.get("Basic") or {}
        site = basic.get("ProtectedSiteIdentifier") or self.sim.site_identifier
        inv = self.sim.gateway(site).inventory("full")
        vm = inv.vm(vm_id)
        if vm is None or vm.template or vm.role in APPLIANCE_ROLES:
            raise BadRequest(f"VM {vm_id} was not found at the protected site.")
        with self.sim.store.lock:
            if any(e.get("VmIdentifier") == vm_id for e in self._vms(record)):
                raise BadRequest(f"VM {vm.name} is already in the VPG settings.")
            entry = merge(vm_entry(inv, vm, record.data), body)
            self._vms(record).append(entry)
        return Response.empty()

    def put_vm(self, identifier: str, vm_identifier: str, request: Request) -> Response:
        record = self.get(identifier)
        body = self._canonical(request.json(), VM_SCHEMA)
        body["VmIdentifier"] = vm_identifier
        with self.sim.store.lock:
            entry = self._vm(record, vm_identifier)
            entry.clear()
            entry.update(merge({}, body))
        return Response.empty()

    def delete_vm(self, identifier: str, vm_identifier: str) -> Response:
        record = self.get(identifier)
        with self.sim.store.lock:
            entry = self._vm(record, vm_identifier)
            self._vms(record).remove(entry)
        return Response.empty()

    def _item(self, entry: dict[str, Any], kind: str, key: str, value: str) -> dict[str, Any]:
        for item in entry.get(kind) or []:
            if item.get(key) == value:
                return dict(item)
        raise NotFound(f"{key} {value} was not found.")

    def put_item(
        self, identifier: str, vm_identifier: str, kind: str, value: str, request: Request
    ) -> Response:
        key, schema = (
            ("NicIdentifier", NIC_SCHEMA) if kind == "Nics" else ("VolumeIdentifier", VOLUME_SCHEMA)
        )
        record = self.get(identifier)
        body = self._canonical(request.json(), schema)
        body[key] = value
        with self.sim.store.lock:
            entry = self._vm(record, vm_identifier)
            self._item(entry, kind, key, value)
            entry[kind] = [body if i.get(key) == value else i for i in entry.get(kind) or []]
        return Response.empty()

    def delete_item(self, identifier: str, vm_identifier: str, kind: str, value: str) -> Response:
        key = "NicIdentifier" if kind == "Nics" else "VolumeIdentifier"
        record = self.get(identifier)
        with self.sim.store.lock:
            entry = self._vm(record, vm_identifier)
            self._item(entry, kind, key, value)
            entry[kind] = [i for i in entry.get(kind) or [] if i.get(key) != value]
        return Response.empty()

    # -- commit -----------------------------------------------------------------------------
    def commit(self, identifier: str, request: Request) -> str:
        record = self.get(identifier)
        if record.vpg_identifier is None:
            self.sim.require_license("creating a VPG")
        task = self.sim.vpgs.commit(record, request.principal)
        with self.sim.store.lock:
            self.sim.store.settings.pop(identifier, None)
        return task


def register(router: Router, sim: Simulator) -> None:
    svc = sim.settings
    base = "/v1/vpgSettings/{vpgSettingsIdentifier}"

    def sid(request: Request) -> str:
        return request.param("vpgSettingsIdentifier")

    def list_settings(request: Request) -> Any:
        svc._expire()
        with sim.store.lock:
            return [svc.to_json(r) for r in sim.store.settings.values()]

    router.add("POST", "/v1/vpgSettings", svc.create)
    router.add("GET", "/v1/vpgSettings", list_settings)
    router.add("GET", base, lambda r: svc.to_json(svc.get(sid(r))))
    router.add("PUT", base, lambda r: svc.replace(sid(r), r))
    router.add("DELETE", base, lambda r: svc.delete(sid(r)))
    router.add("POST", base + "/commit", lambda r: svc.commit(sid(r), r))

    def section_routes(name: str) -> None:
        router.add("GET", f"{base}/{name}", lambda r: svc.section(sid(r), name))
        router.add("PUT", f"{base}/{name}", lambda r: svc.put_section(sid(r), name, r))
        router.add("DELETE", f"{base}/{name}", lambda r: svc.reset_section(sid(r), name))

    for name in SECTIONS:
        section_routes(name)
    router.add("POST", f"{base}/ltr", lambda r: svc.put_section(sid(r), "ltr", r))

    vm = base + "/vms/{vmIdentifier}"

    def vm_id(request: Request) -> str:
        return request.param("vmIdentifier")

    def entry(request: Request) -> dict[str, Any]:
        return svc._vm(svc.get(sid(request)), vm_id(request))

    router.add("POST", base + "/vms", lambda r: svc.add_vm(sid(r), r))
    router.add("GET", base + "/vms", lambda r: copy.deepcopy(svc._vms(svc.get(sid(r)))))
    router.add("GET", vm, lambda r: copy.deepcopy(entry(r)))
    router.add("PUT", vm, lambda r: svc.put_vm(sid(r), vm_id(r), r))
    router.add("DELETE", vm, lambda r: svc.delete_vm(sid(r), vm_id(r)))

    def item_routes(kind: str, segment: str, param: str, key: str) -> None:
        item = f"{vm}/{segment}/{{{param}}}"
        router.add("GET", f"{vm}/{segment}", lambda r: copy.deepcopy(entry(r).get(kind) or []))
        router.add("GET", item, lambda r: svc._item(entry(r), kind, key, r.param(param)))
        router.add("PUT", item, lambda r: svc.put_item(sid(r), vm_id(r), kind, r.param(param), r))
        if kind == "Nics":
            router.add(
                "DELETE", item, lambda r: svc.delete_item(sid(r), vm_id(r), kind, r.param(param))
            )

    item_routes("Nics", "nics", "nicIdentifier", "NicIdentifier")
    item_routes("Volumes", "volumes", "volumeIdentifier", "VolumeIdentifier")
