"""Choosing the customer-dedicated hosts and the VMs to protect (pure functions)."""

from __future__ import annotations

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.discovery import choose_hosts, choose_vms
from ansible_collections.vmrepl.core.plugins.module_utils.errors import NotFound


def host(
    name: str, cluster: str = "c1", state: str = "connected", maint: bool = False, **attrs: str
) -> dict:
    return {
        "name": name,
        "cluster": cluster,
        "connection_state": state,
        "maintenance_mode": maint,
        "custom_attributes": attrs,
    }


HOSTS = [
    host("a", dedicated="cust1"),
    host("b", cluster="c2", dedicated="cust1"),
    host("c", maint=True, dedicated="cust1"),
    host("d", state="disconnected"),
    host("e", dedicated="cust2"),
]


def test_by_cluster_skips_unusable_hosts_with_the_reason() -> None:
    usable, skipped = choose_hosts(HOSTS, clusters=["c1"])
    assert usable == ["a", "e"]
    assert skipped == {"c": "in maintenance mode", "d": "connection state disconnected"}


def test_by_custom_attribute() -> None:
    usable, skipped = choose_hosts(HOSTS, attribute={"name": "dedicated", "value": "cust1"})
    assert usable == ["a", "b"]
    assert list(skipped) == ["c"]


def test_filters_combine() -> None:
    usable, _ = choose_hosts(
        HOSTS, clusters=["c1"], attribute={"name": "dedicated", "value": "cust1"}, names=["a", "b"]
    )
    assert usable == ["a"]


VMS = [
    {"name": "web", "folder": "cust1", "custom_attributes": {}},
    {"name": "db", "folder": "other", "custom_attributes": {"tier": "gold"}},
    {"name": "app", "folder": "cust1", "custom_attributes": {"tier": "gold"}},
]


def test_vms_by_name_folder_and_attribute_are_united() -> None:
    chosen = choose_vms(VMS, names=["db"], folder="cust1")
    assert [vm["name"] for vm in chosen] == ["app", "db", "web"]
    chosen = choose_vms(VMS, attribute={"name": "tier", "value": "gold"})
    assert [vm["name"] for vm in chosen] == ["app", "db"]


def test_missing_vm_is_named() -> None:
    with pytest.raises(NotFound, match="ghost"):
        choose_vms(VMS, names=["web", "ghost"])
