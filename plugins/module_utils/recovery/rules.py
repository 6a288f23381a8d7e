# Copyright: vmrepl contributors
# Apache License 2.0
"""Testing and recovery of VPGs: the rules, as pure functions.

Which operation applies to which edition and what it needs before anything happens (a customer
request reference, an explicit confirmation); which checkpoint an operation recovers to and the
RPO that leaves; whether a VPG is healthy; what a recovered VM must show to pass its validation
and which VM at the recovery site it is; how the answers of two sites join; and the customer's
hand-off checklist. The run itself (plan, act, wait, validate, finish against the ZVM and
vCenter) is :mod:`recovery_run`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    Refused,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    VpgStatus,
    code_name,
    json_field,
)

#: Zerto names a test VM after its source VM with this suffix.
TEST_VM_SUFFIX = " - testing recovery"

#: operation → (what people call it, the editions it applies to).
OPERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "failover_test": ("failover test", ("local", "remote")),
    "local_recovery": ("local recovery", ("local",)),
    "failover": ("failover", ("remote",)),
    "move": ("move", ("remote",)),
    "failback": ("failback", ("remote",)),
}
NOT_APPLICABLE_WHY = {
    "remote": "in the remote edition VMs recover at the target site: use failover.yml or move.yml",
    "local": "the local edition has no second site to recover to: use local_recovery.yml",
}
#: The provider's operations that the customer initiates (a request reference and an audit
#: line each); VPG customisation is one too.
CUSTOMER_INITIATED = (*OPERATIONS, "vpg_customisation")
COMMIT_POLICIES = ("commit", "rollback", "none")
LOCAL_MODES = ("in_place", "new_vms")

TOOLS_ABSENT = ("toolsNotInstalled", None, "")

#: Which result wins when several sites answer for one VPG (:func:`merge_results`).
_RANK = {"not_found": 0, "skipped": 1, "unchanged": 3}


# -- edition rules and the request -----------------------------------------------------------
def label(operation: str) -> str:
    return OPERATIONS.get(operation, (operation.replace("_", " "), ()))[0]


VERBS = {
    "failover_test": "test",
    "local_recovery": "recover",
    "failover": "fail over",
    "move": "move",
    "failback": "fail back",
}


def verb(operation: str) -> str:
    return VERBS.get(operation, label(operation))


def needs_confirmation(operation: str, local_mode: str = "in_place") -> bool:
    """A failover, and a local recovery in place, replace running VMs: they need an explicit
    confirmation."""
    return operation == "failover" or (operation == "local_recovery" and local_mode == "in_place")


def refusal(
    operation: str,
    edition: str,
    request_ref: str | None,
    vpgs: Sequence[str],
    confirmed: bool = False,
    local_mode: str = "in_place",
) -> str | None:
    """Why a run must be refused before anything happens, or None. Pure."""
    if operation not in OPERATIONS:
        return f"Unknown operation {operation!r}; one of {', '.join(OPERATIONS)}."
    name, editions = OPERATIONS[operation]
    if edition not in editions:
        return (
            f"A {name} is not applicable to the {edition} edition "
            f"({NOT_APPLICABLE_WHY.get(edition, 'see the responsibility matrix')}). "
            "Nothing was done."
        )
    if not str(request_ref or "").strip():
        return (
            f"A {name} is initiated by the customer: give the customer's request reference "
            "(request_ref, e.g. the ticket id; in the playbooks recovery_request_ref, "
            "vmrepl --request-ref). Nothing was done."
        )
    if not [v for v in vpgs if str(v).strip()]:
        return (
            f"Name the VPGs of the {name} (vpgs; in the playbooks recovery_vpgs, "
            "vmrepl --vpg). Nothing was done."
        )
    if operation == "local_recovery" and local_mode not in LOCAL_MODES:
        return f"local_mode must be one of {', '.join(LOCAL_MODES)}, not {local_mode!r}."
    if needs_confirmation(operation, local_mode) and not confirmed:
        what = (
            "replaces the running VMs"
            if operation == "local_recovery"
            else ("brings the VMs up at the recovery site and shuts down the protected ones")
        )
        return (
            f"A {name} {what}: confirm it explicitly (confirm: true; in the playbooks "
            "recovery_confirm (vmrepl --yes)). Nothing was done."
        )
    return None


# -- VPG state --------------------------------------------------------------------------------
def site_ids(vpg: Mapping[str, Any]) -> tuple[str, str]:
    """(protected site id, recovery site id) of a VPG."""
    return (
        str(json_field(vpg, "ProtectedSite", "identifier") or ""),
        str(json_field(vpg, "RecoverySite", "identifier") or ""),
    )


def status_text(vpg: Mapping[str, Any]) -> str:
    """``MeetingSLA`` or ``NotMeetingSLA (DisconnectedFromPeer)``."""
    status = json_field(vpg, "Status")
    name = json_field(vpg, "StatusDescription") or (
        code_name(VpgStatus, status, str(status)) if isinstance(status, int) else str(status)
    )
    sub = json_field(vpg, "SubStatusDescription")
    return f"{name} ({sub})" if sub and sub != "None" else str(name)


def operation_running(vpg: Mapping[str, Any]) -> str | None:
    """The recovery operation a VPG is in, or None."""
    status = json_field(vpg, "Status")
    if status == VpgStatus.FailingOver:
        return "failover"
    if status == VpgStatus.Moving:
        return "move"
    test = json_field(vpg, "ActiveProcessesApi", "RunningFailOverTestApi")
    if test:
        return f"failover test ({json_field(test, 'Stage') or 'running'})"
    return None


def health_problem(vpg: Mapping[str, Any]) -> str | None:
    """Why a VPG is not healthy (not MeetingSLA), or None. Pure."""
    if json_field(vpg, "Status") == VpgStatus.MeetingSLA:
        return None
    if peer_unreachable(vpg):
        return f"the peer site cannot be reached: the VPG is {status_text(vpg)}, not MeetingSLA"
    return f"it is {status_text(vpg)}, not MeetingSLA"


def peer_unreachable(vpg: Mapping[str, Any]) -> bool:
    return "disconnectedfrompeer" in str(json_field(vpg, "SubStatusDescription") or "").lower()


# -- checkpoints and RPO ----------------------------------------------------------------------
def parse_time(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 date-time (naive means UTC)."""
    try:
        moment = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigurationError(
            f"{text!r} is not an ISO 8601 date-time.", hint="For example 2024-05-14T09:12:00Z."
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def iso(timestamp: float) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Point:
    """The checkpoint an operation recovers to."""

    identifier: str | None
    time: str | None
    tag: str | None
    chosen_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "time": self.time,
            "tag": self.tag,
            "chosen_by": self.chosen_by,
        }


def point_from(checkpoint: Mapping[str, Any], chosen_by: str) -> Point:
    return Point(
        identifier=str(json_field(checkpoint, "CheckpointIdentifier")),
        time=json_field(checkpoint, "TimeStamp"),
        tag=json_field(checkpoint, "Tag"),
        chosen_by=chosen_by,
    )


def choose_checkpoint(
    checkpoints: Sequence[Mapping[str, Any]],
    tag: str | None = None,
    point_in_time: str | None = None,
) -> Point:
    """The latest checkpoint, the latest one tagged ``tag``, or the latest one at or before
    ``point_in_time``. Raises Refused when the journal holds none. Pure."""
    ordered = sorted(checkpoints, key=lambda c: parse_time(str(json_field(c, "TimeStamp"))))
    if not ordered:
        raise Refused("the journal holds no checkpoint yet")
    if tag:
        tagged = [c for c in ordered if json_field(c, "Tag") == tag]
        if not tagged:
            known = sorted({str(json_field(c, "Tag")) for c in ordered if json_field(c, "Tag")})
            raise Refused(f"no checkpoint is tagged {tag!r} (tagged: {', '.join(known) or 'none'})")
        return point_from(tagged[-1], f"tag {tag}")
    if point_in_time:
        limit = parse_time(point_in_time)
        before = [c for c in ordered if parse_time(str(json_field(c, "TimeStamp"))) <= limit]
        if not before:
            raise Refused(
                f"no checkpoint at or before {point_in_time}; the earliest in the journal is "
                f"{json_field(ordered[0], 'TimeStamp')}"
            )
        return point_from(before[-1], f"point in time {point_in_time}")
    return point_from(ordered[-1], "latest")


def rpo_at_start(
    actual_rpo: Any, checkpoints: Sequence[Mapping[str, Any]], point: Point | None
) -> int | None:
    """Seconds of changes the recovery point leaves behind when the operation starts: the
    VPG's actual RPO, plus how much older the chosen checkpoint is than the latest. Both times
    are the ZVM's, so the controller's clock does not matter. Pure."""
    if not isinstance(actual_rpo, int | float):
        return None
    if point is None or point.time is None or not checkpoints:
        return int(actual_rpo)
    latest = max(parse_time(str(json_field(c, "TimeStamp"))) for c in checkpoints)
    return int(actual_rpo + max(0.0, latest - parse_time(point.time)))


# -- validation of the recovered VMs ----------------------------------------------------------
VM_PROPERTIES = (
    "name",
    "runtime.powerState",
    "runtime.host",
    "guest.toolsStatus",
    "guest.toolsRunningStatus",
    "guest.ipAddress",
    "network",
)


def pick_recovered(
    name: str, candidates: Sequence[Mapping[str, Any]], before: Mapping[str, str] | None
) -> Mapping[str, Any] | None:
    """The VM that an operation brought up under ``name``. ``before`` maps the moid of each VM
    of that name at the recovery site before the operation to its power state (None for test
    VMs, whose names are unique): a new VM, else one that was not running (a replica reused by
    a move back). Pure."""
    same = [c for c in candidates if c.get("name") == name]
    if before is None:
        pool = same
    else:
        pool = [c for c in same if c.get("moid") not in before] or [
            c for c in same if before.get(str(c.get("moid"))) != "poweredOn"
        ]
    pool = sorted(pool, key=lambda c: c.get("power_state") != "poweredOn")
    return pool[0] if pool else None


def check_vm(
    name: str, facts: Mapping[str, Any] | None, expected_networks: Iterable[str]
) -> dict[str, Any]:
    """The checks of one recovered VM: found, powered on, VMware Tools and an address (where
    Tools are installed), on the expected network(s) only. Pure.

    ``up`` (for the RTO) is powered on with Tools running and an address, where Tools are
    installed; ``ok`` is every check passed.
    """
    expected = sorted(set(expected_networks))
    checks: list[dict[str, str]] = []

    def add(check: str, result: str, detail: str) -> None:
        checks.append({"check": check, "result": result, "detail": detail})

    if facts is None:
        add("found", "failed", f"no VM named {name} at the recovery site")
        return {
            "name": name,
            "moid": None,
            "host": None,
            "power_state": None,
            "tools": None,
            "ip": None,
            "networks": [],
            "expected_networks": expected,
            "checks": checks,
            "up": False,
            "ok": False,
        }
    power = str(facts.get("power_state"))
    if power == "poweredOn":
        add("powered_on", "passed", power)
    else:
        add("powered_on", "failed", f"not powered on ({power})")
    tools_status = facts.get("tools_status")
    running = facts.get("tools_running") == "guestToolsRunning"
    ip = facts.get("ip")
    if tools_status in TOOLS_ABSENT:
        add("tools", "not_available", "VMware Tools not installed: the address is not checked")
        add("address", "not_available", "no VMware Tools to report it")
        guest_ready = True
    else:
        if running:
            add("tools", "passed", "guestToolsRunning")
        else:
            add("tools", "failed", f"VMware Tools not running ({facts.get('tools_running')})")
        add("address", "passed" if ip else "failed", ip or "no IP address reported")
        guest_ready = running and bool(ip)
    networks = sorted(facts.get("networks") or [])
    if not expected:
        add("network", "not_available", "the VPG names no network for this VM")
    elif networks and set(networks) <= set(expected):
        add("network", "passed", ", ".join(networks))
    else:
        add(
            "network",
            "failed",
            f"on {', '.join(networks) or 'no network'}; expected {', '.join(expected)} only",
        )
    return {
        "name": name,
        "moid": facts.get("moid"),
        "host": facts.get("host"),
        "power_state": power,
        "tools": facts.get("tools_running") if tools_status not in TOOLS_ABSENT else None,
        "ip": ip,
        "networks": networks,
        "expected_networks": expected,
        "checks": checks,
        "up": power == "poweredOn" and guest_ready,
        "ok": all(c["result"] != "failed" for c in checks),
    }


def failed_checks(vm: Mapping[str, Any]) -> list[str]:
    return [f"{vm['name']}: {c['detail']}" for c in vm.get("checks", []) if c["result"] == "failed"]


# -- joining the sites' answers, the hand-off checklist ---------------------------------------
def merge_results(answers: Iterable[Iterable[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One result per VPG from the answers of several sites: the site that acted wins over one
    that found it unchanged, which wins over one that skipped it or did not find it. Pure."""
    merged: dict[str, dict[str, Any]] = {}
    for answer in answers:
        for result in answer or []:
            name = str(result.get("vpg"))
            rank = _RANK.get(str(result.get("status")), 5)
            current = merged.get(name)
            if current is None or rank > _RANK.get(str(current.get("status")), 5):
                merged[name] = dict(result)
    return list(merged.values())


def handoff_checklist(operation: str, result: Mapping[str, Any]) -> list[dict[str, str]]:
    """The customer's tasks after an operation on one VPG, from the responsibility matrix: the
    provider does not do them and the report does not pretend it did. Pure."""
    if result.get("status") in ("not_found", "skipped", "not_run"):
        return []
    vms = ", ".join(str(v.get("source") or v.get("name")) for v in result.get("vms", [])) or (
        "the VPG's VMs"
    )
    checked = "the provider checked power state, VMware Tools, address and network only"
    if operation == "failover_test":
        items = [
            f"Review the test of {vms}: recovery point, RPO and RTO against your objectives",
            f"Validate applications and data in a longer test if you need to ({checked}; the "
            "test VMs were removed when the test stopped)",
        ]
    else:
        items = [
            f"Complete database and application recovery on {vms}",
            f"Validate that {vms} operate as expected ({checked})",
        ]
        if result.get("commit") == "left before commit":
            items.append("Tell the provider to commit or roll back the recovery")
        if operation in ("failover", "move") and result.get("reverse_protection") is False:
            items.append("Ask the provider to protect the VMs again (no reverse protection)")
    return [{"owner": "customer", "task": item, "status": "open"} for item in items]


def outcome_error(results: Sequence[Mapping[str, Any]], operation: str) -> str | None:
    """A message naming the VPGs that failed, or None. Pure."""
    failed = [r for r in results if r.get("status") == "failed"]
    if not failed:
        return None
    return f"The {label(operation)} failed for {len(failed)} VPG(s): " + " | ".join(
        str(r.get("message")) for r in failed
    )


#: The option of a recovery run → how the user set it (the role's variable, vmrepl's flag).
USER_NAMES = {
    "request_ref": "recovery_request_ref (vmrepl --request-ref)",
    "point_in_time": "recovery_point_in_time (vmrepl --point-in-time)",
    "checkpoint_tag": "recovery_checkpoint_tag (vmrepl --checkpoint-tag)",
    "test_network": "recovery_test_network (vmrepl --test-network)",
}
#: How far ahead of the controller's clock a point in time may be (clock skew), in seconds.
CLOCK_SKEW_SECONDS = 60.0
REQUEST_REF_MAX = 100


def check_inputs(
    *,
    request_ref: str | None,
    point_in_time: str | None,
    checkpoint_tag: str | None,
    test_network: str | None,
    now: float,
) -> None:
    """What a recovery run's inputs must be before anything is read: a point in time that is
    an ISO 8601 date-time and not in the future (the journal holds no checkpoint after now:
    it would silently be the latest), a test network name vSphere and the ZVM accept, a request
    reference of printable characters. Raises ConfigurationError naming the variable and the
    flag the user set. Pure."""
    from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import (
        NETWORK_NAME_MAX,
        check_name,
    )

    problems = []
    ref = str(request_ref or "")
    if len(ref) > REQUEST_REF_MAX:
        problems.append(f"{USER_NAMES['request_ref']} is {len(ref)} characters; at most 100")
    if any(not c.isprintable() for c in ref):
        problems.append(f"{USER_NAMES['request_ref']} holds control characters")
    if point_in_time:
        try:
            moment = parse_time(point_in_time)
        except ConfigurationError:
            problems.append(
                f"{USER_NAMES['point_in_time']}: {point_in_time[:60]!r} is not an ISO 8601 "
                "date-time (for example 2024-05-14T09:12:00Z)"
            )
        else:
            if moment > now + CLOCK_SKEW_SECONDS:
                problems.append(
                    f"{USER_NAMES['point_in_time']}: {point_in_time} is in the future (now "
                    f"{iso(now)}); the journal holds no checkpoint after now"
                )
    if checkpoint_tag is not None and (not checkpoint_tag.strip() or len(checkpoint_tag) > 100):
        problems.append(f"{USER_NAMES['checkpoint_tag']} must be 1 to 100 characters")
    if test_network:
        problems += check_name(
            test_network, USER_NAMES["test_network"], "the test network", NETWORK_NAME_MAX
        )
    if problems:
        raise ConfigurationError("; ".join(problems) + ".", hint="Nothing was done.")
