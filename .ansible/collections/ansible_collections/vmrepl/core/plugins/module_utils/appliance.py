# Copyright: vmrepl contributors
# Apache License 2.0
"""The appliance service: read -> compare -> act for a VM deployed from an OVF package.

Built on the vSphere client and the OVF import (:mod:`.clients.ovf`); no Ansible imports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    NotFound,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.ovf import (
    OVF_VM_PROPERTIES,
    OvfImportTarget,
    OvfPackage,
    check_properties,
    import_ovf,
    mask_properties,
    wait_for_vm_ip,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    ManagedObject,
    VSphereClient,
    fault_message,
    moid,
)

with contextlib.suppress(ImportError):  # reported by the modules (vsphere.HAS_PYVMOMI)
    from pyVmomi import vim, vmodl


@dataclass(frozen=True)
class OvfVmSpec:
    """The desired state of a VM deployed from an OVF package."""

    name: str
    datacenter: str
    ovf: str | None = None
    datastore: str | None = None
    cluster: str | None = None
    host: str | None = None
    network: str | None = None
    folder: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict, repr=False)
    secret_properties: frozenset[str] = frozenset()
    power_on: bool = True
    wait_for_ip: bool = True
    wait_timeout: float = 600.0


@dataclass
class OvfVmResult:
    changed: bool
    msg: str
    actions: list[str]
    vm: dict[str, Any] | None
    before: dict[str, Any]
    after: dict[str, Any]


def ensure_ovf_vm(
    client: VSphereClient,
    spec: OvfVmSpec,
    *,
    state: str = "present",
    check_mode: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> OvfVmResult:
    """Read -> compare -> act for a VM deployed from an OVF. A VM of that name in the datacenter
    counts as deployed: it is not re-imported nor reconfigured, only powered on if wanted. In
    check mode everything is resolved and validated, and nothing is changed. vCenter faults
    become :class:`VmreplError`."""
    try:
        return _ensure_ovf_vm(client, spec, state, check_mode, on_progress)
    except vmodl.MethodFault as exc:
        raise VmreplError(
            f"vCenter refused an operation for VM {spec.name}: {fault_message(exc)} "
            f"({type(exc).__name__.split('.')[-1]})."
        ) from exc


def _ensure_ovf_vm(
    client: VSphereClient,
    spec: OvfVmSpec,
    state: str,
    check_mode: bool,
    on_progress: Callable[[int], None] | None,
) -> OvfVmResult:
    datacenter = client.find_by_name(vim.Datacenter, spec.datacenter)
    existing = _find_vm(client, datacenter.ref, spec.name)
    if state == "absent":
        if existing is None:
            gone = {"name": spec.name, "state": "absent"}
            return OvfVmResult(False, f"VM {spec.name} is absent.", [], None, gone, gone)
        facts = _ovf_vm_facts(client, existing)
        if not check_mode:
            client.destroy([existing.ref])
        msg = f"{'Would remove' if check_mode else 'Removed'} VM {spec.name}."
        return OvfVmResult(
            True,
            msg,
            ["remove"],
            facts,
            _current_view(facts, spec),
            {"name": spec.name, "state": "absent"},
        )
    if existing is not None:
        return _ensure_existing(client, spec, existing, check_mode)
    return _deploy(client, spec, datacenter, check_mode, on_progress)


def _ensure_existing(
    client: VSphereClient, spec: OvfVmSpec, existing: ManagedObject, check_mode: bool
) -> OvfVmResult:
    facts = _ovf_vm_facts(client, existing)
    before = _current_view(facts, spec)
    actions = []
    if spec.power_on and facts["power_state"] != "poweredOn":
        actions.append("power on")
        if not check_mode:
            client.wait_for_tasks(client.power_on([existing.ref]))
    if spec.power_on and spec.wait_for_ip and not check_mode:
        facts["ip_address"] = wait_for_vm_ip(client, existing.ref, spec.wait_timeout)
    if actions and not check_mode:
        ip_address = facts["ip_address"]
        facts = _ovf_vm_facts(client, client.retrieve_objects([existing.ref], OVF_VM_PROPERTIES)[0])
        facts["ip_address"] = facts["ip_address"] or ip_address
    after = dict(before, power_state="poweredOn") if actions else before
    if actions:
        msg = f"{'Would power' if check_mode else 'Powered'} on VM {spec.name}, deployed before."
    else:
        msg = (
            f"VM {spec.name} is deployed already (host {facts['host']}, datastore "
            f"{before['datastore']}); nothing imported."
        )
    return OvfVmResult(bool(actions), msg, actions, facts, before, after)


def _deploy(
    client: VSphereClient,
    spec: OvfVmSpec,
    datacenter: ManagedObject,
    check_mode: bool,
    on_progress: Callable[[int], None] | None,
) -> OvfVmResult:
    if not spec.ovf or not spec.datastore or not (spec.cluster or spec.host):
        raise ConfigurationError("Deploying needs an OVF, a datastore, and a cluster or host.")
    # Resolve and validate everything before changing anything (in check mode too).
    with OvfPackage(spec.ovf) as package:
        check_properties(package.descriptor, spec.properties)
        target = _import_target(client, spec, datacenter, package.descriptor.networks)
        secret = set(spec.secret_properties) | package.descriptor.password_keys
        before = {"name": spec.name, "state": "absent"}
        after = {
            "name": spec.name,
            "state": "present",
            "ovf": str(package.path),
            "datacenter": spec.datacenter,
            **({"cluster": spec.cluster} if spec.cluster else {"host": spec.host}),
            "datastore": spec.datastore,
            "network": spec.network,
            "folder": spec.folder,
            "power_state": "poweredOn" if spec.power_on else "poweredOff",
            "properties": mask_properties(spec.properties, secret),
        }
        actions = ["import"] + (["power on"] if spec.power_on else [])
        if check_mode:
            return OvfVmResult(
                True,
                f"Would deploy VM {spec.name} from {package.path.name}.",
                actions,
                None,
                before,
                after,
            )
        vm = import_ovf(
            client, package, spec.name, target, spec.properties, on_progress=on_progress
        )
    if spec.power_on:
        client.wait_for_tasks(client.power_on([vm]))
    obj = client.retrieve_objects([vm], OVF_VM_PROPERTIES)[0]
    facts = _ovf_vm_facts(client, obj)
    if spec.power_on and spec.wait_for_ip:
        facts["ip_address"] = wait_for_vm_ip(client, vm, spec.wait_timeout)
    return OvfVmResult(
        True, f"Deployed VM {spec.name} from {Path(spec.ovf).name}.", actions, facts, before, after
    )


def _find_vm(client: VSphereClient, datacenter: Any, name: str) -> ManagedObject | None:
    found = [
        vm
        for vm in client.retrieve(vim.VirtualMachine, OVF_VM_PROPERTIES, datacenter)
        if vm["name"] == name
    ]
    if len(found) > 1:
        raise ConfigurationError(
            f"{len(found)} VMs are named {name!r} in the datacenter "
            f"({', '.join(vm.moid for vm in found)}).",
            hint="Rename or remove the extra ones; the module manages one VM per name.",
        )
    return found[0] if found else None


def _ovf_vm_facts(client: VSphereClient, vm: ManagedObject) -> dict[str, Any]:
    host = vm["runtime.host"]
    names = {
        o.moid: o["name"]
        for o in client.retrieve_objects([host] if host is not None else [], ["name"])
    }
    names.update(
        {o.moid: o["name"] for o in client.retrieve_objects(vm["datastore"] or [], ["name"])}
    )
    return {
        "name": vm["name"],
        "moid": vm.moid,
        "instance_uuid": vm["config.instanceUuid"],
        "power_state": str(vm["runtime.powerState"]),
        "host": names.get(moid(host)) if host is not None else None,
        "datastores": [names.get(moid(d)) for d in vm["datastore"] or []],
        "ip_address": vm["guest.ipAddress"],
        "tools_running_status": vm["guest.toolsRunningStatus"],
    }


def _current_view(facts: Mapping[str, Any], spec: OvfVmSpec) -> dict[str, Any]:
    return {
        "name": facts["name"],
        "state": "present",
        "datacenter": spec.datacenter,
        "host": facts["host"],
        "datastore": ", ".join(d for d in facts["datastores"] if d),
        "power_state": facts["power_state"],
    }


def _import_target(
    client: VSphereClient, spec: OvfVmSpec, datacenter: ManagedObject, networks: Sequence[str]
) -> OvfImportTarget:
    dc = datacenter.ref
    datastore = client.find_by_name(vim.Datastore, spec.datastore or "", dc)
    network = client.find_by_name(vim.Network, spec.network, dc) if spec.network else None
    host = None
    if spec.host:
        host_obj = client.retrieve_objects(
            [client.find_by_name(vim.HostSystem, spec.host, dc).ref],
            ["name", "parent", "datastore", "network"],
        )[0]
        if datastore.moid not in {moid(d) for d in host_obj["datastore"] or []}:
            raise ConfigurationError(
                f"Datastore {spec.datastore} is not mounted on host {spec.host}."
            )
        if network is not None and network.moid not in {moid(n) for n in host_obj["network"] or []}:
            raise ConfigurationError(
                f"Network {spec.network} is not available on host {spec.host}."
            )
        host = host_obj.ref
        pool = host_obj["parent"].resourcePool
    else:
        cluster = client.find_by_name(vim.ClusterComputeResource, spec.cluster or "", dc)
        pool = cluster.ref.resourcePool
    folder = _vm_folder(client, dc, spec.folder, spec.datacenter)
    mapping = {name: network.ref for name in networks} if network is not None else {}
    return OvfImportTarget(pool, datastore.ref, folder, host, mapping)


def _vm_folder(client: VSphereClient, datacenter: Any, path: str | None, dc_name: str) -> Any:
    """The VM folder at ``path`` (``a/b``, or ``/<datacenter>/vm/a/b``) below the datacenter's
    VM folder; the VM folder itself when no path is given."""
    root = datacenter.vmFolder
    parts = [p for p in (path or "").split("/") if p]
    if parts[:2] == [dc_name, "vm"]:
        parts = parts[2:]
    if not parts:
        return root
    folders = client.retrieve(vim.Folder, ["name", "parent"], root)
    node, node_id = root, moid(root)
    for part in parts:
        match = [f for f in folders if f["name"] == part and moid(f["parent"]) == node_id]
        if not match:
            raise NotFound(f"No VM folder {path!r} in datacenter {dc_name}.")
        node, node_id = match[0].ref, match[0].moid
    return node
