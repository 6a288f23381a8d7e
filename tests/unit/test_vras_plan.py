"""The VRA plan: a pure function from chosen hosts and existing VRAs to installs."""

from __future__ import annotations

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConfigurationError
from ansible_collections.vmrepl.core.plugins.module_utils.vras import (
    IpPool,
    VraSettings,
    install_body,
    plan,
)

HOSTS = {"esx1": "srv.host-1", "esx2": "srv.host-2", "esx3": "srv.host-3"}
POOL = IpPool("10.0.0.10", "10.0.0.13", "255.255.255.0", "10.0.0.1")


def vra(host: str, address: str | None = None, status: int = 0) -> dict:
    network = {"VraIPConfigurationTypeApi": "Static", "VraIPAddress": address} if address else {}
    return {
        "HostDisplayName": host,
        "Status": status,
        "VraNetworkDataApi": network,
        "VraIdentifier": 7,
    }


def settings(pool: IpPool | None = POOL) -> VraSettings:
    return VraSettings(datastore="ds", network="net", ip_pool=pool)


def test_new_hosts_get_the_lowest_free_addresses_and_existing_keep_theirs() -> None:
    result = plan(["esx1", "esx2", "esx3"], HOSTS, [vra("esx2", "10.0.0.10")], settings())
    assert result.present == ["esx2"]
    assert [(i.host, i.address) for i in result.installs] == [
        ("esx1", "10.0.0.11"),
        ("esx3", "10.0.0.12"),
    ]
    assert result.changes


def test_second_run_plans_nothing() -> None:
    vras = [vra("esx1", "10.0.0.10"), vra("esx2", "10.0.0.11")]
    result = plan(["esx1", "esx2"], HOSTS, vras, settings())
    assert not result.changes
    assert result.present == ["esx1", "esx2"]


def test_an_installing_vra_is_waited_for_not_installed_again() -> None:
    result = plan(["esx1"], HOSTS, [vra("esx1", "10.0.0.10", status=3)], settings())
    assert result.installs == []
    assert result.busy == ["esx1"]


def test_a_failed_install_is_retried() -> None:
    result = plan(["esx1"], HOSTS, [vra("esx1", "10.0.0.10", status=5)], settings())
    assert [i.host for i in result.installs] == ["esx1"]
    assert result.installs[0].address == "10.0.0.11"  # .10 is still held by the failed VRA


def test_skipped_hosts_are_reported_not_installed() -> None:
    result = plan(["esx1", "esx2"], HOSTS, [], settings(), skipped={"esx2": "in maintenance mode"})
    assert [i.host for i in result.installs] == ["esx1"]
    assert result.skipped == {"esx2": "in maintenance mode"}


def test_dhcp_without_a_pool() -> None:
    result = plan(["esx1"], HOSTS, [], settings(pool=None))
    assert result.installs[0].address is None
    body = install_body(result.installs[0], settings(pool=None), "ds-id", "net-id")
    assert body["VraNetworkDataApi"] == {"VraIPConfigurationTypeApi": "Dhcp"}
    assert body["HostIdentifier"] == "srv.host-1"
    assert body["UsePublicKeyInsteadOfCredentials"] is True


def test_static_body_carries_the_pool_settings() -> None:
    result = plan(["esx1"], HOSTS, [], settings())
    body = install_body(result.installs[0], settings(), "ds-id", "net-id")
    assert body["VraNetworkDataApi"] == {
        "VraIPConfigurationTypeApi": "Static",
        "VraIPAddress": "10.0.0.10",
        "SubnetMask": "255.255.255.0",
        "DefaultGateway": "10.0.0.1",
    }


def test_absent_plans_removals_of_existing_vras_only() -> None:
    result = plan(["esx1", "esx2"], HOSTS, [vra("esx1", "10.0.0.10")], settings(), state="absent")
    assert [r["HostDisplayName"] for r in result.removals] == ["esx1"]
    assert result.installs == []


def test_unknown_host_is_refused_before_anything() -> None:
    with pytest.raises(ConfigurationError, match="esx9"):
        plan(["esx9"], HOSTS, [], settings())


def test_pool_too_small_names_the_numbers() -> None:
    small = IpPool("10.0.0.10", "10.0.0.10", "255.255.255.0", "10.0.0.1")
    with pytest.raises(ConfigurationError, match="1 free addresses for 3 new VRAs"):
        plan(["esx1", "esx2", "esx3"], HOSTS, [], settings(small))


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        (IpPool("10.0.1.10", "10.0.1.20", "255.255.255.0", "10.0.0.1"), "outside the subnet"),
        (IpPool("10.0.0.20", "10.0.0.10", "255.255.255.0", "10.0.0.1"), "is after end"),
        (IpPool("10.0.0.0", "10.0.0.10", "255.255.255.0", "10.0.0.1"), "network or broadcast"),
        (IpPool("10.0.0.x", "10.0.0.10", "255.255.255.0", "10.0.0.1"), "ip_pool"),
    ],
)
def test_bad_pools_are_refused_with_the_reason(pool: IpPool, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        pool.addresses()


def test_the_gateway_is_never_handed_out() -> None:
    pool = IpPool("10.0.0.1", "10.0.0.3", "255.255.255.0", "10.0.0.2")
    assert pool.addresses() == ["10.0.0.1", "10.0.0.3"]


def test_drifted_settings_are_edited_in_place() -> None:
    current = {
        **vra("esx1", "10.0.0.10"),
        "MemoryInGB": 3,
        "NumOfCpus": 1,
        "VraGroup": "default_group",
    }
    wanted = VraSettings(datastore="ds", network="net", memory_gb=4, cpus=1, ip_pool=POOL)
    result = plan(["esx1"], HOSTS, [current], wanted)
    assert result.installs == []
    assert [(e.host, e.changes) for e in result.edits] == [("esx1", {"MemoryInGb": (3, 4)})]
    assert result.changes


def test_matching_settings_plan_no_edit() -> None:
    current = {
        **vra("esx1", "10.0.0.10"),
        "MemoryInGB": 3,
        "NumOfCpus": 1,
        "VraGroup": "default_group",
    }
    assert plan(["esx1"], HOSTS, [current], settings()).edits == []
