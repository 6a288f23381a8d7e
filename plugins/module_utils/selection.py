# Copyright: vmrepl contributors
# Apache License 2.0
"""Choosing hosts and VMs: the options that choose them, as one argument spec (documented once,
by the ``vmrepl.core.selection`` doc fragment), and the reads that apply them.

Hosts are chosen by cluster, custom attribute, name and vSphere tag (a host must match every
selection given); VMs by name, folder, custom attribute and tag (the VMs matching any of them).
A module names its options with a prefix (``host_``, ``vm_``): ``host_selection_spec("host_")``
gives ``clusters``, ``host_custom_attribute``, ``host_names`` and ``host_tag``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.discovery import (
    choose_hosts,
    choose_vms,
    tagged_objects,
)


def _pair(first: str, second: str) -> dict[str, Any]:
    required = {"type": "str", "required": True}
    return {"type": "dict", "options": {first: dict(required), second: dict(required)}}


def _names() -> dict[str, Any]:
    return {"type": "list", "elements": "str", "default": []}


def host_selection_spec(prefix: str = "") -> dict[str, Any]:
    """``clusters``, ``{prefix}custom_attribute``, ``{prefix}names``, ``{prefix}tag``."""
    return {
        "clusters": _names(),
        f"{prefix}custom_attribute": _pair("name", "value"),
        f"{prefix}names": _names(),
        f"{prefix}tag": _pair("category", "name"),
    }


def vm_selection_spec(prefix: str = "", names: str = "names") -> dict[str, Any]:
    """``{names}``, ``{prefix}folder``, ``{prefix}custom_attribute``, ``{prefix}tag``."""
    return {
        names: _names(),
        f"{prefix}folder": {"type": "str"},
        f"{prefix}custom_attribute": _pair("name", "value"),
        f"{prefix}tag": _pair("category", "name"),
    }


def tagged(client: Any, params: Mapping[str, Any], option: str, kind: str) -> set[str] | None:
    """The moref ids of the objects of ``kind`` carrying the tag of option ``option`` (None
    when the option is not given)."""
    return tagged_objects(client, params.get(option), kind)


def chosen_hosts(
    client: Any, hosts: list[dict[str, Any]], params: Mapping[str, Any], prefix: str = ""
) -> tuple[list[str], dict[str, str]]:
    """(the chosen hosts in service, {chosen host: why it is out of service})."""
    return choose_hosts(
        hosts,
        params.get("clusters") or [],
        params.get(f"{prefix}custom_attribute"),
        params.get(f"{prefix}names") or [],
        tagged(client, params, f"{prefix}tag", "HostSystem"),
    )


def vms_chosen_by(params: Mapping[str, Any], prefix: str = "", names: str = "names") -> bool:
    """Whether any option that chooses VMs is given."""
    return any(params.get(o) for o in (names, *(prefix + k for k in VM_KEYS)))


VM_KEYS = ("folder", "custom_attribute", "tag")


def chosen_vms(
    client: Any,
    vms: list[dict[str, Any]],
    params: Mapping[str, Any],
    prefix: str = "",
    names: str = "names",
) -> list[dict[str, Any]]:
    """The VMs named (each must exist), plus those of the folder, those carrying the custom
    attribute and those carrying the tag."""
    return choose_vms(
        vms,
        params.get(names) or [],
        params.get(f"{prefix}folder"),
        params.get(f"{prefix}custom_attribute"),
        tagged(client, params, f"{prefix}tag", "VirtualMachine"),
    )


# -- the services of hypervisor_info and vm_info ------------------------------------------------
def hypervisors(client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """hypervisor_info's result: every host, datastore and network of the vCenter, and the
    hosts the options choose (those out of service apart, with the reason). A cluster that is
    not in the vCenter is refused (NotFound), naming the clusters it has."""
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import NotFound
    from ansible_collections.vmrepl.core.plugins.module_utils.discovery import discover

    site = discover(client)
    known = {h["cluster"] for h in site.hosts}
    missing = [c for c in params.get("clusters") or [] if c not in known]
    if missing:
        raise NotFound(
            f"clusters: {', '.join(missing)} not found in vCenter {params['hostname']}; "
            f"it has {', '.join(sorted(c for c in known if c)) or 'no clusters'}."
        )
    chosen, skipped = chosen_hosts(client, site.hosts, params)
    return {
        "changed": False,
        "chosen": chosen,
        "skipped_hosts": skipped,
        "hosts": site.hosts,
        "datastores": site.datastores,
        "networks": site.networks,
        "calls": client.calls,
        "msg": f"{len(chosen)} host(s) chosen, {len(skipped)} skipped, "
        f"of {len(site.hosts)} in vCenter.",
    }


def virtual_machines(client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """vm_info's result: the VMs of the vCenter (templates left out), or those the options
    choose when any is given."""
    from ansible_collections.vmrepl.core.plugins.module_utils.discovery import discover_vms

    vms = discover_vms(client)
    if vms_chosen_by(params):
        vms = chosen_vms(client, vms, params)
    return {"changed": False, "vms": vms, "calls": client.calls, "msg": f"{len(vms)} VM(s)."}
