"""Injected faults and the lab's knobs: task durations, failing VRA installs and upgrades, 503
answers, a cut link to the peer, test VMs that do not boot."""

from __future__ import annotations

import threading
from typing import Any

from vmrepl.lab.zvm.errors import BadRequest

#: the kinds of tasks whose duration can be set one by one ("initial_sync" is the time a new VPG
#: takes from Initializing to MeetingSLA, "bitmap_sync" the bitmap sync after a VRA upgrade or
#: after a VRA that was down came back)
TASK_KINDS = (
    "pair",
    "unpair",
    "vra_install",
    "vra_uninstall",
    "vra_edit",
    "vra_upgrade",
    "vra_change_host",
    "bitmap_sync",
    "vpg_commit",
    "initial_sync",
    "vpg_delete",
    "checkpoint",
    "pause",
    "resume",
    "forcesync",
    "failover_test",
    "failover_test_stop",
    "failover",
    "failover_commit",
    "failover_rollback",
    "move",
    "move_commit",
    "move_rollback",
)


class Faults:
    def __init__(self, task_seconds: float) -> None:
        self._lock = threading.Lock()
        self.default_task_seconds = float(task_seconds)
        self.task_seconds_by_kind: dict[str, float] = {}
        self.fail_vra_install: set[str] = set()
        self.fail_vra_upgrade: set[str] = set()
        self.fail_boot_vms: set[str] = set()
        self.unavailable_calls = 0
        self.link_cut = False

    def task_seconds(self, kind: str) -> float:
        with self._lock:
            return self.task_seconds_by_kind.get(kind, self.default_task_seconds)

    def take_unavailable(self) -> bool:
        """True (and one fewer to go) while injected 503 answers remain."""
        with self._lock:
            if self.unavailable_calls > 0:
                self.unavailable_calls -= 1
                return True
            return False

    def vra_install_fails(self, *names: str | None) -> bool:
        with self._lock:
            return any(n and n.lower() in self.fail_vra_install for n in names)

    def vra_upgrade_fails(self, *names: str | None) -> bool:
        with self._lock:
            return any(n and n.lower() in self.fail_vra_upgrade for n in names)

    def boot_fails(self, vm_name: str, also: list[str] | None = None) -> bool:
        with self._lock:
            names = self.fail_boot_vms | {n.lower() for n in also or []}
        return vm_name.lower() in names

    def fail_boot_names(self) -> list[str]:
        with self._lock:
            return sorted(self.fail_boot_vms)

    def apply(self, body: dict[str, Any]) -> None:
        """Apply the knobs of a ``POST /lab/faults`` body (see :mod:`vmrepl.lab.zvm.api.admin`)."""
        with self._lock:
            if body.get("clear"):
                self.task_seconds_by_kind.clear()
                self.fail_vra_install.clear()
                self.fail_vra_upgrade.clear()
                self.fail_boot_vms.clear()
                self.unavailable_calls = 0
                self.link_cut = False
            if "task_seconds" in body:
                self._set_task_seconds(body["task_seconds"])
            if "fail_vra_install" in body:
                self.fail_vra_install = {n.lower() for n in _names(body, "fail_vra_install")}
            if "fail_vra_upgrade" in body:
                self.fail_vra_upgrade = {n.lower() for n in _names(body, "fail_vra_upgrade")}
            if "fail_boot_vms" in body:
                self.fail_boot_vms = {n.lower() for n in _names(body, "fail_boot_vms")}
            if "unavailable_calls" in body:
                count = body["unavailable_calls"]
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    raise BadRequest("unavailable_calls must be a whole number >= 0.")
                self.unavailable_calls = count
            if "peer_link" in body:
                if body["peer_link"] not in ("cut", "up"):
                    raise BadRequest('peer_link must be "cut" or "up".')
                self.link_cut = body["peer_link"] == "cut"

    def _set_task_seconds(self, value: Any) -> None:
        if isinstance(value, dict):
            for kind, seconds in value.items():
                if kind != "default" and kind not in TASK_KINDS:
                    raise BadRequest(
                        f"Unknown task kind {kind!r}; known: default, {', '.join(TASK_KINDS)}."
                    )
                number = _seconds(seconds)
                if kind == "default":
                    self.default_task_seconds = number
                else:
                    self.task_seconds_by_kind[kind] = number
        else:
            self.default_task_seconds = _seconds(value)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "task_seconds": {"default": self.default_task_seconds, **self.task_seconds_by_kind},
                "fail_vra_install": sorted(self.fail_vra_install),
                "fail_vra_upgrade": sorted(self.fail_vra_upgrade),
                "fail_boot_vms": sorted(self.fail_boot_vms),
                "unavailable_calls": self.unavailable_calls,
                "peer_link": "cut" if self.link_cut else "up",
            }


def _names(body: dict[str, Any], key: str) -> list[str]:
    value = body[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{key} must be a list of names.")
    return list(value)


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRequest("task_seconds values must be numbers >= 0.")
    return float(value)
