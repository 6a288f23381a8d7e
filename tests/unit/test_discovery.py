"""Choosing the customer-dedicated hosts and the VMs to protect (pure functions)."""

from __future__ import annotations

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import NotFound
from ansible_collections.vmrepl.core.plugins.module_utils.discovery import choose_hosts, choose_vms


def host(
    name: str, cluster: str = "c1", state: str = "connected", maint: bool = False, **attrs: str
) -> dict:
    return {
        "name": name,
        "moid": f"host-{name}",
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


def test_by_tag_keeps_only_the_tagged_hosts_and_still_skips_unusable_ones() -> None:
    usable, skipped = choose_hosts(HOSTS, tagged={"host-b", "host-c", "vm-9"})
    assert usable == ["b"]
    assert skipped == {"c": "in maintenance mode"}


def test_tag_combines_with_the_other_filters() -> None:
    usable, _ = choose_hosts(HOSTS, clusters=["c1"], tagged={"host-a", "host-b", "host-e"})
    assert usable == ["a", "e"]
    usable, _ = choose_hosts(
        HOSTS, attribute={"name": "dedicated", "value": "cust1"}, tagged={"host-b", "host-e"}
    )
    assert usable == ["b"]


def test_a_tag_on_no_host_chooses_none_and_no_tag_filters_nothing() -> None:
    assert choose_hosts(HOSTS, tagged=set()) == ([], {})
    assert choose_hosts(HOSTS, tagged=None) == choose_hosts(HOSTS)
    assert choose_hosts(HOSTS)[0] == ["a", "b", "e"]


VMS = [
    {"name": "web", "moid": "vm-1", "folder": "cust1", "custom_attributes": {}},
    {"name": "db", "moid": "vm-2", "folder": "other", "custom_attributes": {"tier": "gold"}},
    {"name": "app", "moid": "vm-3", "folder": "cust1", "custom_attributes": {"tier": "gold"}},
]


def test_vms_by_name_folder_and_attribute_are_united() -> None:
    chosen = choose_vms(VMS, names=["db"], folder="cust1")
    assert [vm["name"] for vm in chosen] == ["app", "db", "web"]
    chosen = choose_vms(VMS, attribute={"name": "tier", "value": "gold"})
    assert [vm["name"] for vm in chosen] == ["app", "db"]


def test_missing_vm_is_named() -> None:
    with pytest.raises(NotFound, match="ghost"):
        choose_vms(VMS, names=["web", "ghost"])


def test_vms_by_tag_are_united_with_the_other_choices() -> None:
    assert [vm["name"] for vm in choose_vms(VMS, tagged={"vm-2", "host-1"})] == ["db"]
    chosen = choose_vms(VMS, names=["web"], tagged={"vm-2"})
    assert [vm["name"] for vm in chosen] == ["db", "web"]
    assert choose_vms(VMS, tagged=set()) == []
    assert choose_vms(VMS, folder="other", tagged=None) == choose_vms(VMS, folder="other")
