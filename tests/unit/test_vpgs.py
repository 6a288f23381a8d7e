"""VPG desired state: names to identifiers, field differences, protectability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConfigurationError
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import get_path, set_path
from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import (
    MANAGED_FIELDS,
    Names,
    VpgSpec,
    desired_values,
    differences,
    protectability,
)

EXAMPLE = Path(__file__).parents[2] / "src/vmrepl/lab/zvm/openapi/vpg-settings-example.json"
SRV = "03cb5a97-4d85-4449-99ef-3a268bf3f60d"


@pytest.fixture
def settings() -> dict:
    return json.loads(EXAMPLE.read_text())[0]


@pytest.fixture
def names() -> Names:
    return Names(
        {
            "hosts": {"esx1": f"{SRV}.host-3009"},
            "hostclusters": {},
            "datastores": {"ds1": f"{SRV}.datastore-3014", "ds2": f"{SRV}.datastore-9"},
            "folders": {"vm": f"{SRV}.group-v4"},
            "networks": {"prod": f"{SRV}.network-3015", "bubble": f"{SRV}.network-3016"},
        }
    )


def spec(**fields: object) -> VpgSpec:
    return VpgSpec(name="test", vms=[], fields=dict(fields))


def test_every_managed_path_exists_in_a_real_settings_object(settings: dict) -> None:
    for option, path in MANAGED_FIELDS.items():
        if option == "recovery_cluster":
            continue  # null in the example: the VPG recovers to a host
        assert get_path(settings, path) is not None, option


def test_the_real_settings_match_their_own_values(settings: dict, names: Names) -> None:
    desired = desired_values(
        spec(
            journal_history_hours=1,
            rpo_alert_seconds=300,
            priority="medium",
            recovery_host="esx1",
            recovery_datastore="ds1",
            journal_datastore="ds1",
            recovery_folder="vm",
            failover_network="prod",
            test_network="bubble",
        ),
        names,
    )
    vms = {v["VmIdentifier"] for v in settings["Vms"]}
    assert differences(settings, desired, vms, vms) == {}


def test_differences_name_each_field(settings: dict, names: Names) -> None:
    desired = desired_values(spec(journal_history_hours=168, recovery_datastore="ds2"), names)
    diff = differences(settings, desired, set(), {"x.vm-1"})
    assert diff == {
        "journal_history_hours": (1, 168),
        "recovery_datastore": (f"{SRV}.datastore-3014", f"{SRV}.datastore-9"),
        "vms": ([], ["x.vm-1"]),
    }


def test_options_not_given_are_left_alone(names: Names) -> None:
    assert desired_values(spec(journal_history_hours=None, priority="High"), names) == {
        "priority": "High"
    }


def test_unknown_name_is_refused_with_what_is_known(names: Names) -> None:
    with pytest.raises(ConfigurationError, match="failover_network: 'nope'") as err:
        desired_values(spec(failover_network="nope"), names)
    assert "bubble, prod" in str(err.value)


def test_set_path_keeps_existing_key_case_and_creates_missing(settings: dict) -> None:
    set_path(settings, ("basic", "journalhistoryinhours"), 48)
    assert settings["Basic"]["JournalHistoryInHours"] == 48
    set_path(settings, ("Networks", "FailoverTest", "Hypervisor", "DefaultNetworkIdentifier"), "n")
    assert settings["Networks"]["FailoverTest"]["Hypervisor"]["DefaultNetworkIdentifier"] == "n"
    fresh: dict = {}
    set_path(fresh, ("Journal", "Limitation", "HardLimitInMB"), 8192)
    assert fresh == {"Journal": {"Limitation": {"HardLimitInMB": 8192}}}


THREE = {"a": ("s1", "one"), "b": ("s2", "two"), "c": ("s3", "three")}


@pytest.mark.parametrize(
    ("vm", "memberships", "dc", "reason"),
    [
        ({"disks": [{"rdm": True}]}, {}, False, "RDM"),
        ({"disks": [{"multi_writer": True}]}, {}, False, "multi-writer"),
        ({"disks": [{}] * 61}, {}, False, "61 disks"),
        ({"disks": [{}]}, THREE, False, "already in 3 VPGs"),
        ({"disks": [{}]}, {"x": ("dr", "dr-site")}, False, "to site dr-site by VPG x"),
        ({"disks": []}, {}, True, "domain controller"),
        ({"disks": [{}] * 60}, {"a": ("s1", ""), "b": ("s2", "")}, False, None),
    ],
)
def test_protectability(
    vm: dict, memberships: dict[str, tuple[str, str]], dc: bool, reason: str | None
) -> None:
    result = protectability(vm, memberships, "dr", dc)
    if reason is None:
        assert result is None
    else:
        assert result is not None and reason in result
