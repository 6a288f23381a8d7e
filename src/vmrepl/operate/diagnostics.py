"""``vmrepl diagnostics --archive FILE``: one ``.tar.gz`` for the vendor's support, per site
pair, with every secret redacted.

Per site: the ZVM's localsite, peersites, VPGs, VMs, VRAs, alerts, events and tasks of the
window, the licence without its key, datastores; vCenter's view of the VRA VMs and the hosts
(pyVmomi, one PropertyCollector read each); then a version matrix, the summaries of our recent
runs (the artifact directory's runs, the report directory, the audit log) and the ``diagnose``
result. Redaction is twofold: secret-looking keys (``LicenseKey``, ``password``, ``token``, ...)
are blanked wherever they are, and every secret value the inventory holds (passwords, licence
keys) is replaced wherever it appears; the archive is then searched for each of them and not
written when one is found.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vmrepl.operate import diagnose as dx

#: Keys whose values are secrets wherever they appear.
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|private_?key|api_?key|licen[cs]e_?key|"
    r"authorization|cookie|session",
    re.IGNORECASE,
)
REDACTED = "********"
#: Recent runs summarised from the artifact directory.
RECENT_RUNS = 20

#: What vCenter is asked about the VRA VMs and the hosts.
VM_PROPERTIES = [
    "name",
    "runtime.powerState",
    "runtime.host",
    "runtime.connectionState",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "guest.ipAddress",
]
HOST_PROPERTIES = [
    "name",
    "runtime.connectionState",
    "runtime.inMaintenanceMode",
    "runtime.powerState",
    "config.product.fullName",
    "config.product.version",
    "config.product.build",
]


class SecretLeft(Exception):
    """A secret would have gone into the archive (the archive is not written)."""


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with secret-looking keys blanked and each secret string replaced."""
    values = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {
                k: (REDACTED if SECRET_KEY.search(str(k)) and v not in (None, "") else walk(v))
                for k, v in node.items()
            }
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        if isinstance(node, str):
            for secret in values:
                node = node.replace(secret, REDACTED)
            return node
        return node

    return walk(value)


def _plain(value: Any) -> Any:
    """pyVmomi values as JSON: references by their moref id, enums and dates as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    moid = getattr(value, "_moId", None)
    if moid is not None:
        return str(moid)
    return str(value)


def vcenter_view(site: Any, vra_names: list[str], timeout: float) -> dict[str, Any]:
    """vCenter's view of the site's VRA VMs and hosts, and its own version."""
    from pyVmomi import vim

    from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
        VSphereClient,
    )

    params = site.vcenter_params(timeout=timeout)
    if params is None:
        return {"error": "no vCenter connection in the inventory for this site"}
    with VSphereClient.connect(params) as vc:
        about = vc.content.about
        wanted = {n.lower() for n in vra_names}
        vms = [
            {"moid": o.moid, **{k: _plain(v) for k, v in o.props.items()}}
            for o in vc.retrieve(vim.VirtualMachine, VM_PROPERTIES)
            if str(o["name"]).lower() in wanted or str(o["name"]).lower().startswith("z-vra")
        ]
        hosts = [
            {"moid": o.moid, **{k: _plain(v) for k, v in o.props.items()}}
            for o in vc.retrieve(vim.HostSystem, HOST_PROPERTIES)
        ]
        return {
            "about": {
                "fullName": about.fullName,
                "version": about.version,
                "build": about.build,
                "apiVersion": about.apiVersion,
                "instanceUuid": about.instanceUuid,
            },
            "vra_vms": vms,
            "hosts": hosts,
        }


def collect_site(
    site: Any, since: datetime, timeout: float, stage: Callable[[str], None]
) -> dict[str, Any]:
    """Everything the archive holds of one site (errors recorded, not raised)."""
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
        ZvmClient,
        masked,
    )

    out: dict[str, Any] = {"zvm": {}, "errors": {}}
    start = dx.iso(since)
    reads: dict[str, Callable[[Any], Any]] = {
        "localsite": lambda z: z.local_site(),
        "peersites": lambda z: z.peer_sites(),
        "vpgs": lambda z: z.vpgs(),
        "vms": lambda z: z.vms(),
        "vras": lambda z: z.vras(),
        "alerts": lambda z: z.get("/v1/alerts", {"startDate": start}),
        "alerts_on": lambda z: z.alerts(is_dismissed=False),
        "events": lambda z: dx.events_since(z, since),
        "tasks": lambda z: dx.tasks_since(z, since),
        "license": lambda z: z.license(),
        "datastores": lambda z: z.datastores(),
        "server_time_utc": dx.server_time,
    }
    try:
        with ZvmClient(site.zvm_params(timeout=timeout)) as zvm:
            stage(f"logging in to {zvm.where}")
            zvm.login()
            for name, call in reads.items():
                stage(f"reading {name}")
                try:
                    out["zvm"][name] = call(zvm)
                except Exception as exc:  # recorded in the archive, the rest goes on
                    out["errors"][f"zvm {name}"] = str(exc)
    except Exception as exc:
        out["errors"]["zvm"] = str(exc)
    if "license" in out["zvm"]:
        # the client's masking; the key itself is then a secret of the whole archive
        out["zvm"]["license"], found = masked(out["zvm"]["license"])
        out["secrets"] = sorted(found)
    names = [str(v.get("VraName")) for v in out["zvm"].get("vras") or [] if v.get("VraName")]
    stage("reading vCenter")
    try:
        out["vcenter"] = vcenter_view(site, names, timeout)
    except Exception as exc:
        out["errors"]["vcenter"] = str(exc)
    return out


def versions(sites: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Versions of everything in the pair: ZVMs, their peers' view, VRAs, vCenters, hosts, and
    the tools that made the archive."""
    from importlib import metadata

    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    matrix: dict[str, Any] = {
        "tools": {
            name: dist(name) for name in ("vmrepl", "ansible-core", "ansible-runner", "pyvmomi")
        },
        "sites": {},
    }
    for name, data in sites.items():
        zvm = data.get("zvm", {})
        local = zvm.get("localsite") or {}
        vc = data.get("vcenter") or {}
        matrix["sites"][name] = {
            "zvm": {k: local.get(k) for k in ("Version", "DisplayVersion", "ZvmApiVersion")},
            "peers": [
                {"site": p.get("PeerSiteName"), "version": p.get("Version")}
                for p in zvm.get("peersites") or []
            ],
            "vras": [
                {
                    "vra": v.get("VraName"),
                    "host": v.get("HostDisplayName"),
                    "vra_version": v.get("VraVersion"),
                    "host_version": v.get("HostVersion"),
                }
                for v in zvm.get("vras") or []
            ],
            "vcenter": (vc.get("about") or {}),
            "hosts": [
                {
                    "host": h.get("name"),
                    "version": h.get("config.product.version"),
                    "build": h.get("config.product.build"),
                }
                for h in vc.get("hosts") or []
            ],
        }
    return matrix


def recent_runs(artifact_dir: Path, report_dir: Path | None, audit_log: Path | None) -> Any:
    """Our recent runs: the summary of each (from its events), the report files, the audit
    log's last lines."""
    from vmrepl.results import summarise

    runs = []
    found = [*artifact_dir.glob("*/job_events"), *artifact_dir.glob("*/*/job_events")]
    folders = sorted((p.parent for p in found if p.is_dir()), key=lambda p: p.stat().st_mtime)[
        -RECENT_RUNS:
    ]
    for folder in folders:
        events = []
        for path in sorted((folder / "job_events").glob("*.json")):
            try:
                events.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        status = (folder / "status").read_text().strip() if (folder / "status").is_file() else ""
        playbook = next(
            (str(e.get("event_data", {}).get("playbook")) for e in events
             if e.get("event") == "playbook_on_start"), None,
        )  # fmt: skip
        summary = summarise(events, status or "unknown").as_dict()
        runs.append({"run": folder.name, "playbook": playbook, "status": status, **summary})
    reports: dict[str, Any] = {}
    if report_dir and report_dir.is_dir():
        for path in sorted(report_dir.rglob("*.json"))[-50:]:
            try:
                reports[str(path.relative_to(report_dir))] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
    audit: list[Any] = []
    if audit_log and audit_log.is_file():
        for line in audit_log.read_text(errors="replace").splitlines()[-200:]:
            try:
                audit.append(json.loads(line))
            except ValueError:
                audit.append(line)
    return {"runs": runs, "reports": reports, "audit": audit}


def evidence_dirs() -> tuple[Path, Path | None, Path | None]:
    """The artifact directory (as ``vmrepl`` commands use it), the report directory and the
    audit log (as the ``evidence_path`` lookup finds them outside a run)."""
    from ansible_collections.vmrepl.core.plugins.lookup.evidence_path import evidence_path
    from vmrepl.cli.execute import default_artifact_dir

    env = {k: v for k, v in os.environ.items() if k != "AWX_ISOLATED_DATA_DIR"}
    return (
        default_artifact_dir(),
        Path(evidence_path("reports", env)),
        Path(evidence_path("audit", env)),
    )


def build(
    sites: list[Any],
    archive: Path,
    since: datetime,
    timeout: float = 60.0,
    run_within: Callable[..., dict[str, Any]] | None = None,
    extra_secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """Collect the pair and write ``archive``; returns the manifest."""
    from vmrepl import __version__
    from vmrepl.operate.sites import Deadline
    from vmrepl.operate.sites import run_within as default_run_within

    runner = run_within or default_run_within
    started = time.monotonic()

    def job(site: Any) -> Callable[[Callable[[str], None]], Any]:
        return lambda stage: collect_site(site, since, timeout, stage)

    work = {s.name: job(s) for s in sites}
    try:
        collected = runner(timeout * 3, work)
    except Deadline as exc:
        raise SitesTimeout(str(exc)) from None
    data: dict[str, dict[str, Any]] = {}
    for name, value in collected.items():
        data[name] = (
            {"zvm": {}, "errors": {"site": str(value)}}
            if isinstance(value, BaseException)
            else value
        )
    # diagnose from what was read
    reads: dict[str, Any] = {}
    for name, value in data.items():
        z = value["zvm"]
        if "localsite" not in z or "vpgs" not in z:
            reads[name] = {"error": value["errors"].get("zvm", "the ZVM could not be read")}
            continue
        reads[name] = {
            "now": z.get("server_time_utc"),
            "site": z.get("localsite"),
            "peers": z.get("peersites") or [],
            "vras": z.get("vras") or [],
            "vpgs": z.get("vpgs") or [],
            "alerts": z.get("alerts_on") or [],
            "events": z.get("events") or [],
            "tasks": z.get("tasks") or [],
        }
    diagnosis = dx.diagnose(reads, paired={s.name: s.edition == "remote" for s in sites})
    artifact_dir, report_dir, audit_log = evidence_dirs()
    secrets = [s for site in sites for s in site.secrets] + [
        s for value in data.values() for s in value.get("secrets", [])
    ] + [
        v for k, v in os.environ.items() if v and SECRET_KEY.search(k) and len(v) >= 6
    ] + list(extra_secrets)  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = f"vmrepl-diagnostics-{'-'.join(sorted(data))}-{stamp}"
    files: dict[str, Any] = {}
    for name, value in data.items():
        for part, content in value["zvm"].items():
            files[f"sites/{name}/zvm/{part}.json"] = content
        for part, content in (value.get("vcenter") or {}).items():
            files[f"sites/{name}/vcenter/{part}.json"] = content
        files[f"sites/{name}/errors.json"] = value["errors"]
    files["versions.json"] = versions(data)
    files["runs.json"] = recent_runs(artifact_dir, report_dir, audit_log)
    files["diagnose.json"] = diagnosis
    manifest = {
        "vmrepl": __version__,
        "created": dx.iso(datetime.now(UTC)),
        "sites": sorted(data),
        "window": {"since": dx.iso(since)},
        "files": sorted([*files, "diagnose.txt", "manifest.json"]),
        "redacted": "secret-looking keys and every secret value of the inventory",
        "duration_seconds": round(time.monotonic() - started, 1),
    }
    files["manifest.json"] = manifest
    blobs = {
        path: (json.dumps(redact(content, secrets), indent=2, default=str) + "\n").encode()
        for path, content in files.items()
    }
    blobs["diagnose.txt"] = (str(redact(dx.render(diagnosis), secrets)) + "\n").encode()
    for path, blob in blobs.items():
        for secret in {s for s in secrets if s and len(s) >= 3}:
            if secret.encode() in blob:
                raise SecretLeft(f"{path} would hold a secret; the archive was not written.")
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".part")
    with tarfile.open(partial, "w:gz") as tar:
        for path, blob in sorted(blobs.items()):
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size = len(blob)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(blob))
    partial.chmod(0o600)
    partial.replace(archive)
    return {**manifest, "archive": str(archive), "diagnosis": diagnosis}


class SitesTimeout(Exception):
    """The sites could not be read in time."""


def window(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
