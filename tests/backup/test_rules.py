"""The backup readiness rules and parsers (module_utils/backup.py), and the CLI's plugin view:
pure functions on plain data, no vCenter."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.vmrepl.core.plugins.module_utils import backup as bk
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
)
from vmrepl.cli import backup as view
from vmrepl.results import HostCounts, RunSummary

NOW = datetime(2026, 12, 2, 1, 0, 0, tzinfo=UTC)
GB = 10**9

times = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]),
).map(lambda t: t.replace(microsecond=0))


# -- parsers ----------------------------------------------------------------------------------
@given(times, st.text(alphabet="abcXYZ_-0123456789 ", max_size=20))
def test_netbackup_reads_the_first_field_whatever_follows(when: datetime, policy: str) -> None:
    text = f"{when:%a %b %d %H:%M:%S %Y %z},backup_{int(when.timestamp())},{policy},Full"
    assert bk.parse_netbackup(text) == when
    assert bk.parse_last_backup(text) == when
    assert bk.parse_last_backup(text).tzinfo == UTC


@given(times)
def test_iso_with_an_offset_is_the_same_instant(when: datetime) -> None:
    assert bk.parse_iso(when.isoformat()) == when
    assert bk.parse_last_backup(when.isoformat(), "iso") == when


@given(times)
def test_epoch_seconds(when: datetime) -> None:
    assert bk.parse_epoch(str(int(when.timestamp()))) == when
    assert bk.parse_last_backup(f"{when.timestamp():.0f}") == when


def test_iso_without_an_offset_is_utc_and_z_is_understood() -> None:
    assert bk.parse_iso("2026-12-01T20:00:00") == datetime(2026, 12, 1, 20, tzinfo=UTC)
    assert bk.parse_iso("2026-12-01T20:00:00Z") == datetime(2026, 12, 1, 20, tzinfo=UTC)


def test_a_netbackup_sample_as_scripts_parse_it() -> None:
    text = "Tue Dec 01 20:00:00 2026 +0100,nbu01_1796151600,vmware-daily,Full"
    assert bk.parse_last_backup(text) == datetime(2026, 12, 1, 19, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("yesterday", "auto"),
        ("2026-13-01T00:00:00", "iso"),
        ("Tue Dec 01 20:00:00 2026,x", "netbackup"),  # no offset: the format needs one
        ("12", "epoch"),
    ],
)
def test_unreadable_values_say_what_was_tried(text: str, fmt: str) -> None:
    with pytest.raises(ValueError, match=fmt if fmt != "auto" else "ISO 8601"):
        bk.parse_last_backup(text, fmt)


def test_an_unknown_format_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="backup_last_backup_format"):
        bk.parse_last_backup("x", "veeam")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"critical_free_percent": 20}, "backup_critical_free_percent"),
        ({"warning_free_percent": 120}, "backup_warning_free_percent"),
        ({"rpo_hours": 0}, "backup_rpo_hours"),
        ({"snapshot_max_age_hours": -1}, "backup_snapshot_max_age_hours"),
        ({"last_backup_attribute": " "}, "backup_last_backup_attribute"),
        ({"last_backup_format": "x"}, "backup_last_backup_format"),
    ],
)
def test_bad_thresholds_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        bk.Thresholds(**kwargs)


# -- a site as read_site returns it -------------------------------------------------------------
def host(name: str, maintenance: bool = False, state: str = "connected") -> dict[str, Any]:
    return {
        "name": name,
        "moid": f"host-{name}",
        "cluster": "C1",
        "connection_state": state,
        "maintenance_mode": maintenance,
        "custom_attributes": {},
    }


def vm(name: str, on: str, ds: str = "ds1", last: str | None = None, **extra: Any) -> dict:
    attrs = {"NB_LAST_BACKUP": last} if last is not None else {}
    return {
        "name": name,
        "moid": f"vm-{name}",
        "folder": "vm",
        "host": on,
        "power_state": extra.pop("power_state", "poweredOn"),
        "datastores": [ds],
        "consolidation_needed": extra.pop("consolidation_needed", False),
        "cbt": extra.pop("cbt", True),
        "snapshots": extra.pop("snapshots", []),
        "custom_attributes": attrs,
    }


def nb(hours_ago: float) -> str:
    return f"{NOW - timedelta(hours=hours_ago):%a %b %d %H:%M:%S %Y %z},id,policy,Full"


def site(free_gb: float = 50, capacity_gb: float = 100, **changes: Any) -> bk.SiteData:
    data = bk.SiteData(
        hosts=[host("h1"), host("h2"), host("h3", maintenance=True)],
        vms=[
            vm("backup-proxy-h1", "h1"),
            vm("backup-proxy-h2", "h2"),
            vm("app1", "h1", last=nb(2)),
            vm("db1", "h2", last=nb(2)),
            vm("Z-VRA-h1", "h1"),
        ],
        datastores={
            "ds1": {
                "name": "ds1",
                "capacity_bytes": int(capacity_gb * GB),
                "free_bytes": int(free_gb * GB),
                "accessible": True,
                "maintenance_mode": "normal",
            }
        },
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


SEL = bk.Selection(clusters=["C1"])


def report(data: bk.SiteData, replication: Any = None, **th: Any) -> dict[str, Any]:
    return bk.evaluate(data, SEL, bk.Thresholds(**th), NOW, replication)


def test_a_ready_site_is_ok_and_the_host_in_maintenance_is_reported_apart() -> None:
    r = report(site())
    assert r["status"] == "OK" and r["exit_code"] == 0, r["problems"]
    assert r["hosts_out_of_service"] == {"h3": "in maintenance mode"}
    assert r["hosts_without_proxy"] == []
    assert [v["name"] for v in r["vms"]] == ["app1", "db1"]  # no proxies, no VRAs
    assert r["advice"] == []


def test_a_host_in_service_without_a_proxy_is_critical_and_its_vms_get_the_advice() -> None:
    data = site()
    data.vms = [v for v in data.vms if v["name"] != "backup-proxy-h2"]
    r = report(data)
    assert r["status"] == "CRITICAL"
    assert r["hosts_without_proxy"] == ["h2"]
    assert r["advice"] == [
        {"vm": "db1", "reasons": ["its host h2 has no backup proxy"], "advice": bk.ADVICE}
    ]
    assert "'hosts_without_proxy'=1;;0" in r["perfdata"]


def test_a_powered_off_proxy_does_not_count() -> None:
    data = site()
    data.vms[0]["power_state"] = "poweredOff"
    r = report(data)
    assert r["hosts_without_proxy"] == ["h1"]
    assert any("is not on" in p["message"] for p in r["problems"])


def test_a_disconnected_host_is_skipped_too() -> None:
    data = site()
    data.hosts.append(host("h4", state="disconnected"))
    assert report(data)["hosts_out_of_service"]["h4"] == "connection state disconnected"


@pytest.mark.parametrize(
    ("free_gb", "status"),
    [(15.0, "OK"), (14.99, "WARNING"), (10.0, "WARNING"), (9.99, "CRITICAL"), (0, "CRITICAL")],
)
def test_datastore_thresholds(free_gb: float, status: str) -> None:
    r = report(site(free_gb=free_gb))
    [ds] = r["datastores"]
    assert ds["status"] == status
    assert r["status"] == status
    if status == "CRITICAL":
        assert "backup jobs stop" in r["problems"][0]["message"]
    assert ds["vms"] == ["app1", "db1"]


def test_replication_claim_is_taken_off_the_free_space() -> None:
    zvm = [
        {
            "DatastoreName": "ds1",
            "Stats": {
                "Usage": {
                    "Zerto": {
                        "Journal": {"UsedInBytes": 3 * GB, "ProvisionedInBytes": 8 * GB},
                        "Scratch": {"UsedInBytes": 0, "ProvisionedInBytes": 2 * GB},
                    }
                }
            },
        }
    ]
    usage = bk.replication_usage(zvm)
    assert usage == {
        "ds1": {"journal_used_bytes": 3 * GB, "scratch_used_bytes": 0, "reserve_bytes": 7 * GB}
    }
    without = report(site(free_gb=16))
    counted = report(site(free_gb=16), usage)
    assert without["datastores"][0]["status"] == "OK"
    [ds] = counted["datastores"]
    assert ds["free_percent"] == 16.0
    assert ds["free_after_replication_percent"] == 9.0
    assert ds["status"] == "CRITICAL" and ds["replication_counted"]
    assert "'ds_free_ds1'=9%;15:;10:;0;100" in counted["perfdata"]


def test_an_inaccessible_datastore_is_critical() -> None:
    data = site()
    data.datastores["ds1"]["accessible"] = False
    assert report(data)["datastores"][0]["status"] == "CRITICAL"


@pytest.mark.parametrize(
    ("last", "status"),
    [(nb(23.9), "OK"), (nb(30), "CRITICAL"), (None, "CRITICAL"), ("soon", "CRITICAL")],
)
def test_backup_rpo(last: str | None, status: str) -> None:
    data = site()
    data.vms[2] = vm("app1", "h1", last=last)
    r = report(data)
    [app] = [v for v in r["vms"] if v["name"] == "app1"]
    assert app["status"] == status
    if last == nb(30):
        assert app["backup_age_hours"] == 30.0
        assert app["last_backup_timestamp"] == (NOW - timedelta(hours=30)).timestamp()
        assert "over the 24 h RPO" in app["problems"][0]
        assert "'backup_age_app1'=108000s;;86400" in r["perfdata"]
    if last is None:
        assert "not set" in app["problems"][0]
        assert "'backup_age_app1'=U;;86400" in r["perfdata"]


def test_the_attribute_and_the_rpo_are_configurable() -> None:
    data = site()
    data.vms[2]["custom_attributes"] = {"Last Backup": (NOW - timedelta(hours=30)).isoformat()}
    r = report(data, last_backup_attribute="Last Backup", rpo_hours=36)
    assert [v["status"] for v in r["vms"] if v["name"] == "app1"] == ["OK"]


def test_snapshot_hygiene() -> None:
    data = site()
    old = (NOW - timedelta(days=3)).isoformat()
    new = (NOW - timedelta(hours=1)).isoformat()
    data.vms[2]["snapshots"] = [{"name": "VEEAM BACKUP TEMPORARY SNAPSHOT", "created": old}]
    data.vms[3]["snapshots"] = [{"name": "before-patch", "created": new}]
    data.vms[3]["consolidation_needed"] = True
    r = report(data)
    by = {v["name"]: v for v in r["vms"]}
    assert by["app1"]["status"] == "WARNING" and "left since" in by["app1"]["problems"][0]
    assert by["db1"]["problems"] == ["disk consolidation needed"]
    assert r["status"] == "WARNING"
    assert report(data, require_cbt=True)["status"] == "WARNING"


def test_cbt_is_only_judged_when_asked() -> None:
    data = site()
    data.vms[2]["cbt"] = False
    assert report(data)["status"] == "OK"
    assert report(data, require_cbt=True)["vms"][0]["problems"] == ["changed block tracking is off"]


def test_vm_selection_by_name_and_bad_patterns() -> None:
    r = bk.evaluate(site(), bk.Selection(clusters=["C1"], vm_names=["db1"]), bk.Thresholds(), NOW)
    assert [v["name"] for v in r["vms"]] == ["db1"]
    with pytest.raises(ConfigurationError, match="backup_proxy_pattern"):
        bk.evaluate(site(), bk.Selection(proxy_pattern="("), bk.Thresholds(), NOW)


def test_perfdata_labels_are_quoted_and_clean() -> None:
    data = site()
    data.vms[2]["name"] = "it's=odd vm"
    items = report(data)["perfdata_items"]
    assert "'backup_age_it_s_odd vm'=7200s;;86400" in items
    for item in items:
        assert re.fullmatch(r"'[^'=]+'=(U|[\d.]+(%|s)?)(;[\d.:]*){2,4}", item), item


def test_metric_samples_are_timestamps_and_ratios() -> None:
    r = report(site(free_gb=12))
    samples = bk.metric_samples({"source": r})
    names = {(n, tuple(sorted(labels.items()))): v for n, labels, v in samples}
    key = ("site", "source"), ("vm", "app1")
    assert (
        names[("vmrepl_vm_last_backup_timestamp_seconds", key)]
        == (NOW - timedelta(hours=2)).timestamp()
    )
    assert names[("vmrepl_datastore_free_ratio", (("datastore", "ds1"), ("site", "source")))] == (
        0.12
    )
    assert names[("vmrepl_backup_readiness_status", (("site", "source"),))] == 1.0
    assert names[("vmrepl_backup_proxy_up", (("host", "h1"), ("site", "source")))] == 1.0


# -- the proxies' plan --------------------------------------------------------------------------
def test_plan_deploys_only_where_a_proxy_is_missing_and_skips_maintenance() -> None:
    data = site()
    data.vms = [v for v in data.vms if not v["name"].startswith("backup-proxy")]
    plan = bk.plan_proxies(data, SEL, "backup-proxy-")
    assert plan.changes == {"h1": (None, "backup-proxy-h1"), "h2": (None, "backup-proxy-h2")}
    assert plan.skipped == {"h3": "in maintenance mode"}
    assert "Would deploy a backup proxy on h1, h2." in plan.summary(True)
    assert "h3 (in maintenance mode)" in plan.summary(True)


def test_plan_is_empty_when_every_host_has_one() -> None:
    plan = bk.plan_proxies(site(), SEL, "backup-proxy-")
    assert plan.changes == {}
    assert plan.present == {"h1": ["backup-proxy-h1"], "h2": ["backup-proxy-h2"]}


def test_plan_powers_on_ours_and_leaves_others_alone() -> None:
    data = site()
    data.vms[0]["power_state"] = "poweredOff"  # ours on h1
    data.vms[1]["host"] = "h1"  # backup-proxy-h2 moved to h1: h2 has none, its name is taken
    plan = bk.plan_proxies(data, SEL, "backup-proxy-")
    assert plan.changes == {}
    assert plan.present == {"h1": ["backup-proxy-h1", "backup-proxy-h2"]}
    assert plan.blocked == {"h2": "VM backup-proxy-h2 exists on h1"}
    data.vms[1]["host"] = "h2"
    assert bk.plan_proxies(data, SEL, "backup-proxy-").changes == {
        "h1": ("poweredOff", "backup-proxy-h1")
    }


# -- the CLI's monitoring-plugin view -----------------------------------------------------------
def summary(sites: list[str], reported: dict[str, Any], status: str = "failed") -> RunSummary:
    return RunSummary(
        status=status,
        hosts={s: HostCounts() for s in sites},
        results=[],
        reason="r",
        reported=reported,
    )


def test_plugin_state_and_perfdata_of_several_sites() -> None:
    ok, critical = report(site()), report(site(free_gb=5))
    run = summary(["source", "target"], {"backup": {"source": ok, "target": critical}})
    doc = view.extract(run)
    assert doc["readiness"] == "CRITICAL"
    assert "'target:ds_free_ds1'=5%;15:;10:;0;100" in doc["perfdata"]
    text, code = view.plugin_line(doc, run)
    assert code == 2
    first, *rest = text.splitlines()
    assert first.startswith("BACKUP CRITICAL - source: 0 critical") and " | 'source:" in first
    assert rest == ["CRITICAL target ds1: 5.0% free, under 10%: backup jobs stop"]


def test_plugin_is_unknown_when_nothing_was_read() -> None:
    run = summary(["source"], {}, status="refused")
    doc = view.extract(run)
    text, code = view.plugin_line(doc, run)
    assert (doc["readiness"], code) == ("UNKNOWN", 3)
    assert text.startswith("BACKUP UNKNOWN - no readiness report (refused)")


def test_plugin_is_unknown_when_a_site_was_not_read_and_none_is_critical() -> None:
    run = summary(["source", "target"], {"backup": {"source": report(site(free_gb=12))}})
    doc = view.extract(run)
    text, code = view.plugin_line(doc, run)
    assert code == 3 and "not read: target" in text
