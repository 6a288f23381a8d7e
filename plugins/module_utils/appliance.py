# Copyright: vmrepl contributors
# Apache License 2.0
"""The appliance service: read -> compare -> act for a VM deployed from an OVF package.

Built on the vSphere client and the OVF import (:mod:`.clients.ovf`); no Ansible imports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    NotFound,
    TaskTimeout,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.ovf import (
    OVF_VM_PROPERTIES,
    OvfImportTarget,
    OvfPackage,
    check_properties,
    import_ovf,
    looks_secret,
    mask_properties,
    wait_for_vm_ip,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    ManagedObject,
    VSphereClient,
    fault_message,
    moid,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until

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

    @property
    def secret_values(self) -> list[str]:
        """The values of the secret properties (never to be shown)."""
        return [self.properties[k] for k in sorted(self.secret_properties) if self.properties[k]]


def ovf_vm_options(required: bool = False) -> dict[str, Any]:
    """The module options of a VM deployed from an OVF package, as :func:`spec_from_params`
    reads them (the VM's name and placement apart); ``required``: O(ovf), O(datastore) and
    O(network) are required (otherwise only with O(state=present), by ``required_if``)."""
    needed = {"required": True} if required else {}
    return {
        "ovf": {"type": "path", "aliases": ["ova"], **needed},
        "datacenter": {"type": "str", "required": True},
        "datastore": {"type": "str", **needed},
        "network": {"type": "str", **needed},
        "folder": {"type": "str"},
        "properties": {"type": "dict", "default": {}},
        "admin_password": {"type": "str", "no_log": True},
        "admin_password_property": {"type": "str", "default": "admin_password", "no_log": False},
        "power_on": {"type": "bool", "default": True},
        "wait_for_ip": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 600},
    }


def spec_from_params(p: Mapping[str, Any]) -> OvfVmSpec:
    """The spec from the module's options: properties as the strings OVF takes (booleans as
    ``true``/``false``), O(admin_password) as its property, and every property that is or
    looks like a credential marked secret (masked in the diff and results)."""
    properties = {
        str(k): str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in (p["properties"] or {}).items()
    }
    secret = {k for k in properties if looks_secret(k)}
    if p["admin_password"] is not None:
        properties[p["admin_password_property"]] = p["admin_password"]
        secret.add(p["admin_password_property"])
    return OvfVmSpec(
        name=p["name"],
        datacenter=p["datacenter"],
        ovf=p["ovf"],
        datastore=p["datastore"],
        cluster=p["cluster"],
        host=p["host"],
        network=p["network"],
        folder=p["folder"],
        properties=properties,
        secret_properties=frozenset(secret),
        power_on=p["power_on"],
        wait_for_ip=p["wait_for_ip"],
        wait_timeout=p["wait_timeout"],
    )


def wait_for_api(
    answers: Callable[[], bool | None], url: str, timeout: float, interval: float = 5.0
) -> bool:
    """Poll ``answers`` (True once the appliance's API at ``url`` answers, None while it does
    not) until it answers; TaskTimeout after ``timeout`` seconds."""
    return bool(
        poll_until(
            answers,
            timeout=timeout,
            interval=interval,
            timeout_error=lambda: TaskTimeout(
                f"The appliance's API at {url} did not answer within {timeout:g} s.",
                hint="Check the appliance console, its address and the firewall; "
                "first boot can take several minutes (raise wait_timeout).",
            ),
        )
    )


def api_ready(vm: Mapping[str, Any] | None, p: Mapping[str, Any]) -> bool | None:
    """zvm_appliance's ``api_ready``: with O(api_url), once the appliance is present and
    powered on, wait until its API answers (True; TaskTimeout after O(wait_timeout)); None
    without O(api_url) or a running appliance. In check mode too: an appliance that is
    running already may still be booting, and waiting for it changes nothing."""
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import api_answers

    url = p["api_url"]
    if not (url and p["state"] == "present" and vm and vm["power_state"] == "poweredOn"):
        return None
    return wait_for_api(
        lambda: api_answers(url, p["api_validate_certs"], p["api_ca_file"]),
        url,
        p["wait_timeout"],
    )


@dataclass
class OvfVmResult:
    changed: bool
    msg: str
    actions: list[str]
    vm: dict[str, Any] | None
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class OvfVmPlan:
    """What a run does to the VM, from reads only (everything resolved and validated: the
    datacenter, cluster or host, datastore, network, folder, the OVF and its properties), as
    the module's edge takes it (``_module.ensure``): ``changes`` (the fields of the VM's view
    that differ, secrets masked), ``facts``, the message and :meth:`apply`."""

    client: VSphereClient = field(repr=False)
    spec: OvfVmSpec
    state: str
    before: dict[str, Any]
    after: dict[str, Any]
    actions: list[str]
    vm: dict[str, Any] | None = None  # the VM's facts as read; None when it is to be deployed
    existing: ManagedObject | None = field(default=None, repr=False)
    target: OvfImportTarget | None = field(default=None, repr=False)
    package_name: str = ""
    on_progress: Callable[[int], None] | None = field(default=None, repr=False)

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        """``vm``: the VM's view before and after (name, state, placement, power state, and
        for a deployment the OVF and its properties, secrets masked), when they differ."""
        return {"vm": (self.before, self.after)} if self.before != self.after else {}

    @property
    def needs_apply(self) -> bool:
        """Actions to take, or (a VM deployed before and to be on) its address to wait for."""
        waits = self.state == "present" and self.spec.power_on and self.spec.wait_for_ip
        return bool(self.actions) or (self.existing is not None and waits)

    @property
    def facts(self) -> dict[str, Any]:
        return {"actions": self.actions, "vm": self.vm}

    def summary(self, check_mode: bool) -> str:
        name = self.spec.name
        if self.state == "absent":
            if not self.actions:
                return f"VM {name} is absent."
            return f"{'Would remove' if check_mode else 'Removed'} VM {name}."
        if self.existing is None:
            return (
                f"{'Would deploy' if check_mode else 'Deployed'} VM {name} from "
                + (self.package_name)
                + "."
            )
        if self.actions:
            return f"{'Would power' if check_mode else 'Powered'} on VM {name}, deployed before."
        return (
            f"VM {name} is deployed already (host {self.vm and self.vm['host']}, datastore "
            f"{self.before['datastore']}); nothing imported."
        )

    def apply(self) -> dict[str, Any]:
        """Carry out the plan; the VM's facts after it (before its removal), the message, and
        ``changed``. vCenter faults become :class:`VmreplError`."""
        try:
            vm = self._apply()
        except vmodl.MethodFault as exc:
            raise _refused(self.spec, exc) from exc
        return {"changed": bool(self.actions), "vm": vm, "msg": self.summary(False)}

    def _apply(self) -> dict[str, Any] | None:
        client, spec = self.client, self.spec
        if self.state == "absent":
            assert self.existing is not None
            client.destroy([self.existing.ref])
            return self.vm
        if self.existing is not None:
            return self._ensure_existing(self.existing, dict(self.vm or {}))
        assert self.target is not None and spec.ovf
        with OvfPackage(spec.ovf) as package:
            check_properties(package.descriptor, spec.properties)
            ref = import_ovf(
                client,
                package,
                spec.name,
                self.target,
                spec.properties,
                on_progress=self.on_progress,
            )
        if spec.power_on:
            client.wait_for_tasks(client.power_on([ref]))
        facts = _ovf_vm_facts(client, client.retrieve_objects([ref], OVF_VM_PROPERTIES)[0])
        if spec.power_on and spec.wait_for_ip:
            facts["ip_address"] = wait_for_vm_ip(client, ref, spec.wait_timeout)
        return facts

    def _ensure_existing(self, existing: ManagedObject, facts: dict[str, Any]) -> dict[str, Any]:
        client, spec = self.client, self.spec
        if self.actions:
            client.wait_for_tasks(client.power_on([existing.ref]))
        if spec.power_on and spec.wait_for_ip:
            facts["ip_address"] = wait_for_vm_ip(client, existing.ref, spec.wait_timeout)
        if self.actions:
            ip_address = facts["ip_address"]
            obj = client.retrieve_objects([existing.ref], OVF_VM_PROPERTIES)[0]
            facts = _ovf_vm_facts(client, obj)
            facts["ip_address"] = facts["ip_address"] or ip_address
        return facts


def _refused(spec: OvfVmSpec, exc: Exception) -> VmreplError:
    return VmreplError(
        f"vCenter refused an operation for VM {spec.name}: {fault_message(exc)} "
        f"({type(exc).__name__.split('.')[-1]})."
    )


def plan_ovf_vm(
    client: VSphereClient,
    spec: OvfVmSpec,
    *,
    state: str = "present",
    on_progress: Callable[[int], None] | None = None,
) -> OvfVmPlan:
    """Read -> compare for a VM deployed from an OVF (reads only). A VM of that name in the
    datacenter counts as deployed: it is not re-imported nor reconfigured, only powered on if
    wanted. vCenter faults become :class:`VmreplError`."""
    try:
        return _plan_ovf_vm(client, spec, state, on_progress)
    except vmodl.MethodFault as exc:
        raise _refused(spec, exc) from exc


def ensure_ovf_vm(
    client: VSphereClient,
    spec: OvfVmSpec,
    *,
    state: str = "present",
    check_mode: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> OvfVmResult:
    """Plan (:func:`plan_ovf_vm`), then - unless in check mode - apply; for callers without
    the module's edge (the lab)."""
    plan = plan_ovf_vm(client, spec, state=state, on_progress=on_progress)
    vm, msg = plan.vm, plan.summary(check_mode)
    if plan.needs_apply and not check_mode:
        applied = plan.apply()
        vm, msg = applied["vm"], applied["msg"]
    return OvfVmResult(bool(plan.actions), msg, plan.actions, vm, plan.before, plan.after)


def _plan_ovf_vm(
    client: VSphereClient,
    spec: OvfVmSpec,
    state: str,
    on_progress: Callable[[int], None] | None,
) -> OvfVmPlan:
    datacenter = client.find_by_name(vim.Datacenter, spec.datacenter)
    existing = _find_vm(client, datacenter.ref, spec.name)
    gone = {"name": spec.name, "state": "absent"}
    if state == "absent":
        if existing is None:
            return OvfVmPlan(client, spec, state, gone, gone, [])
        facts = _ovf_vm_facts(client, existing)
        before = _current_view(facts, spec)
        return OvfVmPlan(client, spec, state, before, gone, ["remove"], facts, existing)
    if existing is not None:
        facts = _ovf_vm_facts(client, existing)
        before = _current_view(facts, spec)
        actions = ["power on"] if spec.power_on and facts["power_state"] != "poweredOn" else []
        after = dict(before, power_state="poweredOn") if actions else before
        return OvfVmPlan(client, spec, state, before, after, actions, facts, existing)
    if not spec.ovf or not spec.datastore or not (spec.cluster or spec.host):
        raise ConfigurationError("Deploying needs an OVF, a datastore, and a cluster or host.")
    # Resolve and validate everything before changing anything (in check mode too).
    with OvfPackage(spec.ovf) as package:
        check_properties(package.descriptor, spec.properties)
        target = _import_target(client, spec, datacenter, package.descriptor.networks)
        secret = set(spec.secret_properties) | package.descriptor.password_keys
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
        name = package.path.name
    actions = ["import"] + (["power on"] if spec.power_on else [])
    return OvfVmPlan(
        client, spec, state, gone, after, actions, None, None, target, name, on_progress
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
