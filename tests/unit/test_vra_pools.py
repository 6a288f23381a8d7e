"""VRA address pools of a site pair, taken together: overlaps across sites, a pool that holds
its gateway or a ZVM's address (the pure check, and the filter preflight asserts with)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vmrepl.core.plugins.filter.vra_pool_conflicts import (
    vra_pool_conflicts,
)
from ansible_collections.vmrepl.core.plugins.module_utils.vras import IpPool, pool_conflicts

SOURCE = IpPool("10.10.1.11", "10.10.1.42", "255.255.255.0", "10.10.1.1")
TARGET = IpPool("10.20.1.11", "10.20.1.42", "255.255.255.0", "10.20.1.1")


def test_separate_pools_have_no_conflict() -> None:
    reserved = {"source": {"ZVM": "10.10.1.5"}, "target": {"ZVM": "10.20.1.5"}}
    assert pool_conflicts({"source": SOURCE, "target": TARGET}, reserved) == []


def test_the_same_pool_at_both_sites_is_a_conflict_naming_both() -> None:
    [conflict] = pool_conflicts({"source": SOURCE, "target": SOURCE}, {})
    assert "source (10.10.1.11-10.10.1.42)" in conflict and "target" in conflict
    assert "from 10.10.1.11" in conflict


def test_pools_that_overlap_at_one_end_are_a_conflict() -> None:
    shifted = IpPool("10.10.1.40", "10.10.1.60", "255.255.255.0", "10.10.1.1")
    [conflict] = pool_conflicts({"source": SOURCE, "target": shifted}, {})
    assert "from 10.10.1.40" in conflict


def test_a_pool_that_holds_a_zvm_address_of_either_site_is_a_conflict() -> None:
    conflicts = pool_conflicts(
        {"source": SOURCE, "target": TARGET}, {"target": {"ZVM": "10.10.1.20"}}
    )
    assert conflicts == [
        "vra_ip_pool of source (10.10.1.11-10.10.1.42) holds 10.10.1.20, the ZVM address of target."
    ]


def test_a_pool_that_holds_its_gateway_is_a_conflict() -> None:
    pool = IpPool("10.10.1.1", "10.10.1.9", "255.255.255.0", "10.10.1.5")
    [conflict] = pool_conflicts({"source": pool}, {})
    assert "holds its own gateway 10.10.1.5" in conflict


def _site(name: str, pool: IpPool | None, **more: object) -> dict[str, object]:
    site: dict[str, object] = {"inventory_hostname": name, **more}
    if pool:
        site["vra_ip_pool"] = {
            "start": pool.start,
            "end": pool.end,
            "subnet_mask": pool.subnet_mask,
            "gateway": pool.gateway,
        }
    return site


def test_the_filter_reads_the_zvm_address_from_the_appliance_properties_or_the_url() -> None:
    sites = [
        _site("source", SOURCE, replication_manager_properties={"ip_address": "10.20.1.30"}),
        _site("target", TARGET, vmrepl_zvm_url="https://10.10.1.12"),
    ]
    conflicts = vra_pool_conflicts(sites)
    assert len(conflicts) == 2
    assert "10.20.1.30, the ZVM address of source" in conflicts[1]
    assert "10.10.1.12, the ZVM address of target" in conflicts[0]


def test_the_filter_ignores_sites_without_a_pool_and_zvm_names() -> None:
    sites = [_site("source", None, vmrepl_zvm_url="https://zvm.example.net"), _site("t", TARGET)]
    assert vra_pool_conflicts(sites) == []


def test_an_invalid_pool_fails_the_filter_with_the_reason() -> None:
    bad = IpPool("10.10.1.42", "10.10.1.11", "255.255.255.0", "10.10.1.1")
    with pytest.raises(AnsibleFilterError, match=r"start 10\.10\.1\.42 is after end"):
        vra_pool_conflicts([_site("source", bad)])
