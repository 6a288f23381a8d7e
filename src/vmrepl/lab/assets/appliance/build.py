#!/usr/bin/env python3
# Copyright: vmrepl contributors
# Apache License 2.0
"""Build the lab's stand-in appliances - the ZVM appliance and the VM recovery (backup) proxy:
for each an OVF descriptor, a small streamOptimized VMDK and a SHA256 manifest, all
deterministic, so the committed files can be checked with ``--check``.

    src/vmrepl/lab/assets/appliance/build.py              # (re)write the files next to this script
    src/vmrepl/lab/assets/appliance/build.py --check      # fail if the committed files differ from a fresh build
    src/vmrepl/lab/assets/appliance/build.py --ova X.ova  # also pack the ZVM appliance as an OVA (a tar, descriptor first)
    src/vmrepl/lab/assets/appliance/build.py --ova X.ova --appliance backup-proxy   # the proxy's OVA

The disk holds no data: a 256 MiB streamOptimized sparse extent with empty grain tables, about
70 KB on disk. vcsim 0.24 does not read uploaded disks (it discards the bytes), but the file is a
valid VMDK, so the same package also imports on a real vCenter. The OVF properties imitate the
real ZVM Appliance's first-boot settings (network and admin password); the vendor's OVA names its
own keys: read them from its descriptor before deploying it. The backup proxy stands in for a
backup product's VADP proxy appliance (one per hypervisor); its properties imitate such a
proxy's first-boot settings, with the backup server it registers with.
"""

# ruff: noqa: E501 - the OVF template keeps VMware's one-line elements

from __future__ import annotations

import argparse
import hashlib
import io
import struct
import sys
import tarfile
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
NAME = "zvm-appliance"
DISK = f"{NAME}-disk1.vmdk"
PROXY_NAME = "backup-proxy"
CAPACITY_MIB = 256
SECTOR = 512
GRAIN_SECTORS = 128  # 64 KiB grains
GTES_PER_GT = 512

# (key, label, description, password?)
PROPERTIES = (
    ("hostname", "Host name", "The appliance's host name (FQDN).", False),
    ("ip_address", "IP address", "Static IPv4 address of the management interface.", False),
    ("netmask", "Subnet mask", "Subnet mask of the management network, e.g. 255.255.255.0.", False),
    ("gateway", "Default gateway", "Default gateway of the management network.", False),
    ("dns_servers", "DNS servers", "Comma-separated DNS server addresses.", False),
    ("ntp_servers", "NTP servers", "Comma-separated NTP server names or addresses.", False),
    ("admin_password", "Admin password", "Password of the appliance's admin user.", True),
)
PROXY_PROPERTIES = (
    ("hostname", "Host name", "The proxy's host name (FQDN).", False),
    ("ip_address", "IP address", "Static IPv4 address of the proxy's interface.", False),
    ("netmask", "Subnet mask", "Subnet mask of the proxy's network, e.g. 255.255.255.0.", False),
    ("gateway", "Default gateway", "Default gateway of the proxy's network.", False),
    ("dns_servers", "DNS servers", "Comma-separated DNS server addresses.", False),
    (
        "backup_server",
        "Backup server",
        "Address of the backup server the proxy registers with.",
        False,
    ),
    ("admin_password", "Admin password", "Password of the proxy's admin user.", True),
)


class Appliance(NamedTuple):
    """What differs between the stand-in appliances (a NamedTuple: the tests load this script
    without registering it as a module, which dataclasses need)."""

    name: str
    network_description: str
    info: str
    settings_info: str
    product: str
    version: str
    properties: tuple[tuple[str, str, str, bool], ...]
    cpus: int = 2
    memory_mib: int = 1024

    @property
    def disk(self) -> str:
        return f"{self.name}-disk1.vmdk"


APPLIANCES = {
    NAME: Appliance(
        NAME,
        "The replication manager's management network",
        "The replication manager (ZVM appliance), lab stand-in",
        "First-boot settings of the replication manager appliance",
        "Zerto Virtual Manager Appliance (vmrepl lab stand-in)",
        "10.0",
        PROPERTIES,
    ),
    PROXY_NAME: Appliance(
        PROXY_NAME,
        "The network the proxy reaches the backup server and vCenter on",
        "The VM recovery (backup) proxy, one per hypervisor, lab stand-in",
        "First-boot settings of the backup proxy",
        "VM recovery proxy (vmrepl lab stand-in)",
        "1.0",
        PROXY_PROPERTIES,
        cpus=4,
        memory_mib=4096,
    ),
}


def _sector_pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % SECTOR)


def _header(capacity: int, descriptor_sectors: int, overhead: int, gd_offset: int) -> bytes:
    fields = struct.pack(
        "<IIIQQQQIQQQB4sH",
        0x564D444B,  # "KDMV"
        3,  # version 3: streamOptimized
        0x00030001,  # valid newline test | compressed grains | markers
        capacity,
        GRAIN_SECTORS,
        1,  # the embedded descriptor starts at sector 1
        descriptor_sectors,
        GTES_PER_GT,
        0,  # no redundant grain directory
        gd_offset,
        overhead,
        0,  # clean shutdown
        b"\n \r\n",
        1,  # deflate
    )
    return _sector_pad(fields)


def _marker(sectors: int, kind: int) -> bytes:
    return _sector_pad(struct.pack("<QII", sectors, 0, kind))


def build_vmdk(capacity_mib: int = CAPACITY_MIB, file_name: str = DISK) -> bytes:
    """A streamOptimized VMDK of ``capacity_mib`` with no allocated grains."""
    capacity = capacity_mib * 1024 * 1024 // SECTOR
    cylinders = min(capacity // (255 * 63), 65535)
    descriptor = (
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=7a3e9c11\n"
        "parentCID=ffffffff\n"
        'createType="streamOptimized"\n'
        "\n"
        "# Extent description\n"
        f'RW {capacity} SPARSE "{file_name}"\n'
        "\n"
        "# The Disk Data Base\n"
        "#DDB\n"
        "\n"
        'ddb.virtualHWVersion = "14"\n'
        f'ddb.geometry.cylinders = "{cylinders}"\n'
        'ddb.geometry.heads = "255"\n'
        'ddb.geometry.sectors = "63"\n'
        'ddb.adapterType = "lsilogic"\n'
    ).encode()
    descriptor_block = _sector_pad(descriptor)
    descriptor_sectors = len(descriptor_block) // SECTOR
    overhead = 128
    gt_sectors = GTES_PER_GT * 4 // SECTOR
    num_gts = -(-capacity // (GRAIN_SECTORS * GTES_PER_GT))

    out = bytearray(_header(capacity, descriptor_sectors, overhead, 0xFFFFFFFFFFFFFFFF))
    out += descriptor_block
    out += b"\0" * (overhead * SECTOR - len(out))
    gt_offsets = []
    for _ in range(num_gts):
        out += _marker(gt_sectors, 1)  # MARKER_GT
        gt_offsets.append(len(out) // SECTOR)
        out += b"\0" * (gt_sectors * SECTOR)  # every grain unallocated: reads as zeros
    directory = _sector_pad(struct.pack(f"<{num_gts}I", *gt_offsets))
    out += _marker(len(directory) // SECTOR, 2)  # MARKER_GD
    gd_offset = len(out) // SECTOR
    out += directory
    out += _marker(1, 3)  # MARKER_FOOTER
    out += _header(capacity, descriptor_sectors, overhead, gd_offset)
    out += _marker(0, 0)  # MARKER_EOS
    return bytes(out)


def _properties_xml(properties: tuple[tuple[str, str, str, bool], ...] = PROPERTIES) -> str:
    items = []
    for key, label, description, password in properties:
        secret = ' ovf:password="true"' if password else ""
        qualifiers = ' ovf:qualifiers="MinLen(8)"' if password else ""
        items.append(
            f'      <Property ovf:key="{key}" ovf:type="string" ovf:userConfigurable="true"'
            f'{secret}{qualifiers} ovf:value="">\n'
            f"        <Label>{label}</Label>\n"
            f"        <Description>{description}</Description>\n"
            "      </Property>"
        )
    return "\n".join(items)


def build_ovf(disk_size: int, appliance: Appliance = APPLIANCES[NAME]) -> str:
    a = appliance
    DISK, NAME = a.disk, a.name
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:href="{DISK}" ovf:id="file1" ovf:size="{disk_size}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{CAPACITY_MIB}" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" ovf:populatedSize="0"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="Management">
      <Description>{a.network_description}</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{NAME}">
    <Info>{a.info}</Info>
    <Name>{NAME}</Name>
    <OperatingSystemSection ovf:id="94" vmw:osType="ubuntu64Guest">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection ovf:transport="com.vmware.guestInfo">
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{NAME}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-14</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>{a.cpus} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{a.cpus}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>{a.memory_mib}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{a.memory_mib}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>SCSI Controller</rasd:Description>
        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>Management</rasd:Connection>
        <rasd:Description>VmxNet3 ethernet adapter on "Management"</rasd:Description>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
    <ProductSection ovf:required="false">
      <Info>{a.settings_info}</Info>
      <Product>{a.product}</Product>
      <Vendor>vmrepl lab</Vendor>
      <Version>{a.version}</Version>
      <Category>Appliance settings</Category>
{_properties_xml(a.properties)}
    </ProductSection>
  </VirtualSystem>
</Envelope>
"""


def build(name: str = NAME) -> dict[str, bytes]:
    """The package's files by name: descriptor, disk and manifest."""
    appliance = APPLIANCES[name]
    disk = build_vmdk(file_name=appliance.disk)
    ovf = build_ovf(len(disk), appliance).encode()
    files = {f"{name}.ovf": ovf, appliance.disk: disk}
    manifest = "".join(
        f"SHA256({name})= {hashlib.sha256(data).hexdigest()}\n" for name, data in files.items()
    )
    files[f"{name}.mf"] = manifest.encode()
    return files


def write_ova(files: dict[str, bytes], path: Path, name: str = NAME) -> None:
    """An OVA: a plain tar with the descriptor first and the manifest next, as OVF requires."""
    order = [f"{name}.ovf", f"{name}.mf", APPLIANCES[name].disk]
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for member in order:
            info = tarfile.TarInfo(member)
            info.size = len(files[member])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[member]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory for the files")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--ova", type=Path, help="also write an OVA to this path")
    parser.add_argument(
        "--appliance", choices=sorted(APPLIANCES), default=NAME, help="the appliance of --ova"
    )
    args = parser.parse_args(argv)
    files = {f: data for name in APPLIANCES for f, data in build(name).items()}
    if args.check:
        stale = [
            name
            for name, data in files.items()
            if not (args.out / name).is_file() or (args.out / name).read_bytes() != data
        ]
        if stale:
            print(f"out of date: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
    if args.ova:
        write_ova(build(args.appliance), args.ova, args.appliance)
    return 0


if __name__ == "__main__":
    sys.exit(main())
