# Copyright: vmrepl contributors
# Apache License 2.0
"""OVF / OVA import into vCenter: parse a package, CreateImportSpec, ImportVApp, upload over NFC.

Plain Python on top of the vSphere client (:mod:`.vsphere`), no Ansible imports. OVF property
values may be credentials: they are never logged nor put in messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import re
import ssl
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    ConnectionFailed,
    TaskFailed,
    TaskTimeout,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    fault_message,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until

with contextlib.suppress(ImportError):  # reported by the modules (vsphere.HAS_PYVMOMI)
    from pyVmomi import vim, vmodl

# -- OVF / OVA import ---------------------------------------------------------------------------
# Read a package (an .ovf with its files beside it, or an .ova tar), CreateImportSpec, ImportVApp,
# upload every file over the NFC lease (TLS verified like the SOAP connection), complete the lease
# or abort it (and remove the half-imported VM), then read -> compare -> act for a VM deployed
# from an OVF. OVF property values may be credentials: they are never logged nor put in messages.

_OVF_NS = "{http://schemas.dmtf.org/ovf/envelope/1}"
_UPLOAD_CHUNK = 1024 * 1024
_LEASE_PROGRESS_INTERVAL = 5.0
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|credential|private.?key", re.IGNORECASE)
#: The VM properties reported for an OVF-deployed VM.
OVF_VM_PROPERTIES = (
    "name",
    "runtime.powerState",
    "runtime.host",
    "datastore",
    "config.instanceUuid",
    "guest.ipAddress",
    "guest.toolsRunningStatus",
)

T = TypeVar("T")


@dataclass(frozen=True)
class OvfFile:
    """One entry of the descriptor's References section."""

    id: str
    href: str
    size: int | None = None
    compression: str | None = None


@dataclass(frozen=True)
class OvfProperty:
    """One ProductSection property; ``key`` is qualified (``class.key.instance``) as vSphere
    expects it in a property mapping."""

    key: str
    type: str = "string"
    password: bool = False
    default: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class OvfDescriptor:
    name: str | None
    files: tuple[OvfFile, ...]
    networks: tuple[str, ...]
    properties: tuple[OvfProperty, ...]

    @property
    def password_keys(self) -> frozenset[str]:
        return frozenset(p.key for p in self.properties if p.password)


def parse_ovf(text: str) -> OvfDescriptor:
    """The parts of an OVF descriptor that an import needs: files, networks, properties."""
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - the operator's own package, not remote input
    except ElementTree.ParseError as exc:
        raise ConfigurationError(f"The OVF descriptor is not valid XML: {exc}.") from exc
    if root.tag != f"{_OVF_NS}Envelope":
        raise ConfigurationError("The file is not an OVF descriptor (no ovf:Envelope).")

    def attr(element: Any, name: str) -> str | None:
        return element.get(f"{_OVF_NS}{name}")

    files = []
    for item in root.iterfind(f"{_OVF_NS}References/{_OVF_NS}File"):
        size = attr(item, "size")
        files.append(
            OvfFile(
                id=attr(item, "id") or "",
                href=attr(item, "href") or "",
                size=int(size) if size else None,
                compression=attr(item, "compression"),
            )
        )
    networks = tuple(
        attr(n, "name") or "" for n in root.iterfind(f".//{_OVF_NS}NetworkSection/{_OVF_NS}Network")
    )
    properties = []
    for section in root.iter(f"{_OVF_NS}ProductSection"):
        cls, instance = attr(section, "class"), attr(section, "instance")
        for prop in section.iterfind(f"{_OVF_NS}Property"):
            key = ".".join(part for part in (cls, attr(prop, "key"), instance) if part)
            properties.append(
                OvfProperty(
                    key=key,
                    type=attr(prop, "type") or "string",
                    password=(attr(prop, "password") or "").lower() == "true",
                    default=attr(prop, "value"),
                    label=prop.findtext(f"{_OVF_NS}Label"),
                )
            )
    name = root.findtext(f"{_OVF_NS}VirtualSystem/{_OVF_NS}Name")
    return OvfDescriptor(name, tuple(files), networks, tuple(properties))


def parse_manifest(text: str) -> dict[str, tuple[str, str]]:
    """``{file name: (hash algorithm, hex digest)}`` from an OVF manifest (``SHA256(f)= hex``)."""
    entries: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(SHA1|SHA256|SHA512)\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*", line)
        if match:
            entries[match.group(2)] = (match.group(1).lower(), match.group(3).lower())
    return entries


def check_href(href: str) -> str:
    """A package file name, refused when it would leave the package (absolute, ``..``, URL)."""
    parts = PurePosixPath(href).parts
    if not href or "://" in href or PurePosixPath(href).is_absolute() or ".." in parts:
        raise ConfigurationError(
            f"The OVF references {href!r}, which is outside the package.",
            hint="Only files inside the OVF's folder or the OVA are imported.",
        )
    return str(PurePosixPath(*parts))


def looks_secret(key: str) -> bool:
    """Whether an OVF property name suggests a credential (its value is then never shown)."""
    return bool(_SECRET_KEY.search(key))


def mask_properties(properties: Mapping[str, str], secret_keys: Iterable[str]) -> dict[str, str]:
    """The properties to show: values of secret or credential-like keys replaced."""
    secret = set(secret_keys)
    return {
        key: "********" if key in secret or looks_secret(key) else value
        for key, value in sorted(properties.items())
    }


def check_properties(descriptor: OvfDescriptor, given: Mapping[str, str]) -> None:
    """Refuse property keys that the OVF does not declare (names only: values may be secret)."""
    known = {p.key for p in descriptor.properties}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ConfigurationError(
            f"The OVF declares no propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(unknown)}.",
            hint=f"Its properties are: {', '.join(sorted(known)) or 'none'}.",
        )


def nfc_url(url: str, hostname: str, port: int) -> str:
    """An NFC device URL made usable: a ``*`` host (vcsim; some vCenters) becomes the vCenter's
    host and port."""
    parts = urlsplit(url)
    if parts.hostname != "*":
        return url
    host = f"[{hostname}]" if ":" in hostname else hostname
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


@dataclass(frozen=True)
class Upload:
    """One file of the package to send to one NFC device URL."""

    href: str
    url: str
    size: int
    disk: bool
    create: bool


def files_to_upload(
    file_items: Iterable[Any], device_urls: Iterable[Any], hostname: str, port: int
) -> list[Upload]:
    """Pair the import spec's file items with the lease's device URLs (``deviceId`` ==
    ``importKey``): the files to upload, in the import spec's order. A file item without a URL
    means the lease does not match the spec: refused rather than half-imported."""
    urls = {d.importKey: d for d in device_urls}
    uploads = []
    for item in file_items:
        device = urls.get(item.deviceId)
        if device is None:
            raise TaskFailed(
                f"vCenter's import lease has no upload URL for {item.path} ({item.deviceId})."
            )
        uploads.append(
            Upload(
                href=check_href(item.path),
                url=nfc_url(device.url, hostname, port),
                size=int(item.size or 0),
                disk=bool(device.disk),
                create=bool(item.create),
            )
        )
    return uploads


class OvfPackage:
    """An OVF package on disk: a descriptor file with its files beside it, or an OVA (tar)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if not self.path.is_file():
            raise ConfigurationError(f"No OVF or OVA file at {self.path}.")
        if tarfile.is_tarfile(self.path):
            self._tar = tarfile.open(self.path, "r:")  # noqa: SIM115 - closed by close()
            for member in self._tar.getmembers():
                if member.isfile():
                    self._members[str(PurePosixPath(member.name))] = member
            names = [n for n in self._members if n.endswith(".ovf")]
            if not names:
                self.close()
                raise ConfigurationError(f"{self.path} is a tar file without an .ovf descriptor.")
            self.descriptor_name = names[0]
        else:
            self.descriptor_name = self.path.name
        self.descriptor_text = self.read(self.descriptor_name).decode("utf-8-sig")
        self.descriptor = parse_ovf(self.descriptor_text)
        for ovf_file in self.descriptor.files:
            if ovf_file.compression or ovf_file.href.endswith(".gz"):
                raise ConfigurationError(
                    f"{ovf_file.href} is compressed or chunked in the package; not supported.",
                    hint="Repack the OVA without compression (ovftool --compress=0).",
                )
            self.size(check_href(ovf_file.href))  # every referenced file is there
        # The manifest: the OVA's .mf, or the .mf named like the .ovf beside it.
        if self._tar is not None:
            manifests = [n for n in self._members if n.endswith(".mf")]
        else:
            manifests = [self.path.with_suffix(".mf").name]
            manifests = [n for n in manifests if self._local(n).is_file()]
        self.manifest = parse_manifest(self.read(manifests[0]).decode()) if manifests else {}
        self.verify(self.descriptor_name, self.read(self.descriptor_name))

    def _local(self, href: str) -> Path:
        return self.path.parent / check_href(href)

    def size(self, href: str) -> int:
        if self._tar is not None:
            member = self._members.get(check_href(href))
            if member is None:
                raise ConfigurationError(f"{self.path} does not contain {href}.")
            return member.size
        local = self._local(href)
        if not local.is_file():
            raise ConfigurationError(
                f"{href}, referenced by the OVF, is not in {self.path.parent}."
            )
        return local.stat().st_size

    @contextlib.contextmanager
    def open(self, href: str) -> Iterator[IO[bytes]]:
        self.size(href)
        if self._tar is not None:
            stream = self._tar.extractfile(self._members[check_href(href)])
            assert stream is not None
            with stream:
                yield stream
        else:
            with self._local(href).open("rb") as local:
                yield local

    def read(self, href: str) -> bytes:
        with self.open(href) as stream:
            return stream.read()

    def hasher(self, href: str) -> Any:
        """A hash object for the file's manifest entry, or None when the manifest has none."""
        entry = self.manifest.get(check_href(href))
        return hashlib.new(entry[0]) if entry else None

    def verify(self, href: str, data_or_hash: Any) -> None:
        """Refuse a file whose digest differs from the manifest's."""
        entry = self.manifest.get(check_href(href))
        if entry is None:
            return
        digest = (
            hashlib.new(entry[0], data_or_hash).hexdigest()
            if isinstance(data_or_hash, bytes)
            else data_or_hash.hexdigest()
        )
        if digest != entry[1]:
            raise ConfigurationError(
                f"{href} in {self.path} does not match its manifest ({entry[0].upper()}).",
                hint="The package is corrupt or altered: download it again from the vendor.",
            )

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def __enter__(self) -> OvfPackage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class OvfImportTarget:
    """Where an OVF goes: references resolved in vCenter."""

    resource_pool: Any
    datastore: Any
    folder: Any
    host: Any = None
    network_mapping: Mapping[str, Any] = field(default_factory=dict)


def import_ovf(
    client: VSphereClient,
    package: OvfPackage,
    name: str,
    target: OvfImportTarget,
    properties: Mapping[str, str] | None = None,
    *,
    on_progress: Callable[[int], None] | None = None,
    lease_timeout: float = 300.0,
) -> Any:
    """Import ``package`` as VM ``name`` and return the VM reference.

    CreateImportSpec (with the network mapping and OVF properties), ImportVApp, then every file
    over the NFC lease with progress reported to vCenter and to ``on_progress(percent)``, then
    HttpNfcLeaseComplete. On any failure the lease is aborted and the VM removed."""
    properties = dict(properties or {})
    check_properties(package.descriptor, properties)
    params = vim.OvfManager.CreateImportSpecParams(
        entityName=name,
        diskProvisioning="thin",
        networkMapping=[
            vim.OvfManager.NetworkMapping(name=ovf_name, network=network)
            for ovf_name, network in target.network_mapping.items()
        ],
        propertyMapping=[vim.KeyValue(key=k, value=v) for k, v in properties.items()],
    )
    if target.host is not None:
        params.hostSystem = target.host
    client.calls += 1
    result = client.content.ovfManager.CreateImportSpec(
        ovfDescriptor=package.descriptor_text,
        resourcePool=target.resource_pool,
        datastore=target.datastore,
        cisp=params,
    )
    if result.error:
        raise ConfigurationError(
            f"vCenter cannot import {package.path.name}: "
            + "; ".join(fault_message(e) for e in result.error)
        )
    client.calls += 1
    lease = target.resource_pool.ImportVApp(
        spec=result.importSpec, folder=target.folder, host=target.host
    )
    entity = None
    try:
        info = _wait_lease_ready(client, lease, lease_timeout)
        entity = info.entity  # read now: vcsim forgets the lease once it is complete
        uploads = files_to_upload(
            result.fileItem or [], info.deviceUrl or [], client.params.hostname, client.params.port
        )
        _upload_files(client, lease, package, uploads, on_progress)
        client.calls += 1
        lease.HttpNfcLeaseComplete()
    except BaseException as exc:
        _abort_import(client, lease, entity, exc)
        raise
    return entity


def _wait_lease_ready(client: VSphereClient, lease: Any, timeout: float) -> Any:
    initializing = vim.HttpNfcLease.State.initializing

    def ready() -> Any:
        obj = client.retrieve_objects([lease], ["state", "error", "info"])[0]
        if obj["state"] == vim.HttpNfcLease.State.error:
            raise TaskFailed(f"vCenter could not start the import: {fault_message(obj['error'])}")
        return None if obj["state"] == initializing else obj["info"]

    return poll_until(
        ready,
        timeout=timeout,
        interval=0.5,
        timeout_error=lambda: TaskTimeout(
            f"vCenter's import lease was not ready within {timeout:.0f} s."
        ),
    )


def _upload_files(
    client: VSphereClient,
    lease: Any,
    package: OvfPackage,
    uploads: Sequence[Upload],
    on_progress: Callable[[int], None] | None,
) -> None:
    total = sum(package.size(u.href) for u in uploads) or 1
    state = {"sent": 0, "percent": -1, "reported": 0.0}

    def sent(count: int) -> None:
        state["sent"] += count
        percent = min(100, int(state["sent"] * 100 // total))
        if percent != state["percent"]:
            state["percent"] = percent
            if on_progress is not None:
                on_progress(percent)
        now = time.monotonic()
        if now - state["reported"] >= _LEASE_PROGRESS_INTERVAL:
            state["reported"] = now  # also keeps the lease from timing out
            client.calls += 1
            lease.HttpNfcLeaseProgress(percent=percent)

    for upload in uploads:
        _upload_one(client, package, upload, sent)
    client.calls += 1
    lease.HttpNfcLeaseProgress(percent=100)


def _upload_one(
    client: VSphereClient, package: OvfPackage, upload: Upload, sent: Callable[[int], None]
) -> None:
    parts = urlsplit(upload.url)
    where = f"{parts.hostname}:{parts.port or 443}"
    connection = http.client.HTTPSConnection(
        parts.hostname or "",
        parts.port or 443,
        context=client.params.ssl_context(),
        timeout=client.params.timeout,
    )
    hasher = package.hasher(upload.href)
    try:
        size = package.size(upload.href)
        path = urlunsplit(parts._replace(scheme="", netloc=""))
        connection.putrequest("PUT" if upload.create else "POST", path)
        connection.putheader(
            "Content-Type",
            "application/x-vnd.vmware-streamVmdk" if upload.disk else "application/octet-stream",
        )
        connection.putheader("Content-Length", str(size))
        cookie = getattr(client.si._stub, "cookie", None)
        if cookie and parts.hostname == client.params.hostname:
            connection.putheader("Cookie", cookie)  # an upload through the vCenter itself
        connection.endheaders()
        with package.open(upload.href) as stream:
            while chunk := stream.read(_UPLOAD_CHUNK):
                connection.send(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                sent(len(chunk))
        response = connection.getresponse()
        response.read()
        if not 200 <= response.status < 300:
            raise TaskFailed(
                f"Uploading {upload.href} to {where} failed: "
                f"HTTP {response.status} {response.reason}."
            )
    except ssl.SSLCertVerificationError as exc:
        raise ConnectionFailed(
            f"Uploading {upload.href}: the TLS certificate of {where} could not be verified "
            f"({exc.verify_message}).",
            hint="Give the CA that signed the vCenter's and the hosts' certificates with ca_file.",
        ) from exc
    except OSError as exc:
        raise ConnectionFailed(f"Uploading {upload.href} to {where} failed: {exc}.") from exc
    finally:
        connection.close()
    if hasher is not None:
        package.verify(upload.href, hasher)


def _abort_import(client: VSphereClient, lease: Any, entity: Any, error: BaseException) -> None:
    """Abort the lease (vCenter then removes the VM) and remove the VM if it is still there
    (vcsim keeps it). Best effort: the original error is what the caller reports."""
    reason = type(error).__name__ if not isinstance(error, VmreplError) else error.message
    with contextlib.suppress(Exception):
        client.calls += 1
        lease.HttpNfcLeaseAbort(fault=vmodl.fault.SystemError(reason=reason[:200]))
    if entity is None:
        return
    with contextlib.suppress(Exception):
        if client.retrieve_objects([entity], ["name"]):
            client.destroy([entity])


def wait_for_vm_ip(client: VSphereClient, vm: Any, timeout: float, interval: float = 2.0) -> str:
    """The VM's IP address as VMware Tools report it, waiting up to ``timeout`` seconds."""
    seen: dict[str, Any] = {}

    def address() -> str | None:
        properties = ["name", "guest.ipAddress", "guest.toolsRunningStatus"]
        obj = client.retrieve_objects([vm], properties)[0]
        seen.update(obj.props)
        return obj["guest.ipAddress"] or None

    return poll_until(
        address,
        timeout=timeout,
        interval=interval,
        timeout_error=lambda: TaskTimeout(
            f"VM {seen.get('name')} reported no IP address within {timeout:.0f} s "
            f"(VMware Tools: {seen.get('guest.toolsRunningStatus') or 'unknown'}).",
            hint="Check its network settings and console. A simulated vCenter (vcsim) never "
            "reports one: set wait_for_ip: false there.",
        ),
    )
