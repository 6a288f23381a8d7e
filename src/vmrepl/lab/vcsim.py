"""The lab's vCenter simulator: find (or build) the vcsim binary and start one per site."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vmrepl import paths
from vmrepl.lab import process
from vmrepl.lab.certs import ServerCertificate

#: The vcsim sources (package data) and where they are built (the checkout's .cache/vcsim).
SOURCES = paths.LAB_ASSETS / "vcsim"
BUILD_DIR = paths.cache_dir("vcsim")


@dataclass(frozen=True)
class VcsimTopology:
    """The inventory one simulated vCenter starts with."""

    clusters: int = 1
    hosts: int = 2
    standalone_hosts: int = 0
    datastores: int = 2
    vms: int = 2
    portgroups: int = 1
    method_delay: str = ""
    #: count SOAP calls by method at GET /vmrepl/calls (tests that count round trips)
    count_calls: bool = False


def vcsim_binary(build: bool = True) -> str:
    """``$VMREPL_VCSIM``, else a ``vcsim`` on PATH, else our build (built if stale)."""
    explicit = os.environ.get("VMREPL_VCSIM")
    if explicit:
        return explicit
    on_path = shutil.which("vcsim")
    if on_path:
        return on_path
    script = SOURCES / "build.sh"
    if build and script.exists():
        subprocess.run([str(script), str(BUILD_DIR)], check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    binary = BUILD_DIR / "vcsim"
    if not binary.exists():
        raise process.LabError(
            "No vcsim binary: run `make setup` (it builds one), or put govmomi's vcsim on PATH."
        )
    return str(binary)


def start_vcsim(
    topology: VcsimTopology,
    certificate: ServerCertificate,
    username: str,
    password: str,
    log_file: Path,
    listen: str = "127.0.0.1:0",
) -> process.Started:
    """Start one vcsim with TLS; ``ready["url"]`` is its SDK URL."""
    binary = vcsim_binary()
    argv = [
        binary,
        "-l",
        listen,
        "-dc",
        "1",
        "-cluster",
        str(topology.clusters),
        "-host",
        str(topology.hosts),
        "-standalone-host",
        str(topology.standalone_hosts),
        "-ds",
        str(topology.datastores),
        "-vm",
        str(topology.vms),
        "-pg",
        str(topology.portgroups),
        "-username",
        username,
        "-tlscert",
        str(certificate.cert_file),
        "-tlskey",
        str(certificate.key_file),
    ]
    if topology.method_delay:
        argv += ["-method-delay", topology.method_delay]
    if topology.count_calls:
        argv += ["-count-calls"]
    if Path(binary).parent != BUILD_DIR:
        # govmomi's own vcsim knows no VCSIM_PASSWORD; it is a lab password all the same.
        argv += ["-password", password]
    # Ours reads the password from the environment, not from a command line others can read.
    return process.start(argv, log_file, env={"VCSIM_PASSWORD": password})
