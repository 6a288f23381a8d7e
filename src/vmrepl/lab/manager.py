"""``vmrepl lab``: bring the embedded lab up and down.

A lab is one or two simulated sites on loopback; each is a vcsim (vCenter) and a ZVM simulator
that acts on it. A site starts bare, as a new customer's is: hosts, datastores, networks and VMs,
and a dormant ZVM that answers only once its appliance VM is deployed and booted (and is then
unlicensed). ``deployed`` starts where the tests after the deployment begin: each site's
appliance deployed and powered on, its ZVM answering and licensed (no VRAs, not paired).

What runs is recorded in ``<lab dir>/state.json`` (mode 0600: it holds the lab's generated
passwords and licence keys), so that ``status`` can find the sites and ``down`` stops exactly
what ``up`` started, by pid. ``up`` and ``down`` hold a lock in the lab dir, so that two callers
at once get one lab.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmrepl import paths
from vmrepl.lab import process
from vmrepl.lab.appliance import (
    APPLIANCE_OVF,
    PROXY_OVF,
    VCenterAccess,
    _call,
    answers,
    install_zvm,
)
from vmrepl.lab.certs import ServerCertificate, ensure_lab_certificates
from vmrepl.lab.process import LabError
from vmrepl.lab.vcsim import VcsimTopology, start_vcsim

EDITION_SITES = {"remote": ("source", "target"), "local": ("local",)}
VCENTER_USER = "administrator@vsphere.local"
ZVM_USER = "admin"
__all__ = [
    "APPLIANCE_OVF",
    "PROXY_OVF",
    "LabError",
    "LabSpec",
    "down",
    "lab_dir",
    "public_status",
    "up",
    "vra_release",
]


def lab_dir() -> Path:
    """``$VMREPL_LAB_DIR``, else ``.lab`` in the checkout (``$XDG_STATE_HOME/vmrepl/lab`` without
    one)."""
    explicit = os.environ.get("VMREPL_LAB_DIR")
    return Path(explicit) if explicit else paths.state_dir("lab")


@dataclass(frozen=True)
class LabSpec:
    edition: str = "remote"
    hosts: int = 2
    vms: int = 2
    task_seconds: float = 2.0
    #: each site's ZVM appliance deployed, booted and licensed (else: bare sites)
    deployed: bool = False
    #: how long an appliance VM runs before its ZVM answers
    boot_seconds: float = 3.0
    #: vcsim counts SOAP calls by method at GET /vmrepl/calls
    count_calls: bool = False

    def validate(self) -> None:
        if self.edition not in EDITION_SITES:
            raise LabError(
                f"edition must be one of {', '.join(EDITION_SITES)}, not {self.edition!r}."
            )
        if not 1 <= self.hosts <= 256:
            raise LabError(f"hosts must be between 1 and 256 per site, not {self.hosts}.")
        if not 0 <= self.vms <= 5000:
            raise LabError(f"vms must be between 0 and 5000, not {self.vms}.")
        if self.task_seconds < 0:
            raise LabError("task_seconds must not be negative.")
        if self.boot_seconds < 0:
            raise LabError("boot_seconds must not be negative.")


def _state_file(directory: Path) -> Path:
    return directory / "state.json"


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """The lab dir's lock (``fcntl.flock``): one ``up`` or ``down`` at a time."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    with open(directory / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_state(directory: Path | None = None) -> dict[str, Any] | None:
    """The recorded lab, or None when there is none."""
    path = _state_file(directory or lab_dir())
    if not path.exists():
        return None
    return dict(json.loads(path.read_text()))


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    path = _state_file(directory)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def _pids(state: dict[str, Any]) -> list[int]:
    pids = []
    for site in state.get("sites", []):
        for part in ("zvm", "vcenter"):
            pid = site.get(part, {}).get("pid")
            if pid:
                pids.append(int(pid))
    return pids


def is_running(state: dict[str, Any] | None) -> bool:
    return bool(state) and all(process.alive(pid) for pid in _pids(state or {}))


def _start_site(
    name: str, spec: LabSpec, cert: ServerCertificate, directory: Path
) -> dict[str, Any]:
    vc_password = secrets.token_urlsafe(12)
    zvm_password = secrets.token_urlsafe(12)
    license_key = "LAB-" + secrets.token_hex(10).upper()
    vc = start_vcsim(
        VcsimTopology(hosts=spec.hosts, vms=spec.vms, count_calls=spec.count_calls),
        cert,
        VCENTER_USER,
        vc_password,
        directory / "logs" / f"{name}-vcsim.log",
    )
    vc_url = str(vc.ready["url"])
    host_port = vc_url.split("//", 1)[1].split("/", 1)[0]
    vc_host, vc_port = host_port.rsplit(":", 1)
    site: dict[str, Any] = {
        "name": name,
        "vcenter": {
            "host": vc_host,
            "port": int(vc_port),
            "username": VCENTER_USER,
            "password": vc_password,
            "ca_file": str(cert.ca_file),
            "pid": vc.pid,
        },
    }
    try:
        zvm = process.start(
            [
                sys.executable,
                "-m",
                "vmrepl.lab.zvm",
                "--site-name",
                name,
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                str(cert.cert_file),
                "--tls-key",
                str(cert.key_file),
                "--ca-file",
                str(cert.ca_file),
                "--vcenter-url",
                vc_url,
                "--vcenter-user",
                VCENTER_USER,
                "--vcenter-ca-file",
                str(cert.ca_file),
                "--username",
                ZVM_USER,
                "--task-seconds",
                str(spec.task_seconds),
                "--boot-seconds",
                str(spec.boot_seconds),
            ],
            directory / "logs" / f"{name}-zvm.log",
            env={
                "VMREPL_ZVM_PASSWORD": zvm_password,
                "VMREPL_VCENTER_PASSWORD": vc_password,
                "VMREPL_ZVM_LICENSE_KEY": license_key,
            },
        )
    except Exception:
        process.stop(vc.pid)
        raise
    site["zvm"] = {
        "url": str(zvm.ready["url"]),
        "username": ZVM_USER,
        # the admin password a deployment gives the appliance (OVF property admin_password)
        "password": zvm_password,
        "ca_file": str(cert.ca_file),
        "site_identifier": zvm.ready.get("site_identifier"),
        "pairing_port": int(zvm.ready["pairing_port"]),
        "license_key": license_key,
        "pid": zvm.pid,
    }
    if spec.deployed:
        try:
            _install(site)
        except Exception:
            process.stop(zvm.pid)
            process.stop(vc.pid)
            raise
    return site


def _vcenter_access(site: dict[str, Any]) -> VCenterAccess:
    vc = site["vcenter"]
    return VCenterAccess(
        vc["host"], int(vc["port"]), vc["username"], vc["password"], Path(vc["ca_file"])
    )


def _install(site: dict[str, Any]) -> None:
    """The site's appliance deployed from the lab's OVF, booted, and its ZVM licensed."""
    zvm = site["zvm"]
    install_zvm(
        _vcenter_access(site),
        site["name"],
        zvm["url"],
        Path(zvm["ca_file"]),
        zvm["username"],
        zvm["password"],
        zvm["license_key"],
    )


def up(spec: LabSpec, directory: Path | None = None) -> tuple[dict[str, Any], bool]:
    """Start the lab unless it already runs as asked. Returns (state, started). A caller that
    comes while another starts the lab waits for it and gets its lab."""
    spec.validate()
    directory = directory or lab_dir()
    with _locked(directory):
        return _up(spec, directory)


def _up(spec: LabSpec, directory: Path) -> tuple[dict[str, Any], bool]:
    state = read_state(directory)
    if state and is_running(state):
        if state.get("edition") != spec.edition:
            raise LabError(
                f"The lab is up as the {state.get('edition')} edition. "
                "Run `vmrepl lab down` first to start it as another."
            )
        if bool(state.get("deployed")) != spec.deployed:
            raise LabError(
                f"The lab is up {'deployed' if state.get('deployed') else 'bare'}. "
                "Run `vmrepl lab down` first to start it the other way."
            )
        return state, False
    if state:  # left over from a crash or a reboot: clear what remains of it
        _down(directory)
    cert = ensure_lab_certificates(directory / "certs")
    names = EDITION_SITES[spec.edition]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = [pool.submit(_start_site, name, spec, cert, directory) for name in names]
        sites, errors = [], []
        for future in futures:
            try:
                sites.append(future.result())
            except Exception as exc:  # collect, then clean up every site that did start
                errors.append(exc)
    state = {
        "edition": spec.edition,
        "deployed": spec.deployed,
        "spec": {
            "hosts": spec.hosts,
            "vms": spec.vms,
            "task_seconds": spec.task_seconds,
            "deployed": spec.deployed,
            "boot_seconds": spec.boot_seconds,
        },
        "sites": sites,
        "started_in_seconds": round(time.monotonic() - started, 2),
    }
    _write_state(directory, state)
    if errors:
        _down(directory)
        raise LabError(f"The lab did not start: {errors[0]}")
    return state, True


def down(directory: Path | None = None) -> list[int]:
    """Stop every process the recorded lab started; returns the pids that were stopped."""
    directory = directory or lab_dir()
    if not directory.exists():
        return []
    with _locked(directory):
        return _down(directory)


def _down(directory: Path) -> list[int]:
    state = read_state(directory)
    if not state:
        return []
    stopped = []
    for pid in _pids(state):
        if process.alive(pid):
            process.stop(pid)
            stopped.append(pid)
    _state_file(directory).unlink(missing_ok=True)
    return stopped


def public_status(state: dict[str, Any]) -> dict[str, Any]:
    """The documented shape of ``vmrepl lab status --output json``."""
    sites = []
    for site in state["sites"]:
        vc, zvm = site["vcenter"], site["zvm"]
        sites.append(
            {
                "name": site["name"],
                "vcenter": {k: vc[k] for k in ("host", "port", "username", "password", "ca_file")},
                "zvm": {
                    **{
                        k: zvm.get(k)
                        for k in (
                            "url",
                            "username",
                            "password",
                            "ca_file",
                            "site_identifier",
                            "pairing_port",
                            "license_key",
                        )
                    },
                    "answering": answers(zvm["url"]),
                },
            }
        )
    return {
        "edition": state["edition"],
        "deployed": bool(state.get("deployed")),
        "running": is_running(state),
        "sites": sites,
    }


def vra_release(version: str | None = None, directory: Path | None = None) -> dict[str, Any]:
    """Make a newer VRA version available at every site of the lab (``POST /lab/vra-release``
    on each ZVM simulator): the site reports the new version and its VRAs at the old one are
    outdated. ``version`` None: the next update of each site's version. Returns
    ``{site: {version, display_version}}``."""
    state = read_state(directory or lab_dir())
    if not is_running(state):
        raise LabError("The lab is not up. Start it with `vmrepl lab up`.")
    assert state is not None
    released = {}
    body = json.dumps({"version": version} if version else {}).encode()
    for site in state["sites"]:
        zvm = site["zvm"]
        if not answers(zvm["url"]):
            raise LabError(
                f"The ZVM of site {site['name']} does not answer: deploy it first "
                "(`vmrepl deploy`, or `vmrepl lab up --deployed`)."
            )
        ca = Path(zvm["ca_file"]) if zvm.get("ca_file") else None
        headers = {"Content-Type": "application/json"}
        released[site["name"]] = _call(zvm["url"], ca, "POST", "/lab/vra-release", body, headers)
    return released
