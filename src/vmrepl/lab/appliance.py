"""The lab's ZVM appliance: deploy it into a site's vCenter, wait for the ZVM, license it.

A lab site starts bare: its ZVM simulator answers only once a VM deployed from
``vmrepl/lab/assets/appliance/zvm-appliance.ovf`` (package data) with the ZVM's address in OVF
property ``ip_address`` has booted (see ``vmrepl/lab/zvm/boot.py``). ``vmrepl lab up --deployed``
and the lab's tests start after that step with :func:`install_zvm`: the appliance imported
through the project's own OVF code (the code of the ``vmrepl.core.zvm_appliance`` module),
powered on, its API awaited, and the site's licence key entered.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.vmrepl.core.plugins.module_utils.appliance import (
    OvfVmResult,
    OvfVmSpec,
    ensure_ovf_vm,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    VSphereConnectionParams,
    vim,
)
from vmrepl import paths
from vmrepl.lab.process import LabError

#: The stand-in ZVM appliance (a small OVF) that deployments on the lab upload.
APPLIANCE_OVF = paths.LAB_ASSETS / "appliance" / "zvm-appliance.ovf"
#: The stand-in VM recovery (backup) proxy (assets/appliance/build.py makes both).
PROXY_OVF = paths.LAB_ASSETS / "appliance" / "backup-proxy.ovf"
DATACENTER = "DC0"
CLUSTER = "DC0_C0"
DATASTORE = "LocalDS_1"
NETWORK = "VM Network"
TOKEN_PATH = "/auth/realms/zerto/protocol/openid-connect/token"  # noqa: S105 - a path


@dataclass(frozen=True)
class VCenterAccess:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    ca_file: Path | None = None

    def connect(self) -> VSphereClient:
        return VSphereClient.connect(
            VSphereConnectionParams(
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                ca_file=str(self.ca_file) if self.ca_file else None,
            )
        )


def appliance_name(site: str) -> str:
    return f"zvm-{site}"


def deploy_appliance(
    vcenter: VCenterAccess,
    site: str,
    admin_password: str,
    *,
    ip_address: str = "127.0.0.1",
    power_on: bool = True,
) -> OvfVmResult:
    """Deploy (idempotently, by name) the appliance VM ``zvm-<site>`` into DC0/DC0_C0 on
    LocalDS_1 and "VM Network", with OVF properties ``ip_address``, ``hostname``
    (``zvm-<site>.lab.invalid``) and ``admin_password``; powered on unless told not to."""
    name = appliance_name(site)
    spec = OvfVmSpec(
        name=name,
        datacenter=DATACENTER,
        ovf=str(APPLIANCE_OVF),
        datastore=DATASTORE,
        cluster=CLUSTER,
        network=NETWORK,
        properties={
            "ip_address": ip_address,
            "hostname": f"{name}.lab.invalid",
            "admin_password": admin_password,
        },
        secret_properties=frozenset({"admin_password"}),
        power_on=power_on,
        wait_for_ip=False,
    )
    with vcenter.connect() as client:
        return ensure_ovf_vm(client, spec)


def set_appliance_power(vcenter: VCenterAccess, site: str, on: bool) -> None:
    """Power the site's appliance VM on or off (the ZVM boots or goes down)."""
    with vcenter.connect() as client:
        [vm] = [
            o
            for o in client.retrieve(vim.VirtualMachine, ["name"])
            if o["name"] == appliance_name(site)
        ]
        action = client.power_on if on else client.power_off
        client.wait_for_tasks(action([vm.ref]))


def remove_appliance(vcenter: VCenterAccess, site: str) -> None:
    with vcenter.connect() as client:
        ensure_ovf_vm(client, OvfVmSpec(appliance_name(site), DATACENTER), state="absent")


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether the ZVM at ``url`` accepts connections now (a dormant one refuses them)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 443), timeout):
            return True
    except OSError:
        return False


def wait_answering(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not answers(url):
        if time.monotonic() > deadline:
            raise LabError(f"The ZVM at {url} did not answer within {timeout:g} s.")
        time.sleep(0.1)


def _call(
    url: str,
    ca_file: Path | None,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> Any:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    # the lab's own https URL
    request = urllib.request.Request(url + path, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise LabError(
            f"{method} {path} on {url} answered {exc.code}: {exc.read().decode()}"
        ) from exc
    return json.loads(text) if text.strip() else None


def apply_license(
    url: str, ca_file: Path | None, username: str, password: str, license_key: str
) -> None:
    """Log in (password grant) and enter the licence key (``PUT /v1/license``)."""
    form = urllib.parse.urlencode(
        {
            "grant_type": "password",
            "client_id": "zerto-client",
            "username": username,
            "password": password,
        }
    ).encode()
    token = _call(
        url,
        ca_file,
        "POST",
        TOKEN_PATH,
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )["access_token"]
    _call(
        url,
        ca_file,
        "PUT",
        "/v1/license",
        json.dumps({"LicenseKey": license_key}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )


def install_zvm(
    vcenter: VCenterAccess,
    site: str,
    zvm_url: str,
    ca_file: Path | None,
    username: str,
    admin_password: str,
    license_key: str,
    *,
    ip_address: str = "127.0.0.1",
    timeout: float = 60.0,
) -> None:
    """A site's ZVM installed and licensed: the appliance deployed and powered on, its API
    answering, the licence entered. No VRAs, no pairing."""
    deploy_appliance(vcenter, site, admin_password, ip_address=ip_address)
    wait_answering(zvm_url, timeout)
    apply_license(zvm_url, ca_file, username, admin_password, license_key)
