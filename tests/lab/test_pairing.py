"""Site pairing over HTTPS between two simulators, and the peer site's inventory."""

from __future__ import annotations

import pytest

from tests.lab.conftest import Lab, Site
from tests.lab.helpers import FAILED, Zvm, create_vpg, wait_for

pytestmark = pytest.mark.lab


def _pair_fails(source: Zvm, target: Zvm, token: str) -> str:
    host, port = target.pairing_host_port
    task = source.wait_task(
        source.post("/v1/peersites", {"HostName": host, "Port": port, "Token": token})
    )
    assert task["Status"]["State"] == FAILED, task
    assert task["Type"] == "PairSites"
    return str(task["CompleteReason"])


def test_both_sides_are_paired(paired: Lab) -> None:
    a, b = paired.a.zvm, paired.b.zvm
    [peer_of_a] = [p for p in a.get("/v1/peersites") if p["SiteIdentifier"] == b.site]
    [peer_of_b] = [p for p in b.get("/v1/peersites") if p["SiteIdentifier"] == a.site]
    assert peer_of_a["PairingStatus"] == 0 and peer_of_b["PairingStatus"] == 0
    assert peer_of_a["PeerSiteName"] == "site-b" and peer_of_b["PeerSiteName"] == "site-a"
    assert (peer_of_a["HostName"], peer_of_a["Port"]) == b.pairing_host_port
    assert (peer_of_b["HostName"], peer_of_b["Port"]) == a.pairing_host_port
    assert peer_of_a["Version"].startswith("10.0.60")
    assert peer_of_a["Link"]["identifier"] == b.site
    assert a.get(f"/v1/peersites/{b.site}")["PeerSiteName"] == "site-b"
    assert a.get("/v1/peersites/pairingstatuses") == ["Paired", "Pairing", "Unpaired"]
    assert a.get("/v1/localsite/pairingstatuses") == ["Paired", "Pairing", "Unpaired"]
    assert a.get("/v1/peersites", expect=200) == a.call("GET", "/v1/peersites?pairingStatus=Paired")
    sites = {
        s["SiteIdentifier"]: s["VirtualizationSiteName"] for s in a.get("/v1/virtualizationsites")
    }
    assert sites == {a.site: "site-a", b.site: "site-b"}


def test_peer_inventory_is_read_from_the_peer(paired: Lab) -> None:
    a, b = paired.a.zvm, paired.b.zvm
    via_a = a.inventory("hosts", b.site)
    direct = b.inventory("hosts")
    assert via_a == direct
    assert {h["VirtualizationHostName"] for h in via_a} == {"DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"}
    for kind in ("datastores", "networks", "folders", "resourcepools", "hostclusters", "vms"):
        assert a.inventory(kind, b.site) == b.inventory(kind), kind
    host = via_a[0]
    assert host["HostIdentifier"].endswith(".host-" + host["HostIdentifier"].rsplit("-", 1)[1])
    assert a.get(f"/v1/virtualizationsites/{b.site}/hosts/{host['HostIdentifier']}") == host
    assert a.get("/v1/virtualizationsites/not-a-site/hosts", expect=404)


def test_bad_used_and_expired_tokens_fail_the_task(site_a: Site, site_c: Zvm) -> None:
    a, c = site_a.zvm, site_c
    assert "token is not valid" in _pair_fails(a, c, "not-a-token")
    expired = c.post("/v1/peersites/generatetoken")
    assert expired["Token"] and expired["UtcExpirationDate"]
    c.faults(expire_pairing_tokens=True)
    assert "expired" in _pair_fails(a, c, expired["Token"])
    token = c.post("/v1/peersites/generatetoken")["Token"]
    host, port = c.pairing_host_port
    a.run("POST", "/v1/peersites", {"HostName": host, "Port": port, "Token": token})
    assert [p["PairingStatus"] for p in c.get("/v1/peersites")] == [0]
    try:
        # the token was used: pairing again with it (after unpairing) fails
        a.run("DELETE", f"/v1/peersites/{c.site}", {"IsKeepTargetDisks": False})
        assert c.get("/v1/peersites") == []
        assert "already used" in _pair_fails(a, c, token)
    finally:
        if any(p["SiteIdentifier"] == c.site for p in a.get("/v1/peersites")):
            a.run("DELETE", f"/v1/peersites/{c.site}")
    assert c.site not in {p["SiteIdentifier"] for p in a.get("/v1/peersites")}


def test_unpairing_deletes_the_vpgs_between_the_sites(vras: Lab, site_c: Zvm) -> None:
    a, c = vras.a, site_c
    token = c.post("/v1/peersites/generatetoken")["Token"]
    host, port = c.pairing_host_port
    a.zvm.run("POST", "/v1/peersites", {"HostName": host, "Port": port, "Token": token})
    vm = a.vcsim.make_vm("unpair-vm")
    vpg = create_vpg(a.zvm, c, "unpair-vpg", [vm])
    wait_for(lambda: any(v["VpgIdentifier"] == vpg for v in c.get("/v1/vpgs")))
    a.zvm.run("DELETE", f"/v1/peersites/{c.site}", {"IsKeepTargetDisks": False})
    assert c.get("/v1/peersites") == []
    assert c.site not in {p["SiteIdentifier"] for p in a.zvm.get("/v1/peersites")}
    assert all(v["VpgIdentifier"] != vpg for v in a.zvm.get("/v1/vpgs"))
    assert all(v["VpgIdentifier"] != vpg for v in c.get("/v1/vpgs"))


def test_pairing_request_is_validated(paired: Lab) -> None:
    a, b = paired.a.zvm, paired.b.zvm
    assert "Token" in a.error("POST", "/v1/peersites", {"HostName": "127.0.0.1", "Port": 1})
    assert "Port" in a.error(
        "POST", "/v1/peersites", {"HostName": "x", "Port": 70000, "Token": "t"}
    )
    host, port = b.pairing_host_port
    message = a.error("POST", "/v1/peersites", {"HostName": host, "Port": port, "Token": "t"})
    assert "already paired" in message


def test_unreachable_peer_fails_with_a_reason(site_a: Site) -> None:
    a = site_a.zvm
    task = a.wait_task(a.post("/v1/peersites", {"HostName": "127.0.0.1", "Port": 9, "Token": "t"}))
    assert task["Status"]["State"] == FAILED
    assert "127.0.0.1:9" in task["CompleteReason"]
    assert "could not be reached at 127.0.0.1:9" in task["CompleteReason"]


def test_pairing_with_the_api_port_fails_as_unreachable(site_a: Site, site_c: Zvm) -> None:
    """The peer endpoints are served on the pairing port only: naming the peer's API port
    fails the task, as a real ZVM's does."""
    a, c = site_a.zvm, site_c
    token = c.post("/v1/peersites/generatetoken")["Token"]
    host, port = c.host_port
    assert port != c.pairing_port
    reason = _pair_fails_at(a, host, port, token)
    assert reason == f"The peer site could not be reached at {host}:{port}."
    assert c.get("/v1/peersites") == []


def test_peer_endpoints_are_not_served_on_the_api_port(site_a: Site) -> None:
    a = site_a.zvm
    response = a.new_session().post(a.url + "/lab/peer/pair", json={}, timeout=10)
    assert response.status_code == 404
    # and the API is not served on the pairing port
    host, port = a.pairing_host_port
    response = a.new_session().get(f"https://{host}:{port}/v1/localsite", timeout=10)
    assert response.status_code == 404


def _pair_fails_at(source: Zvm, host: str, port: int, token: str) -> str:
    task = source.wait_task(
        source.post("/v1/peersites", {"HostName": host, "Port": port, "Token": token})
    )
    assert task["Status"]["State"] == FAILED, task
    return str(task["CompleteReason"])
