"""VPG settings objects: the transient drafts from which VPGs are created and edited.

``POST /v1/vpgSettings`` ``{}`` starts a new VPG, ``{"VpgIdentifier": id}`` an edit of one;
the object is read and written whole or by section, VMs are added and removed, and
``POST .../commit`` validates it and starts the task that creates or updates the VPG. An
object is deleted on commit or after ``settings_ttl_seconds`` (30 minutes) unused. Request
bodies are canonicalised to the schema's PascalCase names (the body: ``vpgsettings.py``).
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.errors import BadRequest, NotFound
from vmrepl.lab.zvm.http.binding import Canonicalizer
from vmrepl.lab.zvm.http.openapi import Validator
from vmrepl.lab.zvm.http.routing import Request
from vmrepl.lab.zvm.inventory import APPLIANCE_ROLES
from vmrepl.lab.zvm.site.vpgsettings import (
    NIC_SCHEMA,
    SECTIONS,
    SETTINGS_SCHEMA,
    VM_SCHEMA,
    VOLUME_SCHEMA,
    check_basic_ranges,
    default_section,
    default_settings,
    merge,
    propagate_defaults,
    vm_entry,
)
from vmrepl.lab.zvm.store import SettingsRecord

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.gateway import Gateways
    from vmrepl.lab.zvm.site.vpgs import VpgService


class SettingsService:
    def __init__(
        self, ctx: SiteContext, vpgs: VpgService, gateways: Gateways, validator: Validator
    ) -> None:
        self.ctx = ctx
        self.vpgs = vpgs
        self.gateways = gateways
        self.canon = Canonicalizer(validator)

    def expire(self) -> None:
        limit = clock.now() - self.ctx.config.settings_ttl_seconds
        with self.ctx.store.lock:
            for key in [k for k, r in self.ctx.store.settings.items() if r.touched < limit]:
                del self.ctx.store.settings[key]

    def get(self, identifier: str) -> SettingsRecord:
        self.expire()
        with self.ctx.store.lock:
            record = self.ctx.store.settings.get(identifier)
            if record is None:
                raise NotFound(
                    f"VPG settings {identifier} were not found (a settings object is deleted on "
                    "commit and after 30 minutes unused)."
                )
            record.touched = clock.now()
            return record

    def to_json(self, record: SettingsRecord) -> dict[str, Any]:
        return {
            "VpgIdentifier": record.vpg_identifier,
            "VpgSettingsIdentifier": record.identifier,
            **copy.deepcopy(record.data),
        }

    def _canonical(self, body: Any, schema: str) -> dict[str, Any]:
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        result = self.canon.bind(body, schema)
        assert isinstance(result, dict)
        return result

    # -- create, replace, delete ------------------------------------------------------------
    def create(self, request: Request) -> str:
        self.expire()
        body = self._canonical(request.json(), SETTINGS_SCHEMA)
        vpg_id = body.pop("VpgIdentifier", None)
        body.pop("VpgSettingsIdentifier", None)
        if not vpg_id:
            self.ctx.require_license("creating a VPG")
        if vpg_id:
            vpg = self.vpgs.get(vpg_id)
            with self.ctx.store.lock:
                if any(s.vpg_identifier == vpg_id for s in self.ctx.store.settings.values()):
                    raise BadRequest(f"VPG {vpg.name} is already being edited.")
            data = merge(copy.deepcopy(vpg.settings), body)
        else:
            data = merge(default_settings(self.ctx.site_identifier), body)
        check_basic_ranges(data.get("Basic") or {})
        record = SettingsRecord(
            str(uuid.uuid4()), vpg_id, data, clock.now(), request.principal or ""
        )
        with self.ctx.store.lock:
            self.ctx.store.settings[record.identifier] = record
        return record.identifier

    def replace(self, identifier: str, request: Request) -> None:
        record = self.get(identifier)
        body = self._canonical(request.json(), SETTINGS_SCHEMA)
        body.pop("VpgIdentifier", None)
        body.pop("VpgSettingsIdentifier", None)
        check_basic_ranges(body.get("Basic") or {})
        with self.ctx.store.lock:
            for key, value in body.items():
                if key != "Vms":
                    propagate_defaults(record.data, key, record.data.get(key), value)
            record.data.update(body)

    def delete(self, identifier: str) -> None:
        self.get(identifier)
        with self.ctx.store.lock:
            self.ctx.store.settings.pop(identifier, None)

    # -- sections ---------------------------------------------------------------------------
    def section(self, identifier: str, name: str) -> Any:
        key, _ = SECTIONS[name]
        return copy.deepcopy(self.get(identifier).data.get(key))

    def put_section(self, identifier: str, name: str, request: Request) -> None:
        key, schema = SECTIONS[name]
        record = self.get(identifier)
        body = self._canonical(request.json(), schema)
        if key == "Basic":
            check_basic_ranges(body)
        with self.ctx.store.lock:
            propagate_defaults(record.data, key, record.data.get(key), body)
            record.data[key] = body

    def reset_section(self, identifier: str, name: str) -> None:
        key, _ = SECTIONS[name]
        record = self.get(identifier)
        with self.ctx.store.lock:
            default = default_section(key, self.ctx.site_identifier)
            propagate_defaults(record.data, key, record.data.get(key), default)
            record.data[key] = default

    # -- VMs --------------------------------------------------------------------------------
    def entries(self, record: SettingsRecord) -> list[dict[str, Any]]:
        vms = record.data.get("Vms")
        if not isinstance(vms, list):
            vms = record.data["Vms"] = []
        return vms

    def entry_of(self, record: SettingsRecord, vm_identifier: str) -> dict[str, Any]:
        for entry in self.entries(record):
            if entry.get("VmIdentifier") == vm_identifier:
                return entry
        raise NotFound(f"VM {vm_identifier} is not in VPG settings {record.identifier}.")

    def add_vm(self, identifier: str, request: Request) -> None:
        record = self.get(identifier)
        body = self._canonical(request.json(), VM_SCHEMA)
        vm_id = body.get("VmIdentifier")
        if not vm_id:
            raise BadRequest("VmIdentifier is required.")
        basic = record.data.get("Basic") or {}
        site = basic.get("ProtectedSiteIdentifier") or self.ctx.site_identifier
        inv = self.gateways(site).inventory("full")
        vm = inv.vm(vm_id)
        if vm is None or vm.template or vm.role in APPLIANCE_ROLES:
            raise BadRequest(f"VM {vm_id} was not found at the protected site.")
        with self.ctx.store.lock:
            if any(e.get("VmIdentifier") == vm_id for e in self.entries(record)):
                raise BadRequest(f"VM {vm.name} is already in the VPG settings.")
            entry = merge(vm_entry(inv, vm, record.data), body)
            self.entries(record).append(entry)

    def put_vm(self, identifier: str, vm_identifier: str, request: Request) -> None:
        record = self.get(identifier)
        body = self._canonical(request.json(), VM_SCHEMA)
        body["VmIdentifier"] = vm_identifier
        with self.ctx.store.lock:
            entry = self.entry_of(record, vm_identifier)
            entry.clear()
            entry.update(merge({}, body))

    def delete_vm(self, identifier: str, vm_identifier: str) -> None:
        record = self.get(identifier)
        with self.ctx.store.lock:
            entry = self.entry_of(record, vm_identifier)
            self.entries(record).remove(entry)

    def item(self, entry: dict[str, Any], kind: str, key: str, value: str) -> dict[str, Any]:
        for item in entry.get(kind) or []:
            if item.get(key) == value:
                return dict(item)
        raise NotFound(f"{key} {value} was not found.")

    def put_item(
        self, identifier: str, vm_identifier: str, kind: str, value: str, request: Request
    ) -> None:
        key, schema = (
            ("NicIdentifier", NIC_SCHEMA) if kind == "Nics" else ("VolumeIdentifier", VOLUME_SCHEMA)
        )
        record = self.get(identifier)
        body = self._canonical(request.json(), schema)
        body[key] = value
        with self.ctx.store.lock:
            entry = self.entry_of(record, vm_identifier)
            self.item(entry, kind, key, value)
            entry[kind] = [body if i.get(key) == value else i for i in entry.get(kind) or []]

    def delete_item(self, identifier: str, vm_identifier: str, kind: str, value: str) -> None:
        key = "NicIdentifier" if kind == "Nics" else "VolumeIdentifier"
        record = self.get(identifier)
        with self.ctx.store.lock:
            entry = self.entry_of(record, vm_identifier)
            self.item(entry, kind, key, value)
            entry[kind] = [i for i in entry.get(kind) or [] if i.get(key) != value]

    # -- commit -----------------------------------------------------------------------------
    def commit(self, identifier: str, request: Request) -> str:
        record = self.get(identifier)
        if record.vpg_identifier is None:
            self.ctx.require_license("creating a VPG")
        task = self.vpgs.commit(record, request.principal)
        with self.ctx.store.lock:
            self.ctx.store.settings.pop(identifier, None)
        return task
