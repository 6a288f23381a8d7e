# Copyright: vmrepl contributors
# Apache License 2.0
"""The ZVM's licence: read (``GET /v1/license``) → plan → apply (``PUT /v1/license``).

A new ZVM is unlicensed and refuses VRA installs, VPGs and pairing until it has a valid key.
Keys are secrets: everything this module returns shows them masked (:func:`mask_key`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """The wanted key against the ZVM's licence (reads only), as the module's edge takes it
    (``_module.ensure``): ``changes`` (the key, masked, before and after), ``facts``, the
    message and :meth:`apply`. ``zvm`` is None for a plan against a ZVM this run deploys first
    (check mode only)."""

    key: str  # the wanted key
    current: dict[str, Any] | None  # GET /v1/license Details, or None when unlicensed
    zvm: ZvmClient | None = field(default=None, compare=False, repr=False)

    @property
    def current_key(self) -> str | None:
        value = json_field(self.current, "LicenseKey") if self.current else None
        return str(value).strip() if value else None

    @property
    def differs(self) -> bool:
        return self.current_key != self.key

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        if not self.differs:
            return {}
        return {"license_key": (mask_key(self.current_key), mask_key(self.key))}

    @property
    def facts(self) -> dict[str, Any]:
        return {
            "license": _public(None if self.differs else self.current, self.key),
            "previous_key": mask_key(self.current_key),
        }

    def summary(self, check_mode: bool) -> str:
        masked, previous = mask_key(self.key), mask_key(self.current_key)
        if not self.differs:
            return f"Licence key {masked}{_extra(self.facts['license'])} is applied already."
        return (
            f"Would apply licence key {masked}"
            + (f" in place of {previous}" if previous else " (the ZVM has no licence yet)")
            + "."
        )

    def apply(self) -> dict[str, Any]:
        """``PUT /v1/license``, then the licence as the ZVM reports it."""
        if self.zvm is None:
            raise ConfigurationError(
                "zvm_pending is for check mode only: deploy the ZVM before licensing it."
            )
        after = apply_license(self.zvm, self)
        info = _public(after.current, self.key)
        return {"license": info, "msg": f"Applied licence key {mask_key(self.key)}{_extra(info)}."}


def plan_license(zvm: ZvmClient, key: str) -> LicensePlan:
    """What the ZVM has now, against the wanted key. Reads only."""
    return LicensePlan(key=key, current=json_field(zvm.license(), "Details"), zvm=zvm)


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
    if after.differs:
        raise ConfigurationError(
            f"{zvm.where} accepted the licence key {mask_key(plan.key)} but reports "
            f"{mask_key(after.current_key) or 'no licence'}.",
            hint="Look at the ZVM's licence page; the key may belong to another site.",
        )
    return after


def _public(details: dict[str, Any] | None, key: str | None) -> dict[str, Any]:
    return {
        "key": mask_key(key),
        "type": json_field(details, "LicenseType") if details else None,
        "expiry": json_field(details, "ExpiryTime") if details else None,
        "max_vms": json_field(details, "MaxVms") if details else None,
    }


def _extra(info: dict[str, Any]) -> str:
    """`` (Enterprise, up to 1000 VMs, expires ...)`` from a public licence, or nothing."""
    extra = ", ".join(
        str(part)
        for part in (
            info["type"],
            f"up to {info['max_vms']} VMs" if info["max_vms"] else None,
            f"expires {info['expiry']}" if info["expiry"] else None,
        )
        if part
    )
    return f" ({extra})" if extra else ""
