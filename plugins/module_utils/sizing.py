# Copyright: vmrepl contributors
# Apache License 2.0
"""sizing_info's service: the write rates read (from the protected VMs' performance history in
vCenter, or from the ZVM's counters), the recovery cluster's capacity, and the sizing report
of ``vmrepl.sizing`` (the Python package on the controller, with the vmrepl command).

The clients come from the module's edge as factories, so that a connection is opened only for
what the options ask. No Ansible imports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    Refused,
)

try:
    from vmrepl import sizing as _sizing

    HAS_VMREPL = True
except ImportError:  # pragma: no cover - the controller has it with the vmrepl command
    HAS_VMREPL = False

Connect = Callable[[], AbstractContextManager[Any]]


def size(
    p: Mapping[str, Any], *, vcenter: Connect, recovery_vcenter: Connect, zvm: Connect
) -> dict[str, Any]:
    """sizing_info's result from its options: ``vcenter`` connects to the protected site's
    vCenter, ``recovery_vcenter`` to the recovery site's (O(recovery)), ``zvm`` to the ZVM of
    O(zvm_connection). Input the sizing refuses is Refused (``refused: ...``)."""
    if not HAS_VMREPL:
        raise ConfigurationError(
            "The vmrepl Python package is missing on the controller: pip install it."
        )
    from vmrepl.sizing import report
    from vmrepl.sizing import vcenter as vc_source
    from vmrepl.sizing import zvm as zvm_source

    try:
        params = _sizing.Parameters(**p["parameters"])
    except TypeError as exc:
        raise ConfigurationError(f"parameters: {exc}; see the module's documentation.") from None
    try:
        selections = [
            vc_source.Selection.from_dict(v, f"vpgs[{i}]") for i, v in enumerate(p["vpgs"])
        ]
        measured = None
        reading: Any
        if p["source"] == "zvm":
            if not p["zvm_connection"]:
                raise Refused("refused: source zvm needs the zvm_connection option.")
            with zvm() as client:
                reading = zvm_source.read(
                    client, [s.vpg for s in selections], p["zvm_reads"], p["zvm_spacing_seconds"]
                )
            measured = reading.measured
        else:
            with vcenter() as client:
                reading = vc_source.read(client, selections, p["window_hours"])
        capacity = None
        recovery = p["recovery"]
        if recovery:
            with recovery_vcenter() as target:
                capacity = vc_source.capacity(target, recovery["cluster"], recovery["datastores"])
        doc = report.build(reading, params, capacity, measured)
    except _sizing.SizingError as exc:
        raise Refused(f"refused: {exc}") from None
    return {"changed": False, "sizing": doc, "msg": message(doc, reading, p)}


def message(doc: Mapping[str, Any], reading: Any, p: Mapping[str, Any]) -> str:
    """The sizing in a sentence: journals, WAN, where the rates came from, whether it fits."""
    fit = ""
    target = doc["target"]
    if target:
        short = ", ".join(f"{k} {v:g}" for k, v in target["short"].items())
        fit = (
            f" The failover fits {target['cluster']}."
            if target["fits"]
            else f" The failover does NOT fit {target['cluster']}: short {short}."
        )
    source = (
        f" ({reading.query_perf_calls} QueryPerf call(s))."
        if p["source"] == "vcenter"
        else f" (from {p['zvm_reads']} reads of the ZVM's counters)."
    )
    return (
        f"{len(doc['vms'])} VM(s): journals {doc['journal_total_gb']:.1f} GB, "
        f"WAN {doc['wan_mbps']:.1f} Mb/s" + source + fit
    )
