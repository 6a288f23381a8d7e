# Copyright: vmrepl contributors
# Apache License 2.0
"""Virtual Protection Groups as desired state, through the ZVM's vpgSettings workflow.

plan (reads only: the VPG as ``GET /v1/vpgs`` shows it, its VMs from ``GET /v1/vms``, the names
the ZVM knows) → apply: create, or edit in place (open a settings object, compare exactly with
:func:`differences`, PUT the settings, add and remove VMs, commit).

Planning never writes, so check mode and preflight leave the ZVM as they found it. The ZVM only
shows a VPG's full settings through a settings object, which is a write (``POST /v1/vpgSettings``),
so the plan compares what the VPG itself shows (:data:`OBSERVED_FIELDS`: journal history, RPO
alert, priority, and the VMs) and lists the other given fields as *unverified*: they are
compared at apply, on the settings object the edit opens anyway, which is deleted again when
nothing differs.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    NotFound,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    ZvmClient,
    get_path,
    json_field,
    set_path,
    site_id,
)

MAX_VPGS_PER_VM = 3
MAX_DISKS_PER_VM = 60

#: option name → settings path, for every field the module manages.
MANAGED_FIELDS: dict[str, tuple[str, ...]] = {
    "journal_history_hours": ("Basic", "JournalHistoryInHours"),
    "rpo_alert_seconds": ("Basic", "RpoInSeconds"),
    "priority": ("Basic", "Priority"),
    "test_interval_minutes": ("Basic", "TestIntervalInMinutes"),
    "wan_compression": ("Basic", "UseWanCompression"),
    "journal_hard_limit_mb": ("Journal", "Limitation", "HardLimitInMB"),
    "journal_warning_mb": ("Journal", "Limitation", "WarningThresholdInMB"),
    "journal_datastore": ("Journal", "DatastoreIdentifier"),
    "recovery_host": ("Recovery", "DefaultHostIdentifier"),
    "recovery_cluster": ("Recovery", "DefaultHostClusterIdentifier"),
    "recovery_datastore": ("Recovery", "DefaultDatastoreIdentifier"),
    "recovery_folder": ("Recovery", "DefaultFolderIdentifier"),
    "failover_network": ("Networks", "Failover", "Hypervisor", "DefaultNetworkIdentifier"),
    "test_network": ("Networks", "FailoverTest", "Hypervisor", "DefaultNetworkIdentifier"),
}
#: Fields whose value is a name the module resolves to a ZVM identifier, and the kind to look in.
NAMED_FIELDS = {
    "journal_datastore": "datastores",
    "recovery_host": "hosts",
    "recovery_cluster": "hostclusters",
    "recovery_datastore": "datastores",
    "recovery_folder": "folders",
    "failover_network": "networks",
    "test_network": "networks",
}
#: The VPG's priority in ``GET /v1/vpgs`` (an integer) and in the settings (a name).
PRIORITY_NAMES = ("Low", "Medium", "High")
#: Managed fields that ``GET /v1/vpgs`` shows, so that a plan compares them without writing.
OBSERVED_FIELDS = ("journal_history_hours", "rpo_alert_seconds", "priority")
NAME_KEYS = {
    "datastores": ("DatastoreName", "DatastoreIdentifier"),
    "hosts": ("VirtualizationHostName", "HostIdentifier"),
    "hostclusters": ("VirtualizationClusterName", "ClusterIdentifier"),
    "folders": ("FolderName", "FolderIdentifier"),
    "networks": ("VirtualizationNetworkName", "NetworkIdentifier"),
}


# -- desired state, checked strictly and as a whole ------------------------------------------
#: The longest VPG name accepted. The ZVM's OpenAPI document declares no limit; Zerto's
#: documentation gives VPG names up to 80 characters, and vSphere limits inventory names
#: (the test VMs are named after the VMs, not the VPG) to 80 as well: the conservative choice.
VPG_NAME_MAX = 80
#: The longest network (port group) name accepted: vSphere's inventory name limit.
NETWORK_NAME_MAX = 80
#: What a VPG name may hold: letters, digits, space, '.', '_' and '-', starting with a letter
#: or digit. Anything else (``/ $ ( ) < > " ' ; & | * ? \\``, control characters) is refused:
#: VPG names end up in URLs, report file names, shell-quoted pipeline commands and HTML.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]*")
#: A network name may also hold the characters port group names commonly do ('/' excepted).
SAFE_NETWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()+:,-]*")

#: Each key of a VPG definition (vpg.yml's ``vpg_definitions``) and what its value must be.
DEFINITION_KEYS: dict[str, Any] = {
    "name": "str",
    "state": ("present", "absent"),
    "recovery_site": "str",
    "vms": "list",
    "vm_folder": "str",
    "vm_custom_attribute": {"name", "value"},
    "vm_tag": {"category", "name"},
    "domain_controller_attribute": "str",
    "journal_history_hours": "int",
    "rpo_alert_seconds": "int",
    "priority": ("Low", "Medium", "High"),
    "test_interval_minutes": "int",
    "wan_compression": "bool",
    "journal_hard_limit_mb": "int",
    "journal_warning_mb": "int",
    "journal_datastore": "str",
    "recovery_host": "str",
    "recovery_cluster": "str",
    "recovery_datastore": "str",
    "recovery_folder": "str",
    "failover_network": "str",
    "test_network": "str",
    "keep_recovery_volumes": "bool",
}
#: option → (lowest, highest or None), as the ZVM and the provider's rules allow.
RANGES: dict[str, tuple[int, int | None]] = {
    "journal_history_hours": (1, 720),
    "rpo_alert_seconds": (1, None),
    "test_interval_minutes": (0, None),
    "journal_hard_limit_mb": (8192, None),
    "journal_warning_mb": (1, None),
}
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def check_name(name: Any, where: str, what: str = "name", limit: int = VPG_NAME_MAX) -> list[str]:
    """Problems with a VPG (or, with ``limit`` NETWORK_NAME_MAX, a network) name. Pure."""
    pattern = SAFE_NAME if limit == VPG_NAME_MAX else SAFE_NETWORK_NAME
    if not isinstance(name, str) or not name.strip():
        return [f"{where}: {what} must be a non-empty string"]
    problems = []
    if len(name) > limit:
        problems.append(f"{where}: {what} is {len(name)} characters long; at most {limit}")
    if not pattern.fullmatch(name):
        bad = sorted({c for c in name if not pattern.fullmatch("a" + c)} or {name[0]})
        shown = " ".join(repr(c) for c in bad)
        allowed = (
            "letters, digits, space, '.', '_', '-'"
            if pattern is SAFE_NAME
            else "letters, digits, space and . _ - ( ) + : ,"
        )
        problems.append(
            f"{where}: {what} {name[:40]!r} holds {shown}: only {allowed} (starting with a "
            "letter or digit)"
        )
    return problems


def _coerce(kind: Any, value: Any) -> tuple[Any, str | None]:
    """``value`` as ``kind`` wants it, or the reason it cannot be. Pure."""
    if kind == "str":
        if isinstance(value, str) and value.strip():
            return value, None
        return value, "must be a non-empty string"
    if kind == "int":
        if isinstance(value, bool):
            return value, "must be a whole number, not a boolean"
        if isinstance(value, int):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value), None
        return value, "must be a whole number"
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE, None
        return value, "must be true or false"
    if kind == "list":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
            return value, None
        return value, "must be a list of VM names"
    if isinstance(kind, tuple):
        for choice in kind:
            if str(value).lower() == choice.lower():
                return choice, None
        return value, f"must be one of {', '.join(kind)}"
    if isinstance(kind, set):
        if not isinstance(value, Mapping):
            return value, f"must be a mapping with {' and '.join(sorted(kind))}"
        unknown = sorted(set(value) - kind)
        missing = sorted(kind - set(value))
        if unknown:
            known = ", ".join(sorted(kind))
            return value, f"has unknown key(s) {', '.join(unknown)} (known: {known})"
        if missing:
            return value, f"needs {', '.join(missing)}"
        if not all(isinstance(v, str) and v for v in value.values()):
            return value, "values must be non-empty strings"
        return dict(value), None
    raise AssertionError(kind)


def check_fields(values: Mapping[str, Any], where: str) -> list[str]:
    """Range and consistency problems of the managed fields given (None: not given). Pure."""
    problems = []
    for option, (low, high) in RANGES.items():
        value = values.get(option)
        if value is None or isinstance(value, bool) or not isinstance(value, int):
            continue
        if value < low or (high is not None and value > high):
            span = f"{low} to {high}" if high is not None else f"at least {low}"
            problems.append(f"{where}: {option} must be {span}, not {value}")
    hard, warning = values.get("journal_hard_limit_mb"), values.get("journal_warning_mb")
    if isinstance(hard, int) and isinstance(warning, int) and warning >= hard:
        problems.append(
            f"{where}: journal_warning_mb ({warning}) must be below journal_hard_limit_mb ({hard})"
        )
    if values.get("recovery_host") and values.get("recovery_cluster"):
        problems.append(f"{where}: give recovery_host or recovery_cluster, not both")
    for option in ("failover_network", "test_network"):
        if isinstance(values.get(option), str):
            problems += check_name(values[option], where, option, NETWORK_NAME_MAX)
    return problems


def check_definition(entry: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    """One VPG definition, with its values coerced, and its problems (each naming ``where``
    and the key). Unknown keys are refused, with the nearest known key. Pure."""
    if not isinstance(entry, Mapping):
        return {}, [f"{where}: must be a mapping (name, vms, ...), not {type(entry).__name__}"]
    name = entry.get("name")
    label = f"{where} (VPG {name!r})" if isinstance(name, str) and name and where else where
    label = label or f"VPG {name!r}"
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in DEFINITION_KEYS:
            near = difflib.get_close_matches(str(key), DEFINITION_KEYS, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            problems.append(f"{label}: unknown key {key!r}{hint}")
            continue
        if value is None:
            continue
        clean[key], problem = _coerce(DEFINITION_KEYS[key], value)
        if problem:
            problems.append(f"{label}: {key} {problem}, not {value!r}"[:300])
    if "name" not in entry:
        problems.append(f"{label}: name is required")
    elif isinstance(clean.get("name"), str):
        problems += check_name(clean["name"], label)
    problems += check_fields(clean, label)
    return clean, problems


def check_definitions(definitions: Any, variable: str = "vpg_definitions") -> list[dict[str, Any]]:
    """The whole list of VPG definitions, checked before anything is read or changed: each
    entry against :data:`DEFINITION_KEYS` and :data:`RANGES`, names unique. Raises
    ConfigurationError listing every problem, each naming the entry and the key. Pure."""
    if not isinstance(definitions, list) or not definitions:
        raise ConfigurationError(
            f"{variable} must list the VPGs (each a mapping with a name and its VMs).",
            hint="Nothing was changed.",
        )
    problems: list[str] = []
    clean = []
    seen: dict[str, int] = {}  # lower-case name → first index
    for index, entry in enumerate(definitions):
        where = f"{variable}[{index}]"
        values, found = check_definition(entry, where)
        problems += found
        clean.append(values)
        name = values.get("name")
        if isinstance(name, str):
            if name.lower() in seen:
                first = f"{variable}[{seen[name.lower()]}]"
                problems.append(f"{where}: VPG {name!r} is defined twice (also {first})")
            seen.setdefault(name.lower(), index)
    if problems:
        raise ConfigurationError(
            f"{variable}: {len(problems)} problem(s): " + "; ".join(problems) + ".",
            hint="Nothing was changed.",
            details={"problems": problems},
        )
    return clean


# -- settings objects: every one we open is closed ---------------------------------------------
def state_dir() -> Path:
    """Where the controller keeps what must survive a run: ``$VMREPL_STATE_DIR``, else
    ``$XDG_STATE_HOME/vmrepl`` (``~/.local/state/vmrepl``)."""
    explicit = os.environ.get("VMREPL_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vmrepl"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SettingsLedger:
    """The settings objects this controller opened and has not closed: a JSON file (one entry
    per object: site, settings id, VPG id, purpose, host and process that opened it), written
    before an object is changed and cleared when it is committed or deleted.

    The clean-up rule (:meth:`stale`): an entry is ours and abandoned when it was opened on
    this machine by a process that no longer runs; only such objects are deleted by a later
    run. An object opened by a running process (another run at work), on another machine, or
    not in the ledger at all (opened outside vmrepl, or in the instant between the ZVM's answer
    and the ledger's write) is never touched - the ZVM deletes it 30 minutes after its last
    use."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "vpg-settings.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                entries = json.loads(self.path.read_text()) if self.path.exists() else []
            except ValueError:
                entries = []
            if not isinstance(entries, list):
                entries = []
            before = list(entries)
            yield entries
            if entries != before:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(entries, indent=1))
                os.replace(tmp, self.path)

    def add(self, site: str, settings_id: str, vpg_id: str | None, purpose: str) -> None:
        with self._locked() as entries:
            entries.append(
                {
                    "site": site,
                    "settings_id": settings_id,
                    "vpg_id": vpg_id,
                    "purpose": purpose,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "opened": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )

    def remove(self, settings_id: str) -> None:
        with self._locked() as entries:
            entries[:] = [e for e in entries if e.get("settings_id") != settings_id]

    def save_restore(self, site: str, vpg_id: str, restore: dict[str, Any]) -> None:
        """Keep what a VPG's settings must be given back (a failover test's network) until
        :meth:`clear_restore`: a run that cannot restore them leaves it to the next run."""
        with self._locked() as entries:
            if not any(
                e.get("restore") is not None and (e["site"], e["vpg_id"]) == (site, vpg_id)
                for e in entries
            ):
                entries.append({"site": site, "vpg_id": vpg_id, "restore": restore})

    def pending_restore(self, site: str, vpg_id: str) -> dict[str, Any] | None:
        with self._locked() as entries:
            for e in entries:
                if e.get("restore") is not None and (e["site"], e["vpg_id"]) == (site, vpg_id):
                    return dict(e["restore"])
        return None

    def clear_restore(self, site: str, vpg_id: str) -> None:
        with self._locked() as entries:
            entries[:] = [
                e
                for e in entries
                if not (e.get("restore") is not None and (e["site"], e["vpg_id"]) == (site, vpg_id))
            ]

    def stale(self, site: str) -> list[dict[str, Any]]:
        """The entries of ``site`` that are provably ours and abandoned (see the class)."""
        with self._locked() as entries:
            here = socket.gethostname()
            return [
                dict(e)
                for e in entries
                if e.get("site") == site
                and e.get("settings_id")
                and e.get("host") == here
                and isinstance(e.get("pid"), int)
                and not _alive(e["pid"])
            ]


class OpenSettings:
    """One settings object we opened; a context manager that deletes it on the way out unless
    it was committed. :meth:`commit` deletes it when the ZVM refuses the commit."""

    def __init__(self, zvm: ZvmClient, ledger: SettingsLedger, site: str, settings_id: str):
        self.zvm, self.ledger, self.site, self.id = zvm, ledger, site, settings_id
        self.closed = False

    def __enter__(self) -> OpenSettings:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.closed:
            self.discard()

    def commit(self) -> str:
        try:
            task = self.zvm.vpg_settings_commit(self.id)
        except VmreplError:
            self.discard()
            raise
        self.closed = True  # the ZVM deletes a settings object on commit
        self.ledger.remove(self.id)
        return task

    def discard(self) -> bool:
        """Delete the object; False when that failed (the ledger keeps it for a later run)."""
        try:
            self.zvm.vpg_settings_delete(self.id)
        except NotFound:
            pass
        except VmreplError:
            return False
        self.closed = True
        self.ledger.remove(self.id)
        return True


def clean_up_settings(zvm: ZvmClient, site: str, ledger: SettingsLedger) -> list[str]:
    """Delete the settings objects an interrupted run of ours left at ``site`` (see
    :class:`SettingsLedger` for the rule); returns their ids."""
    cleaned = []
    for entry in ledger.stale(site):
        settings_id = str(entry["settings_id"])
        try:
            zvm.vpg_settings_delete(settings_id)
        except NotFound:
            pass
        except VmreplError:
            continue
        ledger.remove(settings_id)
        cleaned.append(settings_id)
    return cleaned


def open_settings(
    zvm: ZvmClient,
    site: str,
    vpg_id: str | None,
    purpose: str,
    ledger: SettingsLedger | None = None,
) -> OpenSettings:
    """Clean up what interrupted runs left at ``site``, then open a settings object (for
    ``vpg_id``, or a new VPG) and record it in the ledger before anything else happens."""
    ledger = ledger or SettingsLedger()
    clean_up_settings(zvm, site, ledger)
    settings_id = zvm.vpg_settings_create(vpg_id)
    # Without a ledger (read-only home) the object is still closed on every path of this run.
    with contextlib.suppress(OSError):
        ledger.add(site, settings_id, vpg_id, purpose)
    return OpenSettings(zvm, ledger, site, settings_id)


@dataclass
class VpgSpec:
    """The desired VPG. ``fields`` holds option name → value (names, not identifiers) for the
    options that were given; the others are left as the ZVM has them."""

    name: str
    vms: list[str]
    fields: dict[str, Any]
    recovery_site: str | None = None  # identifier; None: the local site (local edition)


@dataclass
class Names:
    """Name ↔ identifier tables of one site, by kind."""

    by_kind: dict[str, dict[str, str]] = field(default_factory=dict)

    def identifier(self, kind: str, name: str, option: str) -> str:
        table = self.by_kind.get(kind, {})
        if name in table:
            return table[name]
        if name in table.values():  # an identifier given as is
            return name
        known = ", ".join(sorted(table)) or "none"
        raise ConfigurationError(
            f"{option}: {name!r} is not known at the recovery site.", hint=f"Known: {known}."
        )

    def name(self, kind: str, identifier: Any) -> Any:
        for name, ident in self.by_kind.get(kind, {}).items():
            if ident == identifier:
                return name
        return identifier


def desired_values(spec: VpgSpec, names: Names) -> dict[str, Any]:
    """The managed fields as the settings object must hold them (names → identifiers)."""
    values: dict[str, Any] = {}
    for option, value in spec.fields.items():
        if value is None:
            continue
        kind = NAMED_FIELDS.get(option)
        values[option] = names.identifier(kind, value, option) if kind else value
    return values


def differences(
    settings: dict[str, Any] | None,
    desired: dict[str, Any],
    current_vms: set[str],
    desired_vms: set[str],
) -> dict[str, tuple[Any, Any]]:
    """option → (current, desired) for every managed field that differs, and ``vms``. Pure."""
    diff: dict[str, tuple[Any, Any]] = {}
    for option, value in desired.items():
        current = get_path(settings, MANAGED_FIELDS[option]) if settings else None
        same_priority = option == "priority" and str(current).lower() == str(value).lower()
        if current != value and not same_priority:
            diff[option] = (current, value)
    if current_vms != desired_vms:
        diff["vms"] = (sorted(current_vms), sorted(desired_vms))
    return diff


def protectability(
    vm: dict[str, Any],
    memberships: Mapping[str, tuple[str, str]],
    recovery_site: str,
    dc_marked: bool,
) -> str | None:
    """Why a VM cannot be protected by a VPG that recovers to ``recovery_site``, or None.
    ``vm`` holds ``disks`` (list of dicts with ``rdm`` and ``multi_writer``) as discovery reports
    them; ``memberships`` is the VM's other VPGs: VPG name → (recovery site id, site name). A VM
    may be in at most 3 VPGs, each to a different recovery site (the ZVM enforces it at commit).
    Pure."""
    disks = vm.get("disks", [])
    if dc_marked:
        return "marked as an Active Directory domain controller (not protectable)"
    if any(d.get("rdm") for d in disks):
        return "has an RDM disk (not protectable)"
    if any(d.get("multi_writer") for d in disks):
        return "has a multi-writer disk (not protectable)"
    if len(disks) > MAX_DISKS_PER_VM:
        return f"has {len(disks)} disks; at most {MAX_DISKS_PER_VM} can be protected"
    for vpg, (site, site_name) in sorted(memberships.items()):
        if site == recovery_site:
            return (
                f"is already recovered to site {site_name or site} by VPG {vpg}; each VPG of a "
                "VM must recover to a different site"
            )
    if len(memberships) >= MAX_VPGS_PER_VM:
        return (
            f"is already in {len(memberships)} VPGs ({', '.join(sorted(memberships))}); a VM "
            f"can be in at most {MAX_VPGS_PER_VM}"
        )
    return None


def observed(vpg: Mapping[str, Any]) -> dict[str, Any]:
    """The managed fields as ``GET /v1/vpgs`` shows them (:data:`OBSERVED_FIELDS`). Pure."""
    values: dict[str, Any] = {}
    minutes = json_field(vpg, "HistoryStatusApi", "ConfiguredHistoryInMinutes")
    if isinstance(minutes, int | float):
        values["journal_history_hours"] = int(minutes // 60) if minutes % 60 == 0 else minutes / 60
    rpo = json_field(vpg, "ConfiguredRpoSeconds")
    if rpo is not None:
        values["rpo_alert_seconds"] = rpo
    priority = json_field(vpg, "Priority")
    if isinstance(priority, int) and 0 <= priority < len(PRIORITY_NAMES):
        values["priority"] = PRIORITY_NAMES[priority]
    elif isinstance(priority, str):
        values["priority"] = priority
    return values


def planned_differences(
    vpg: Mapping[str, Any] | None,
    desired: dict[str, Any],
    current_vms: set[str],
    desired_vms: set[str],
) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """What a plan can tell from reads alone: the differences (as :func:`differences`), and
    the given options it cannot compare without a settings object (checked at apply). A new
    VPG (``vpg`` None) differs in every given field. Pure."""
    if vpg is None:
        return differences(None, desired, current_vms, desired_vms), []
    seen = observed(vpg)
    comparable = {o: v for o, v in desired.items() if o in seen}
    diff = differences({}, {}, current_vms, desired_vms)
    for option, value in comparable.items():
        current = seen[option]
        same_priority = option == "priority" and str(current).lower() == str(value).lower()
        if current != value and not same_priority:
            diff[option] = (current, value)
    unverified = sorted(o for o in desired if o not in seen)
    return diff, unverified


def readable(
    diff: dict[str, tuple[Any, Any]], names: Names, vm_ids: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The differences with names instead of identifiers, for people. Pure."""
    vm_names = {ident: name for name, ident in vm_ids.items()}
    changes: dict[str, dict[str, Any]] = {}
    for option, (old, new) in diff.items():
        if option == "vms":
            changes[option] = {
                "before": sorted(vm_names.get(i, i) for i in old),
                "after": sorted(vm_names.get(i, i) for i in new),
            }
        elif option in NAMED_FIELDS:
            kind = NAMED_FIELDS[option]
            changes[option] = {"before": names.name(kind, old), "after": names.name(kind, new)}
        else:
            changes[option] = {"before": old, "after": new}
    return changes


@dataclass
class VpgState:
    """The VPG as ``GET /v1/vpgs`` shows it (None: it does not exist) and its VMs."""

    vpg: dict[str, Any] | None
    vms: dict[str, str]  # VM name → identifier, in the VPG now


@dataclass
class VpgPlan:
    """What a run does to one VPG, from reads only: ``changes`` (option → before/after, in
    names) is empty when what can be read is as desired; ``unverified`` names the given options
    that only a settings object shows, compared at apply."""

    spec: VpgSpec
    state: VpgState
    desired: dict[str, Any]
    vm_ids: dict[str, str]
    names: Names
    changes: dict[str, dict[str, Any]]
    unverified: list[str] = field(default_factory=list)
    deferred: dict[str, str] = field(default_factory=dict)  # VM → why it waits for a later run

    @property
    def needs_apply(self) -> bool:
        """Whether apply has anything to do or to check (a VPG none of whose VMs can be
        protected yet is not created empty)."""
        if self.state.vpg is None and not self.spec.vms:
            return False
        return bool(self.changes or self.unverified)


class VpgManager:
    def __init__(
        self, zvm: ZvmClient, timeout: float = 1800.0, ledger: SettingsLedger | None = None
    ) -> None:
        self.zvm = zvm
        self.timeout = timeout
        self.ledger = ledger or SettingsLedger()
        site = zvm.local_site()
        self.local_site = site_id(site)

    def names(self, site_id: str) -> Names:
        tables = Names()
        for kind, (name_key, id_key) in NAME_KEYS.items():
            tables.by_kind[kind] = {
                str(json_field(o, name_key)): str(json_field(o, id_key))
                for o in self.zvm.site_objects(site_id, kind)
            }
        return tables

    def vm_identifiers(self) -> tuple[dict[str, str], dict[str, dict[str, tuple[str, str]]]]:
        """VM name → ZVM identifier at the protected (local) site, protected or not, and each
        VM identifier's VPGs: VPG name → (recovery site id, recovery site name)."""
        table = {
            str(json_field(v, "VmName")): str(json_field(v, "VmIdentifier"))
            for v in self.zvm.site_objects(self.local_site, "vms")
        }
        memberships: dict[str, dict[str, tuple[str, str]]] = {}
        for vm in self.zvm.vms():
            ident = str(json_field(vm, "VmIdentifier"))
            table.setdefault(str(json_field(vm, "VmName")), ident)
            site = str(json_field(json_field(vm, "RecoverySite") or {}, "identifier") or "")
            memberships.setdefault(ident, {})[str(json_field(vm, "VpgName"))] = (
                site,
                str(json_field(vm, "RecoverySiteName") or ""),
            )
        return table, memberships

    def vra_hosts(self) -> set[str]:
        """The hosts of this site that have an installed VRA (protection needs one)."""
        return {
            str(json_field(v, "HostDisplayName"))
            for v in self.zvm.vras()
            if json_field(v, "Status") == 0
        }

    def find(self, name: str) -> dict[str, Any] | None:
        return next((v for v in self.zvm.vpgs() if json_field(v, "VpgName") == name), None)

    def read(self, name: str) -> VpgState:
        """The VPG and its VMs, from GET calls only."""
        vpg = self.find(name)
        if vpg is None:
            return VpgState(None, {})
        vms = {
            str(json_field(v, "VmName")): str(json_field(v, "VmIdentifier"))
            for v in self.zvm.vms(vpg_name=name)
            if json_field(v, "VpgName") in (None, name)
        }
        return VpgState(vpg, vms)

    def apply(self, plan: VpgPlan) -> dict[str, dict[str, Any]]:
        """Create the VPG, or edit it in place, as planned; returns the changes made (empty
        when the settings object shows that nothing differs: it is deleted again)."""
        spec, state, desired, vm_ids = plan.spec, plan.state, plan.desired, plan.vm_ids
        wanted = {vm_ids[name] for name in spec.vms}
        vpg_id = str(json_field(state.vpg, "VpgIdentifier")) if state.vpg is not None else None
        purpose = f"vmrepl vpg {spec.name}"
        # Closed on every path: committed, or deleted (also when the ZVM refuses the commit);
        # a delete that fails leaves it in the ledger for the next run to clean up.
        with open_settings(self.zvm, self.local_site, vpg_id, purpose, self.ledger) as opened:
            settings = self.zvm.vpg_settings_get(opened.id)
            if state.vpg is None:
                set_path(settings, ("Basic", "Name"), spec.name)
                set_path(settings, ("Basic", "ProtectedSiteIdentifier"), self.local_site)
                set_path(
                    settings,
                    ("Basic", "RecoverySiteIdentifier"),
                    spec.recovery_site or self.local_site,
                )
                changes = plan.changes
            else:
                in_vpg = {
                    str(json_field(v, "VmIdentifier")) for v in json_field(settings, "Vms") or []
                }
                diff = differences(settings, desired, in_vpg, wanted)
                if not diff:
                    return {}
                changes = readable(diff, plan.names, vm_ids)
            for option, value in desired.items():
                set_path(settings, MANAGED_FIELDS[option], value)
            # The VM list is changed through its own endpoints, not through the PUT.
            keep = [
                v
                for v in json_field(settings, "Vms") or []
                if json_field(v, "VmIdentifier") in wanted
            ]
            set_path(settings, ("Vms",), keep)
            self.zvm.vpg_settings_put(opened.id, settings)
            present = {str(json_field(v, "VmIdentifier")) for v in keep}
            for ident in sorted(wanted - present):
                self.zvm.vpg_settings_add_vm(opened.id, ident)
            task = opened.commit()
        self.zvm.wait_for_task(task, timeout=self.timeout)
        return changes

    def delete(self, state: VpgState, keep_recovery_volumes: bool) -> None:
        if state.vpg is None:
            return
        task = self.zvm.delete_vpg(
            str(json_field(state.vpg, "VpgIdentifier")), keep_recovery_volumes=keep_recovery_volumes
        )
        if task:
            self.zvm.wait_for_task(str(task), timeout=self.timeout)

    def plan(
        self,
        spec: VpgSpec,
        chosen: list[dict[str, Any]],
        dc_attribute: str,
        vras_required: bool = True,
        released: dict[str, set[str]] | None = None,
        skipped_hosts: dict[str, str] | None = None,
    ) -> VpgPlan:
        """Read the VPG (GET calls only) and compare it with ``spec``; refuse, before any
        change, VMs that cannot be protected (``chosen`` are the VMs as discovery reports them).
        With ``vras_required`` false (check mode: the same run may install them) a VM's host is
        not required to have a VRA yet. ``released`` names, by VM, the VPGs that the same run
        takes the VM out of before this one. A VM that runs on one of ``skipped_hosts`` (host →
        reason: maintenance mode, disconnected) and is not in the VPG yet waits for a later run
        (``deferred``) instead of refusing the VPG; one that is in it stays."""
        recovery_site = spec.recovery_site or self.local_site
        names = self.names(recovery_site)
        desired = desired_values(spec, names)
        vm_ids, memberships = self.vm_identifiers()
        vra_hosts = self.vra_hosts()
        state = self.read(spec.name)
        deferred = {
            vm["name"]: f"runs on host {vm['host']}, {(skipped_hosts or {})[vm['host']]}"
            for vm in chosen
            if vm["host"] in (skipped_hosts or {}) and vm["name"] not in state.vms
        }
        if deferred:
            chosen = [vm for vm in chosen if vm["name"] not in deferred]
            spec = replace(spec, vms=[n for n in spec.vms if n not in deferred])
        refused = {}
        for vm in chosen:
            if vm["name"] in state.vms:
                continue
            dc = vm["custom_attributes"].get(dc_attribute, "")
            others = {
                vpg: site
                for vpg, site in memberships.get(vm_ids.get(vm["name"], ""), {}).items()
                if vpg != spec.name and vpg not in (released or {}).get(vm["name"], set())
            }
            reason = protectability(vm, others, recovery_site, dc.lower() == "true")
            if reason is None and vm["name"] not in vm_ids:
                reason = "is not known to the ZVM of the protected site"
            if reason is None and vras_required and vm["host"] not in vra_hosts:
                reason = (
                    f"runs on host {vm['host']}, which has no installed VRA (a host in "
                    "maintenance mode or disconnected is skipped; run again when it is back)"
                )
            if reason:
                refused[vm["name"]] = reason
        if refused:
            raise ConfigurationError(
                f"VPG {spec.name}: {len(refused)} VM(s) cannot be protected: "
                + "; ".join(f"{n} {r}" for n, r in sorted(refused.items())),
                hint="Leave them out of the VPG; nothing was changed.",
                details={"refused": refused},
            )
        diff, unverified = planned_differences(
            state.vpg, desired, set(state.vms.values()), {vm_ids[n] for n in spec.vms}
        )
        changes = readable(diff, names, vm_ids)
        if state.vpg is None:
            changes = {"vpg": {"before": None, "after": spec.name}, **changes} if spec.vms else {}
        return VpgPlan(spec, state, desired, vm_ids, names, changes, unverified, deferred)

    def recovery_site_id(self, wanted: str | None, edition: str) -> str:
        """The recovery site: the local site (local edition), or the named / only paired peer."""
        if edition == "local":
            return self.local_site
        # A peer still pairing has no identifier yet: it is no recovery site.
        peers = [peer for peer in self.zvm.peer_sites() if site_id(peer)]
        if wanted:
            for peer in peers:
                ident = site_id(peer)
                if wanted in (ident, json_field(peer, "PeerSiteName")):
                    return ident
            raise NotFound(
                f"recovery_site {wanted!r} is not a peer of this site.",
                hint="Pair the sites first (pair_sites.yml).",
            )
        if len(peers) != 1:
            raise ConfigurationError(
                f"This site has {len(peers)} peer sites; name the recovery_site.",
                hint="Pair the sites first (pair_sites.yml)." if not peers else None,
            )
        return site_id(peers[0])


# -- a whole file of definitions: check all, plan all (reads only), then apply ----------------
@dataclass
class DefinitionPlan:
    """One definition of a file, planned: a VPG to bring to its definition (``plan``), to
    delete (``delete``: its state), or nothing to do; ``result`` is what the run reports."""

    definition: dict[str, Any]
    result: dict[str, Any]
    plan: VpgPlan | None = None
    delete: VpgState | None = None


def plan_definitions(
    manager: VpgManager,
    definitions: list[dict[str, Any]],
    choose: Any,
    edition: str,
    check_mode: bool,
    variable: str = "vpg_definitions",
    dc_attribute: str = "vmrepl.domain_controller",
) -> list[DefinitionPlan]:
    """Plan every definition (already checked by :func:`check_definitions`) from reads only;
    raises ConfigurationError naming each entry that cannot be planned, before any change.
    ``choose(definition)`` returns the VMs (as discovery reports them) a definition chooses."""
    plans: list[DefinitionPlan] = []
    problems: list[str] = []
    # VM name → the VPGs that earlier definitions of the file take it out of (regrouping VMs:
    # a VM may move from one VPG to another listed after it).
    released: dict[str, set[str]] = {}
    for index, item in enumerate(definitions):
        name = item["name"]
        where = f"{variable}[{index}] (VPG {name!r})"
        result: dict[str, Any] = {"name": name, "changed": False, "changes": {}, "vms": []}
        try:
            if item.get("state", "present") == "absent":
                state = manager.read(name)
                result["changed"] = state.vpg is not None
                if state.vpg is not None:
                    result["changes"] = {"vpg": {"before": name, "after": None}}
                result["msg"] = f"VPG {name}: " + (
                    ("would be deleted" if check_mode else "deleted")
                    if state.vpg is not None
                    else "absent already"
                )
                plans.append(DefinitionPlan(item, result, delete=state))
                for vm_name in state.vms:
                    released.setdefault(vm_name, set()).add(name)
                continue
            if edition == "local" and item.get("recovery_site"):
                raise ConfigurationError(
                    "recovery_site is for the remote edition; the local edition recovers to "
                    "this site"
                )
            chosen = choose(item)
            if not chosen:
                raise ConfigurationError(
                    "no VMs chosen: give vms, vm_folder, vm_custom_attribute or vm_tag that "
                    "match VMs"
                )
            spec = VpgSpec(
                name=name,
                vms=[vm["name"] for vm in chosen],
                fields={option: item.get(option) for option in MANAGED_FIELDS},
                recovery_site=manager.recovery_site_id(item.get("recovery_site"), edition),
            )
            plan = manager.plan(
                spec,
                chosen,
                item.get("domain_controller_attribute") or dc_attribute,
                vras_required=not check_mode,
                released=released,
            )
            for vm_name in set(plan.state.vms) - set(spec.vms):
                released.setdefault(vm_name, set()).add(name)
        except ConfigurationError as exc:
            problems.append(f"{where}: {exc.message}")
            continue
        fields = f" ({', '.join(plan.changes)})" if plan.changes else ""
        result.update(
            changed=bool(plan.changes),
            changes=plan.changes,
            vms=spec.vms,
            unverified=plan.unverified,
            msg=f"VPG {name}: {'would change' if plan.changes else 'no change'}{fields}"
            + (f"; {', '.join(plan.unverified)} checked at apply" if plan.unverified else ""),
        )
        plans.append(DefinitionPlan(item, result, plan=plan))
    if problems:
        raise ConfigurationError(
            f"{variable}: {len(problems)} VPG(s) cannot be planned: " + "; ".join(problems) + ".",
            hint="Nothing was changed.",
            details={"problems": problems},
        )
    return plans


def apply_definitions(
    manager: VpgManager, plans: list[DefinitionPlan], keep_recovery_volumes: bool = False
) -> list[dict[str, Any]]:
    """Carry out planned definitions in order; a failure stops the run, and the error's
    details say which VPGs were changed before it (``vpgs``, ``changed``)."""
    done: list[dict[str, Any]] = []
    for item in plans:
        result = item.result
        try:
            if item.delete is not None:
                manager.delete(
                    item.delete, item.definition.get("keep_recovery_volumes", keep_recovery_volumes)
                )
            elif item.plan is not None:
                changes = manager.apply(item.plan) if item.plan.needs_apply else {}
                created = item.plan.state.vpg is None
                fields = f" ({', '.join(changes)})" if changes else ""
                verb = ("created" if created else "updated") if changes else "no change"
                result.update(
                    changed=bool(changes),
                    changes=changes,
                    msg=f"VPG {result['name']}: {verb}{fields}",
                )
        except VmreplError as exc:
            exc.details.update(
                vpgs=done, changed=any(r["changed"] for r in done), failed_vpg=result["name"]
            )
            exc.message = f"VPG {result['name']}: {exc.message}" + (
                f" (changed before it: {', '.join(r['name'] for r in done if r['changed'])})"
                if any(r["changed"] for r in done)
                else ""
            )
            raise
        done.append(result)
    return done


# -- the module's edge: one VPG, or a file of definitions, as ``_module.ensure`` takes it -------
def check_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """The module's options, checked before anything is read: ``definitions`` as
    :func:`check_definitions` checks (and coerces) them, or the options of one VPG (``name``)
    the same way, with what the argument spec cannot declare. Raises ConfigurationError naming
    the option or the entry and key (a refusal)."""
    if params.get("definitions") is not None:
        return {
            **params,
            "definitions": check_definitions(params["definitions"], params["variable"]),
        }
    given = {k: params[k] for k in DEFINITION_KEYS if k in params and params[k] is not None}
    _, problems = check_definition(given, "")
    if params.get("edition") == "local" and params.get("recovery_site"):
        problems.append(
            "recovery_site is for the remote edition; the local edition recovers to this site"
        )
    if problems:
        raise ConfigurationError("; ".join(problems) + ".", details={"problems": problems})
    return dict(params)


def vm_chooser(vc: Any) -> Callable[[Mapping[str, Any]], list[dict[str, Any]]]:
    """``choose(definition)``: the VMs (as discovery reports them) that a definition (or the
    module's options) chooses by ``vms``, ``vm_folder``, ``vm_custom_attribute`` and ``vm_tag``;
    the VMs are read once."""
    from ansible_collections.vmrepl.core.plugins.module_utils.discovery import discover_vms
    from ansible_collections.vmrepl.core.plugins.module_utils.selection import chosen_vms

    vms = discover_vms(vc)

    def choose(item: Mapping[str, Any]) -> list[dict[str, Any]]:
        return chosen_vms(vc, vms, item, "vm_", "vms")

    return choose


def _pairs(changes: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[Any, Any]]:
    """Readable changes (option → {before, after}) in the one change shape (before, after)."""
    return {option: (v["before"], v["after"]) for option, v in changes.items()}


def _diff(changes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {side: {k: v[side] for k, v in changes.items()} for side in ("before", "after")}


@dataclass
class VpgRun:
    """One VPG (option ``name``) as the module's edge takes it: to bring to ``plan``, to delete
    (``delete``: the VPG as read), or - in check mode of a first deployment, when the pairing
    before it only "would" happen - to create once the sites are paired (``unpaired``: the VMs
    chosen). ``changes`` are the planned ones; :meth:`apply` returns the ones made (with the
    diff), which differ when the apply compares fields that only a settings object shows."""

    name: str
    manager: VpgManager | None
    check_mode: bool
    plan: VpgPlan | None = None
    delete: VpgState | None = None
    unpaired: list[str] | None = None
    keep_recovery_volumes: bool = False

    @property
    def readable(self) -> dict[str, dict[str, Any]]:
        """The changes as the module returns them (option → {before, after}, names)."""
        if self.plan is not None:
            return self.plan.changes
        if self.delete is not None:
            return {"vpg": {"before": self.name, "after": None}} if self.delete.vpg else {}
        return {"vpg": {"before": None, "after": self.name}}

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        return _pairs(self.readable)

    @property
    def needs_apply(self) -> bool:
        return self.plan.needs_apply if self.plan is not None else bool(self.changes)

    @property
    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"changes": self.readable, "vms": [], "vpg": None}
        if self.plan is not None:
            facts.update(
                vms=self.plan.spec.vms, vpg=self.plan.state.vpg, deferred=self.plan.deferred
            )
            if self.check_mode:
                facts["unverified"] = self.plan.unverified
        elif self.unpaired is not None:
            facts["vms"] = self.unpaired
        return facts

    def _deferred(self) -> str:
        deferred = self.plan.deferred if self.plan is not None else {}
        if not deferred:
            return ""
        return "; left for a later run: " + "; ".join(
            f"{vm} {why}" for vm, why in sorted(deferred.items())
        )

    def summary(self, check_mode: bool) -> str:
        name, changes = self.name, self.readable
        if self.delete is not None:
            if not changes:
                return f"VPG {name}: absent already"
            return f"VPG {name}: {'would be deleted' if check_mode else 'deleted'}"
        if self.plan is None:
            return f"VPG {name}: would be created once the sites are paired"
        fields = f" ({', '.join(changes)})" if changes else ""
        if check_mode:
            msg = f"VPG {name}: {'would change' if changes else 'no change'}{fields}"
            if self.plan.unverified:
                msg += f"; {', '.join(self.plan.unverified)} would be checked at apply"
        else:
            msg = f"VPG {name}: no change"
        return msg + self._deferred()

    def apply(self) -> dict[str, Any]:
        if self.manager is None:
            raise ConfigurationError(f"VPG {self.name}: the sites are not paired yet.")
        if self.delete is not None:
            self.manager.delete(self.delete, self.keep_recovery_volumes)
            return {"msg": f"VPG {self.name}: deleted"}
        assert self.plan is not None
        changes = self.manager.apply(self.plan)
        created = self.plan.state.vpg is None
        fields = f" ({', '.join(changes)})" if changes else ""
        verb = ("created" if created else "updated") if changes else "no change"
        return {
            "changed": bool(changes),
            "changes": changes,
            "vpg": self.manager.find(self.name) if changes else self.plan.state.vpg,
            "diff": _diff(changes),
            "msg": f"VPG {self.name}: {verb}{fields}{self._deferred()}",
        }


def vpg_run(manager: VpgManager, vc: Any, params: Mapping[str, Any], check_mode: bool) -> VpgRun:
    """Plan the VPG of the module's options (``name``; reads only): refuses, before any change,
    a VPG that chooses no VM or VMs that cannot be protected."""
    name = params["name"]
    if params["state"] == "absent":
        return VpgRun(
            name,
            manager,
            check_mode,
            delete=VpgState(manager.find(name), {}),
            keep_recovery_volumes=params["keep_recovery_volumes"],
        )
    chosen = vm_chooser(vc)(params)
    if not chosen:
        raise ConfigurationError(
            f"VPG {name}: no VMs chosen.",
            hint="Give vms, vm_folder, vm_custom_attribute or vm_tag that match VMs.",
        )
    try:
        recovery_site = manager.recovery_site_id(params["recovery_site"], params["edition"])
    except ConfigurationError:
        if not (check_mode and manager.find(name) is None):
            raise
        # Check mode of a first deployment: the pairing before this step only "would" happen,
        # so the recovery site cannot be read yet.
        return VpgRun(name, None, check_mode, unpaired=[vm["name"] for vm in chosen])
    spec = VpgSpec(
        name=name,
        vms=[vm["name"] for vm in chosen],
        fields={option: params[option] for option in MANAGED_FIELDS},
        recovery_site=recovery_site,
    )
    plan = manager.plan(
        spec,
        chosen,
        params["domain_controller_attribute"],
        vras_required=not check_mode,
        skipped_hosts=params["skipped_hosts"],
    )
    return VpgRun(name, manager, check_mode, plan=plan)


@dataclass
class DefinitionsRun:
    """A file of definitions (option ``definitions``) as the module's edge takes it: every VPG
    planned (reads only), applied in order by :meth:`apply`."""

    manager: VpgManager
    plans: list[DefinitionPlan]
    keep_recovery_volumes: bool = False

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        results = [item.result for item in self.plans]
        return {
            r["name"]: (_diff(r["changes"])["before"], _diff(r["changes"])["after"])
            for r in results
            if r["changes"]
        }

    @property
    def needs_apply(self) -> bool:
        return any(
            (item.delete is not None and item.delete.vpg is not None)
            or (item.plan is not None and item.plan.needs_apply)
            for item in self.plans
        )

    @property
    def facts(self) -> dict[str, Any]:
        return {"vpgs": [item.result for item in self.plans]}

    def summary(self, check_mode: bool) -> str:
        return "; ".join(item.result["msg"] for item in self.plans)

    def apply(self) -> dict[str, Any]:
        results = apply_definitions(self.manager, self.plans, self.keep_recovery_volumes)
        return {
            "changed": any(r["changed"] for r in results),
            "vpgs": results,
            "msg": "; ".join(r["msg"] for r in results),
            "diff": {
                side: {r["name"]: _diff(r["changes"])[side] for r in results if r["changes"]}
                for side in ("before", "after")
            },
        }


def definitions_run(
    manager: VpgManager, vc: Any, params: Mapping[str, Any], check_mode: bool
) -> DefinitionsRun:
    """Plan every VPG of the definitions (checked by :func:`check_options`; reads only)."""
    plans = plan_definitions(
        manager,
        params["definitions"],
        vm_chooser(vc),
        params["edition"],
        check_mode,
        params["variable"],
        params["domain_controller_attribute"],
    )
    return DefinitionsRun(manager, plans, params["keep_recovery_volumes"])
