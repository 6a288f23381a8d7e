# Copyright: vmrepl contributors
# Apache License 2.0
"""The rolling VRA upgrade of one site: the outdated VRAs only (a VRA's ``VraVersion`` older
than the site's ``Version``: an inference, the API has no "outdated" flag whose values are
named), in batches (per cluster or N hosts), a tagged checkpoint on every VPG before the first
batch, ``POST /v1/vras/{id}/upgrade`` for each VRA of a batch with their tasks polled together,
and after each batch the VPGs back to MeetingSLA and out of their sync substatuses (names read
from ``/v1/vpgs/substatuses``) before the next, with a timeout.

Never ``PUT /v1/vras/clusters/{id}``: that upgrades a whole cluster at once.

The first failure stops the roll; the error says where (host, batch) and what is upgraded and
what is left. A re-run continues: it selects the VRAs that are still outdated. Pure planning
(``outdated``, ``batches``, ``sla_problems``) is separate from the calls, for the unit tests."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    OperationFailed,
    Refused,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    VpgStatus,
    code_name,
    json_field,
    site_id,
    task_summary,
)

#: substatus names that mean the VPG is still catching up (``/v1/vpgs/substatuses``)
SYNC_SUBSTATUSES = frozenset(
    {
        "InitialSync",
        "VolumeInitialSync",
        "Sync",
        "DeltaSync",
        "FullSync",
        "VolumeDeltaSync",
        "VolumeFullSync",
        "BitmapSync",
    }
)
#: VPG states the gate does not wait for (they do not replicate through the VRAs)
IGNORED_STATUSES = frozenset({VpgStatus.Recovered, VpgStatus.Deleting})
_VERSION = re.compile(r"^\d+(\.\d+)*$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def version_key(version: Any) -> tuple[int, ...]:
    text = str(version or "").strip()
    if not _VERSION.match(text):
        return ()
    return tuple(int(part) for part in text.split("."))


def parse_batch_size(value: Any) -> int | str:
    """``cluster`` (one batch per cluster) or a whole number of hosts >= 1."""
    text = str(value).strip().lower()
    if text == "cluster":
        return "cluster"
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ConfigurationError(
        f"upgrade_batch_size must be 'cluster' or a whole number of hosts >= 1, not {value!r}."
    )


def checkpoint_name(request_ref: str) -> str:
    """The tagged checkpoint of an upgrade: ``pre-upgrade-<request ref>``."""
    ref = str(request_ref or "").strip()
    if not ref:
        raise ConfigurationError(
            "upgrade_request_ref is required: the change's reference (a ticket id), for the "
            "checkpoint's name and the audit log (vmrepl upgrade --request-ref). Nothing was "
            "changed."
        )
    if not _REF.match(ref):
        raise ConfigurationError(
            f"upgrade_request_ref {ref!r} must be a ticket id: letters, digits, '.', '_' or "
            "'-', at most 63 characters. Nothing was changed."
        )
    return f"pre-upgrade-{ref}"


@dataclass(frozen=True)
class VraTarget:
    """An outdated VRA."""

    vra_id: str
    name: str
    host: str
    cluster: str
    version: str

    def as_dict(self, site_version: str) -> dict[str, str]:
        return {
            "vra": self.name,
            "vra_id": self.vra_id,
            "host": self.host,
            "cluster": self.cluster,
            "version": self.version,
            "target_version": site_version,
        }


def outdated(
    vras: Sequence[Mapping[str, Any]], site_version: str, clusters: Mapping[str, str]
) -> list[VraTarget]:
    """The VRAs older than the site's version, in host order (cluster, then host name);
    ``clusters`` maps host identifiers to their cluster's name."""
    want = version_key(site_version)
    if not want:
        raise ConfigurationError(
            f"The ZVM reports the version {site_version!r}, which is not a dotted version: the "
            "outdated VRAs cannot be told."
        )
    found = []
    for vra in vras:
        version = str(json_field(vra, "VraVersion") or "")
        if version_key(version) >= want:
            continue
        host_id = str(json_field(vra, "HostIdentifier") or "")
        found.append(
            VraTarget(
                vra_id=str(json_field(vra, "VraIdentifier")),
                name=str(json_field(vra, "VraName") or ""),
                host=str(json_field(vra, "HostDisplayName") or host_id),
                cluster=clusters.get(host_id, ""),
                version=version,
            )
        )
    return sorted(found, key=lambda t: (t.cluster, _natural(t.host)))


def batches(targets: Sequence[VraTarget], size: int | str) -> list[list[VraTarget]]:
    """The batches of the roll: per cluster (standalone hosts each a batch of their own), or
    ``size`` hosts at a time in host order."""
    ordered = sorted(targets, key=lambda t: (t.cluster, _natural(t.host)))
    if size == "cluster":
        groups: dict[str, list[VraTarget]] = {}
        for target in ordered:
            groups.setdefault(target.cluster or f"host:{target.host}", []).append(target)
        return list(groups.values())
    count = int(size)
    return [ordered[i : i + count] for i in range(0, len(ordered), count)]


def sla_problems(vpgs: Sequence[Mapping[str, Any]], substatus_names: Sequence[str]) -> list[str]:
    """Why the VPGs are not ready for the next batch: each VPG not MeetingSLA, or in a sync
    substatus ("name: NotMeetingSLA/BitmapSync"). Empty: ready."""
    problems = []
    for vpg in vpgs:
        status = json_field(vpg, "Status")
        if status in IGNORED_STATUSES:
            continue
        sub = json_field(vpg, "SubStatus")
        sub_name = (
            substatus_names[sub] if isinstance(sub, int) and 0 <= sub < len(substatus_names) else ""
        )
        if status != VpgStatus.MeetingSLA or sub_name in SYNC_SUBSTATUSES:
            name = json_field(vpg, "VpgName") or json_field(vpg, "VpgIdentifier")
            problems.append(f"{name}: {code_name(VpgStatus, status)}/{sub_name or sub}")
    return sorted(problems)


def _natural(name: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def describe_batches(batches_: Sequence[Sequence[VraTarget]]) -> str:
    return "; ".join(
        f"batch {k} ({', '.join(t.host for t in batch)})" for k, batch in enumerate(batches_, 1)
    )


@dataclass
class UpgradePlan:
    site: str
    site_version: str
    checkpoint: str
    batch_size: int | str
    batches: list[list[VraTarget]]
    #: VPG name → identifier, of the VPGs without the upgrade's tagged checkpoint
    untagged: dict[str, str]
    not_ready: list[str]
    current: list[str]
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batches:
            for batch in self.batches:
                for t in batch:
                    self.changes[f"vra:{t.host}"] = (t.version, self.site_version)
            for name in self.untagged:
                self.changes[f"checkpoint:{name}"] = (None, self.checkpoint)

    @property
    def targets(self) -> list[VraTarget]:
        return [t for batch in self.batches for t in batch]

    @property
    def facts(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "site_version": self.site_version,
            "checkpoint": self.checkpoint,
            "batch_size": self.batch_size,
            "batches": [[t.as_dict(self.site_version) for t in b] for b in self.batches],
            "outdated": [t.host for t in self.targets],
            "current": self.current,
            "vpgs_not_ready": self.not_ready,
            "upgraded": [],
            "left": [t.host for t in self.targets],
        }

    def summary(self, check_mode: bool) -> str:
        if not self.batches:
            return (
                f"{self.site}: every VRA is at version {self.site_version} "
                f"({len(self.current)} VRA(s)); nothing to upgrade."
            )
        verb = "Would upgrade" if check_mode else "Upgraded"
        text = (
            f"{self.site}: {verb} {len(self.targets)} VRA(s) to {self.site_version} in "
            f"{len(self.batches)} batch(es): {describe_batches(self.batches)}"
        )
        if self.untagged:
            text += (
                f"; tagged checkpoint {self.checkpoint!r} on {', '.join(sorted(self.untagged))} "
                "first"
            )
        if check_mode and self.not_ready:
            text += f". Not ready now (the run waits for them): {', '.join(self.not_ready)}"
        return text + "."


class RollingUpgrade:
    """Plan and carry out the roll at one site through its ZVM client."""

    def __init__(
        self,
        zvm: Any,
        *,
        request_ref: str,
        batch_size: Any = 1,
        task_timeout: float = 1800.0,
        sla_timeout: float = 900.0,
        interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zvm = zvm
        self.checkpoint = checkpoint_name(request_ref)
        self.batch_size = parse_batch_size(batch_size)
        for name, value in (("upgrade_timeout", task_timeout), ("sla_timeout", sla_timeout)):
            if value <= 0:
                raise ConfigurationError(f"{name} must be a number of seconds > 0, not {value}.")
        self.task_timeout = task_timeout
        self.sla_timeout = sla_timeout
        self.interval = interval
        self._sleep = sleep
        self._clock = clock
        self._substatuses: list[str] | None = None

    # -- reading ----------------------------------------------------------------------------
    def substatuses(self) -> list[str]:
        if self._substatuses is None:
            self._substatuses = self.zvm.vpg_substatuses()
        return self._substatuses

    def _clusters(self, site: str) -> dict[str, str]:
        """Host identifier → the name of its cluster (``HostClusterNativeApi.AssociatedHosts``)."""
        hosts = {}
        for cluster in self.zvm.site_objects(site, "hostclusters"):
            name = str(json_field(cluster, "VirtualizationClusterName") or "")
            for host in json_field(cluster, "AssociatedHosts") or []:
                hosts[str(json_field(host, "HostIdentifier"))] = name
        return hosts

    def plan(self) -> UpgradePlan:
        site = self.zvm.local_site()
        here = site_id(site)
        site_name = str(json_field(site, "SiteName") or here)
        site_version = str(json_field(site, "Version") or "")
        vras = self.zvm.vras()
        targets = outdated(vras, site_version, self._clusters(here))
        outdated_hosts = {t.host for t in targets}
        current = sorted(
            str(json_field(v, "HostDisplayName") or "")
            for v in vras
            if str(json_field(v, "HostDisplayName") or "") not in outdated_hosts
        )
        untagged: dict[str, str] = {}
        vpgs = self.zvm.vpgs()
        if targets:
            for vpg in vpgs:
                if json_field(vpg, "Status") in IGNORED_STATUSES:
                    continue
                vpg_id = str(json_field(vpg, "VpgIdentifier"))
                tags = {json_field(c, "Tag") for c in self.zvm.checkpoints(vpg_id)}
                if self.checkpoint not in tags:
                    untagged[str(json_field(vpg, "VpgName") or vpg_id)] = vpg_id
        return UpgradePlan(
            site=site_name,
            site_version=site_version,
            checkpoint=self.checkpoint,
            batch_size=self.batch_size,
            batches=batches(targets, self.batch_size),
            untagged=untagged,
            not_ready=sla_problems(vpgs, self.substatuses()) if targets else [],
            current=current,
        )

    # -- changing ---------------------------------------------------------------------------
    def wait_ready(self, timeout: float) -> list[str]:
        """Poll the VPGs until none has a problem; returns the problems left at the timeout
        (empty: ready)."""
        last: list[str] = []

        def check() -> bool | None:
            nonlocal last
            last = sla_problems(self.zvm.vpgs(), self.substatuses())
            return True if not last else None

        with contextlib.suppress(TimeoutError):
            poll_until(
                check,
                timeout=timeout,
                interval=self.interval,
                timeout_error=None,
                sleep=self._sleep,
                clock=self._clock,
            )
        return last

    def apply(self, plan: UpgradePlan) -> dict[str, Any]:
        upgraded: list[str] = []
        left = [t.host for t in plan.targets]
        tagged: list[str] = []
        total = len(plan.batches)

        def stop(message: str, *, host: str | None, batch: int, hint: str) -> OperationFailed:
            return OperationFailed(
                message,
                hint=hint,
                details={
                    "upgraded": list(upgraded),
                    "left": list(left),
                    "stopped_at": {"host": host, "batch": batch, "batches": total},
                    "checkpoints_tagged": tagged,
                    "changed": bool(upgraded or tagged),
                },
            )

        problems = self.wait_ready(self.sla_timeout)
        if problems:
            raise Refused(
                f"{plan.site}: the upgrade did not start: VPG(s) not ready within "
                f"{self.sla_timeout:.0f} s: {', '.join(problems)}. Nothing was changed.",
                hint="Bring the VPGs back to MeetingSLA first (vmrepl health), then re-run.",
            )
        if plan.untagged:
            tasks = {
                self.zvm.add_checkpoint(vpg_id, plan.checkpoint): name
                for name, vpg_id in plan.untagged.items()
            }
            tagged.extend(sorted(tasks.values()))
            results = self.zvm.wait_for_tasks(
                list(tasks), self.task_timeout, self.interval, raise_on_error=False
            )
            failed = [tasks[t] for t, r in results.items() if json_field(r, "Status", "State") != 6]
            if failed:
                raise stop(
                    f"{plan.site}: stopped before batch 1: the tagged checkpoint "
                    f"{plan.checkpoint!r} failed for {', '.join(sorted(failed))}.",
                    host=None,
                    batch=1,
                    hint="No VRA was upgraded. Re-run when the VPGs accept checkpoints.",
                )
        for k, batch in enumerate(plan.batches, 1):
            started: dict[str, VraTarget] = {}
            refused: tuple[VraTarget, str] | None = None
            for target in batch:
                try:
                    started[self.zvm.upgrade_vra(target.vra_id)] = target
                except Exception as exc:  # the ZVM refused it: stop, after the started ones
                    refused = (target, str(exc))
                    break
            results = self.zvm.wait_for_tasks(
                list(started), self.task_timeout, self.interval, raise_on_error=False
            )
            failures = []
            for task_id, target in started.items():
                state = json_field(results.get(task_id), "Status", "State")
                if state == 6:
                    upgraded.append(target.host)
                    left.remove(target.host)
                else:
                    reason = json_field(results.get(task_id), "CompleteReason")
                    failures.append(
                        (target, f"task {task_summary(results.get(task_id) or {})}: {reason}")
                    )
            if refused:
                failures.append(refused)
            if failures:
                target, reason = failures[0]
                raise stop(
                    f"{plan.site}: stopped at host {target.host}, batch {k} of {total}: the "
                    f"upgrade of {target.name or target.host} failed: {reason.rstrip('.')}. "
                    f"Upgraded: {', '.join(upgraded) or 'none'}; left: {', '.join(left)}.",
                    host=target.host,
                    batch=k,
                    hint="Fix the cause, then re-run: the upgraded VRAs are skipped.",
                )
            problems = self.wait_ready(self.sla_timeout)
            if problems:
                raise stop(
                    f"{plan.site}: stopped after batch {k} of {total} "
                    f"({', '.join(t.host for t in batch)}): VPG(s) not back to MeetingSLA "
                    f"within {self.sla_timeout:.0f} s: {', '.join(problems)}. "
                    f"Upgraded: {', '.join(upgraded)}; left: {', '.join(left) or 'none'}.",
                    host=batch[-1].host,
                    batch=k,
                    hint="Once the VPGs meet their SLA again, re-run to continue.",
                )
        return {"upgraded": upgraded, "left": left, "checkpoints_tagged": tagged}
