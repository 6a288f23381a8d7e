"""Lab knobs for the VM recovery (backup) readiness: what a backup product and a filling
datastore would do to a site's vCenter, done against vcsim through pyVmomi.

- :func:`set_last_backup`: a VM's custom attribute as the backup product writes it
  (``CustomFieldsManager.SetField``; vcsim 0.24 appends a value on every call instead of
  replacing it, which the readers de-duplicate by key);
- :func:`netbackup_value`: the ``NB_LAST_BACKUP`` text of a time (the time first);
- :func:`fill_datastore`: a datastore left with a given share free. vcsim 0.24 reports a
  datastore's capacity and free space from the file system under it (``statfs``) and takes the
  size of every virtual disk it creates off the free space, without writing it; so a thin disk
  of the right size added to a VM on that datastore leaves it nearly full, as a real one would
  be;
- :func:`set_maintenance`: a host into or out of maintenance mode.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    ManagedObject,
    VSphereClient,
    vim,
)
from vmrepl.lab.process import LabError


def _one(client: VSphereClient, obj_type: object, name: str, props: list[str]) -> ManagedObject:
    found = [o for o in client.retrieve(obj_type, ["name", *props]) if o["name"] == name]
    if len(found) != 1:
        raise LabError(f"{len(found)} objects named {name!r} in the lab's vCenter (want 1).")
    return found[0]


def set_last_backup(
    client: VSphereClient, vm: str, value: str, attribute: str = "NB_LAST_BACKUP"
) -> None:
    """Set a VM's custom attribute (defined for VMs when it is not)."""
    ref = _one(client, vim.VirtualMachine, vm, []).ref
    client.set_custom_value(ref, attribute, value)


def netbackup_value(when: datetime, policy: str = "lab-policy") -> str:
    """``NB_LAST_BACKUP`` as NetBackup scripts read it: the time, the backup id, the policy."""
    when = when.astimezone(UTC)
    return f"{when:%a %b %d %H:%M:%S %Y %z},lab_{int(when.timestamp())},{policy},Full"


def fill_datastore(
    client: VSphereClient, datastore: str, free_percent: float, vm: str
) -> dict[str, int]:
    """Leave ``datastore`` with ``free_percent`` of its capacity free by adding a thin disk to
    ``vm`` (a VM whose files are on that datastore). Returns capacity and free bytes after."""
    ds = _one(client, vim.Datastore, datastore, ["summary.capacity", "summary.freeSpace"])
    capacity, free = int(ds["summary.capacity"]), int(ds["summary.freeSpace"])
    target = int(capacity * free_percent / 100)
    fill_kb = (free - target) // 1024
    if fill_kb <= 0:
        raise LabError(f"{datastore} has {100 * free / capacity:.1f}% free already.")
    obj = _one(client, vim.VirtualMachine, vm, ["config.hardware.device"])
    devices = obj["config.hardware.device"] or []
    controllers = [d for d in devices if isinstance(d, vim.vm.device.VirtualSCSIController)]
    changes = []
    if controllers:
        controller_key = controllers[0].key
        used = {
            d.unitNumber for d in devices if getattr(d, "controllerKey", None) == controller_key
        }
        unit = next(u for u in range(16) if u != 7 and u not in used)
    else:
        controller_key, unit = 1000, 0
        changes.append(
            vim.vm.device.VirtualDeviceSpec(
                operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
                device=vim.vm.device.VirtualLsiLogicController(
                    key=controller_key, busNumber=0, sharedBus="noSharing"
                ),
            )
        )
    changes.append(
        vim.vm.device.VirtualDeviceSpec(
            operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
            fileOperation=vim.vm.device.VirtualDeviceSpec.FileOperation.create,
            device=vim.vm.device.VirtualDisk(
                key=-1,
                controllerKey=controller_key,
                unitNumber=unit,
                capacityInKB=fill_kb,
                backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                    diskMode="persistent", thinProvisioned=True, fileName=f"[{datastore}]"
                ),
            ),
        )
    )
    client.wait_for_task(obj.ref.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=changes)))
    after = _one(client, vim.Datastore, datastore, ["summary.capacity", "summary.freeSpace"])
    return {
        "capacity_bytes": int(after["summary.capacity"]),
        "free_bytes": int(after["summary.freeSpace"]),
    }


def set_maintenance(client: VSphereClient, host: str, on: bool) -> None:
    """Put a host into maintenance mode (or take it out)."""
    ref = _one(client, vim.HostSystem, host, []).ref
    task = ref.EnterMaintenanceMode_Task(timeout=0) if on else ref.ExitMaintenanceMode_Task(0)
    client.wait_for_task(task)
