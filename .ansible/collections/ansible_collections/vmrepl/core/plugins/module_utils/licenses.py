# Copyright: vmrepl contributors
# Apache License 2.0
"""The ZVM's licence: read (``GET /v1/license``) → plan → apply (``PUT /v1/license``).

A new ZVM is unlicensed and refuses VRA installs, VPGs and pairing until it has a valid key.
Keys are secrets: everything this module returns shows them masked (:func:`mask_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    ZvmClient,
    json_field,
    mask,
)


def mask_key(key: str | None) -> str | None:
    """The key masked (:func:`zvm.mask`), or None when there is none."""
    return mask(key) if key else None


@dataclass(frozen=True)
class LicensePlan:
    key: str  # the wanted key
    current: dict[str, Any] | None  # GET /v1/license Details, or None when unlicensed

    @property
    def current_key(self) -> str | None:
        value = json_field(self.current, "LicenseKey") if self.current else None
        return str(value).strip() if value else None

    @property
    def changes(self) -> bool:
        return self.current_key != self.key


def plan_license(zvm: ZvmClient, key: str) -> LicensePlan:
    """What the ZVM has now, against the wanted key. Reads only."""
    return LicensePlan(key=key, current=json_field(zvm.license(), "Details"))


def apply_license(zvm: ZvmClient, plan: LicensePlan) -> LicensePlan:
    """``PUT /v1/license``; a key the ZVM refuses is a configuration error (the key, not us)."""
    try:
        zvm.put("/v1/license", {"LicenseKey": plan.key})
    except VmreplError as exc:
        raise ConfigurationError(
            f"{zvm.where} refused the licence key {mask_key(plan.key)}: {exc.message}",
            hint="Check vmrepl_zvm_license_key for this site (Ansible Vault).",
        ) from exc
    after = plan_license(zvm, plan.key)
    if after.changes:
        raise ConfigurationError(
            f"{zvm.where} accepted the licence key {mask_key(plan.key)} but reports "
            f"{mask_key(after.current_key) or 'no licence'}.",
            hint="Look at the ZVM's licence page; the key may belong to another site.",
        )
    return LicensePlan(key=plan.key, current=after.current)


def _public(details: dict[str, Any] | None, key: str | None) -> dict[str, Any]:
    return {
        "key": mask_key(key),
        "type": json_field(details, "LicenseType") if details else None,
        "expiry": json_field(details, "ExpiryTime") if details else None,
        "max_vms": json_field(details, "MaxVms") if details else None,
    }


def describe(before: LicensePlan, after: LicensePlan | None, *, diff: bool) -> dict[str, Any]:
    """The module result from the plan (``before``) and, when it was applied, ``after``:
    changed, msg, the licence (masked) and, when asked, the diff."""
    masked, previous = mask_key(before.key), mask_key(before.current_key)
    if not before.changes or after is not None:
        info = _public((after or before).current, before.key)
        extra = ", ".join(
            str(part)
            for part in (
                info["type"],
                f"up to {info['max_vms']} VMs" if info["max_vms"] else None,
                f"expires {info['expiry']}" if info["expiry"] else None,
            )
            if part
        )
        extra = f" ({extra})" if extra else ""
        msg = (
            f"Applied licence key {masked}{extra}."
            if before.changes
            else f"Licence key {masked}{extra} is applied already."
        )
        license_after = info
    else:
        msg = (
            f"Would apply licence key {masked}"
            + (f" in place of {previous}" if previous else " (the ZVM has no licence yet)")
            + "."
        )
        license_after = _public(None, before.key)
    result: dict[str, Any] = {
        "changed": before.changes,
        "msg": msg,
        "license": license_after,
        "previous_key": previous,
    }
    if diff:
        result["diff"] = {"before": {"license_key": previous}, "after": {"license_key": masked}}
    return result
