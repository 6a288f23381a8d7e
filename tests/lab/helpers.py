"""Test helpers for the ZVM simulator: a thin REST client written from the API documentation
(token login, task polling), and direct vcsim access through the project's VSphereClient."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    ManagedObject,
    VSphereClient,
    VSphereConnectionParams,
)

TOKEN_PATH = "/auth/realms/zerto/protocol/openid-connect/token"
COMPLETED, FAILED, IN_PROGRESS = 6, 4, 1


def enc(identifier: str) -> str:
    """An identifier as one URL path segment (vcsim datastore morefs hold slashes)."""
    return quote(identifier, safe="")


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; return its value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


class ApiError(AssertionError):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(
            f"{response.request.method} {response.url} -> {response.status_code}: {response.text}"
        )
        self.response = response


class Zvm:
    """One ZVM, logged in with the appliance's password grant."""

    def __init__(
        self,
        url: str,
        ca_file: Path,
        username: str,
        password: str,
        site: str,
        pairing_port: int | None = None,
        *,
        login: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.ca_file = ca_file
        self.username = username
        self.password = password
        self.site = site
        self.pairing_port = pairing_port
        self.session = self.new_session()
        if login:
            self.login()

    def new_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        session.verify = str(self.ca_file)
        return session

    def token(self) -> dict[str, Any]:
        response = self.new_session().post(
            self.url + TOKEN_PATH,
            data={
                "grant_type": "password",
                "client_id": "zerto-client",
                "username": self.username,
                "password": self.password,
            },
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def login(self) -> None:
        self.session.headers["Authorization"] = "Bearer " + self.token()["access_token"]

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "", parts.port or 443

    @property
    def pairing_host_port(self) -> tuple[str, int]:
        """HostName and Port to pair with this ZVM (its pairing port)."""
        assert self.pairing_port is not None
        return self.host_port[0], self.pairing_port

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=30, **kwargs)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        kwargs = {} if body is None else {"json": body}
        response = self.raw(method, path, **kwargs)
        if response.status_code != expect:
            raise ApiError(response)
        return response.json() if response.content else None

    def get(self, path: str, expect: int = 200) -> Any:
        return self.call("GET", path, expect=expect)

    def post(self, path: str, body: Any = None, expect: int = 200) -> Any:
        return self.call("POST", path, body, expect)

    def put(self, path: str, body: Any, expect: int = 200) -> Any:
        return self.call("PUT", path, body, expect)

    def delete(self, path: str, body: Any = None, expect: int = 200) -> Any:
        return self.call("DELETE", path, body, expect)

    def error(self, method: str, path: str, body: Any = None, expect: int = 400) -> str:
        """The Message of an expected error answer."""
        response = self.raw(method, path, **({} if body is None else {"json": body}))
        assert response.status_code == expect, (response.status_code, response.text)
        return str(response.json()["Message"])

    # -- tasks ------------------------------------------------------------------------------
    def wait_task(self, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            task = self.get(f"/v1/tasks/{enc(task_id)}")
            return task if task["Status"]["State"] != IN_PROGRESS else None

        return dict(wait_for(done, timeout))

    def run(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Start an action and wait for its task to complete successfully."""
        task = self.wait_task(self.call(method, path, body))
        assert task["Status"]["State"] == COMPLETED, task
        assert task["Status"]["Progress"] == 100, task
        return task

    # -- the lab's admin endpoints ----------------------------------------------------------
    def faults(self, **body: Any) -> dict[str, Any]:
        response = self.new_session().post(self.url + "/lab/faults", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def contract(self) -> dict[str, Any]:
        return dict(self.new_session().get(self.url + "/lab/contract", timeout=10).json())

    # -- shortcuts --------------------------------------------------------------------------
    def inventory(self, kind: str, site: str | None = None) -> list[dict[str, Any]]:
        return list(self.get(f"/v1/virtualizationsites/{site or self.site}/{kind}"))

    def vpg(self, vpg_id: str) -> dict[str, Any]:
        return dict(self.get(f"/v1/vpgs/{vpg_id}"))


@dataclass
class Vcsim:
    """Direct access to one site's vcsim, to check what the ZVM did there."""

    url: str
    username: str
    password: str
    ca_file: Path
    pid: int
    _client: VSphereClient | None = None

    @property
    def client(self) -> VSphereClient:
        if self._client is None:
            parts = urlsplit(self.url)
            self._client = VSphereClient.connect(
                VSphereConnectionParams(
                    hostname=parts.hostname or "127.0.0.1",
                    port=parts.port or 443,
                    username=self.username,
                    password=self.password,
                    ca_file=str(self.ca_file),
                )
            )
        return self._client

    @property
    def server_id(self) -> str:
        return self.client.instance_uuid

    def vms(self) -> list[ManagedObject]:
        return self.client.retrieve(
            vim.VirtualMachine,
            ["name", "runtime.host", "runtime.powerState", "network", "config.extraConfig"],
        )

    def vm_named(self, name: str) -> ManagedObject | None:
        found = [vm for vm in self.vms() if vm["name"] == name]
        assert len(found) <= 1, f"{len(found)} VMs named {name!r}"
        return found[0] if found else None

    def vm(self, identifier: str) -> ManagedObject | None:
        moref = identifier.partition(".")[2]
        return next((vm for vm in self.vms() if vm.moid == moref), None)

    def power(self, identifier: str) -> str | None:
        """The power state of a VM by ZVM identifier (None: no such VM)."""
        vm = self.vm(identifier)
        return None if vm is None else str(vm["runtime.powerState"])

    def power_named(self, name: str) -> str | None:
        vm = self.vm_named(name)
        return None if vm is None else str(vm["runtime.powerState"])

    def host_names(self) -> dict[str, str]:
        return {h.moid: str(h["name"]) for h in self.client.retrieve(vim.HostSystem, ["name"])}

    def make_vm(self, name: str, host_index: int = 0) -> str:
        """Create a powered-on VM with a NIC and a small disk; returns its ZVM identifier."""
        client = self.client
        hosts = sorted(
            client.retrieve(vim.HostSystem, ["name", "datastore"]), key=lambda h: h["name"]
        )
        host = hosts[host_index]
        datastore = client.retrieve_objects(host["datastore"][:1], ["name"])[0]
        network = client.find_by_name(vim.Network, "VM Network")
        task = client.create_vm(
            name,
            host.ref,
            str(datastore["name"]),
            network=network.ref,
            disk_kb=1024,
            memory_mb=512,
        )
        vm = client.wait_for_task(task)
        client.wait_for_tasks(client.power_on([vm]))
        return f"{client.instance_uuid}.{vm._moId}"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def recovery_targets(source: Zvm, target_site: str, host_index: int = 0) -> dict[str, str]:
    """Identifiers at the recovery site, as the source ZVM lists them: a host, one of its
    datastores, a VM folder, the failover network (DC0_DVPG0) and the test network (VM Network)."""
    base = f"/v1/virtualizationsites/{target_site}"
    hosts = sorted(source.get(base + "/hosts"), key=lambda h: h["VirtualizationHostName"])
    host = hosts[host_index]
    networks = {
        n["VirtualizationNetworkName"]: n["NetworkIdentifier"]
        for n in source.get(base + "/networks")
    }
    folders = source.get(base + "/folders")
    return {
        "host": host["HostIdentifier"],
        "host_name": host["VirtualizationHostName"],
        "datastore": host["AssociatedDatastores"][0]["DatastoreIdentifier"],
        "folder": folders[0]["FolderIdentifier"],
        "failover_network": networks["DC0_DVPG0"],
        "test_network": networks["VM Network"],
    }


def vpg_settings(
    source: Zvm,
    target: Zvm,
    name: str,
    vms: list[str],
    journal_hours: int = 1,
    host_index: int = 0,
) -> str:
    """A settings object for a new VPG from source's site to target's site, filled section
    by section; returns its identifier."""
    sid = source.post("/v1/vpgSettings", {})
    path = f"/v1/vpgSettings/{sid}"
    basic = source.get(path + "/basic")
    basic.update(
        Name=name,
        RecoverySiteIdentifier=target.site,
        JournalHistoryInHours=journal_hours,
        RpoInSeconds=300,
        Priority="High",
    )
    source.put(path + "/basic", basic)
    where = recovery_targets(source, target.site, host_index)
    recovery = source.get(path + "/recovery")
    recovery.update(
        DefaultHostIdentifier=where["host"],
        DefaultDatastoreIdentifier=where["datastore"],
        DefaultFolderIdentifier=where["folder"],
    )
    source.put(path + "/recovery", recovery)
    source.put(
        path + "/networks",
        {
            "Failover": {"Hypervisor": {"DefaultNetworkIdentifier": where["failover_network"]}},
            "FailoverTest": {"Hypervisor": {"DefaultNetworkIdentifier": where["test_network"]}},
        },
    )
    journal = source.get(path + "/journal")
    journal["DatastoreIdentifier"] = where["datastore"]
    source.put(path + "/journal", journal)
    for vm in vms:
        source.post(path + "/vms", {"VmIdentifier": vm})
    return str(sid)


def create_vpg(source: Zvm, target: Zvm, name: str, vms: list[str], **options: Any) -> str:
    """Create a VPG (committing a settings object) and return its identifier."""
    sid = vpg_settings(source, target, name, vms, **options)
    task = source.run("POST", f"/v1/vpgSettings/{sid}/commit")
    [vpg] = task["RelatedEntities"]["Vpgs"]
    return str(vpg["identifier"])


def wait_status(zvm: Zvm, vpg_id: str, status: int, timeout: float = 20.0) -> dict[str, Any]:
    return dict(wait_for(lambda: (v := zvm.vpg(vpg_id))["Status"] == status and v, timeout))
