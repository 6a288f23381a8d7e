"""Properties of the sizing arithmetic (hypothesis): percentiles against numpy's, journals
linear in rate, history and compression, limits and scratch bounded, the WAN floor and
scenarios, the N+1 verdict consistent with the shortfall, counter deltas with resets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmrepl.sizing import (
    MIN_JOURNAL_GB,
    MIN_WAN_MBPS,
    VRA_MAX_VOLUMES,
    Capacity,
    Host,
    Parameters,
    VmSeries,
    counter_rates,
    percentile,
    plan,
    vra_volumes,
)
from vmrepl.sizing.report import series_of

rates = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
rate_lists = st.lists(rates, min_size=1, max_size=60)


@given(rate_lists, st.floats(min_value=0, max_value=100))
def test_percentile_is_numpys_linear_method(values: list[float], pct: float) -> None:
    assert percentile(values, pct) == pytest.approx(
        float(np.percentile(values, pct)), rel=1e-9, abs=1e-9
    )


@given(rate_lists, st.floats(min_value=0, max_value=100), st.floats(min_value=0, max_value=100))
def test_percentile_is_monotonic_and_bounded(values: list[float], a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert min(values) <= percentile(values, low) <= percentile(values, high) <= max(values)


@st.composite
def fleets(draw: st.DrawFn) -> list[VmSeries]:
    """VMs sampled at the same times (one interval), in one or two VPGs."""
    count = draw(st.integers(min_value=1, max_value=6))
    length = draw(st.integers(min_value=1, max_value=40))
    times = tuple(1_700_000_000 + 300 * i for i in range(length))
    return [
        VmSeries(
            name=f"vm{i}",
            vpg=draw(st.sampled_from(["a", "b"])),
            write_kbps=tuple(draw(st.lists(rates, min_size=length, max_size=length))),
            timestamps=times,
            interval_seconds=300,
            vcpus=draw(st.integers(min_value=0, max_value=64)),
            memory_gb=draw(st.floats(min_value=0, max_value=1024)),
            storage_gb=draw(st.floats(min_value=0, max_value=10_000)),
            disks=draw(st.none() | st.integers(min_value=0, max_value=64)),
        )
        for i in range(count)
    ]


params = st.builds(
    Parameters,
    history_hours=st.floats(min_value=1, max_value=720),
    journal_compression=st.sampled_from([0, 50, 70]),
    wan_compression=st.sampled_from([0, 50, 70]),
    journal_hard_limit_gb=st.floats(min_value=8, max_value=10_000),
    hosts_down=st.integers(min_value=0, max_value=3),
)


@settings(max_examples=25, deadline=None)
@given(fleets(), params)
def test_journals_follow_formula_1_and_stay_within_the_limits(
    vms: list[VmSeries], p: Parameters
) -> None:
    doc = plan(vms, p)
    factor = {0: 1.0, 50: 0.5, 70: 0.3}[p.journal_compression]
    for row, vm in zip(doc["vms"], sorted(vms, key=lambda v: (v.vpg, v.name)), strict=True):
        # formula 1: the data written over the history (sum of rate * interval), in GB (SI)
        expected = float(np.mean(vm.write_kbps)) * p.history_hours * 3600 * factor / 1e6
        assert row["journal_gb"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert min(MIN_JOURNAL_GB, p.journal_hard_limit_gb) <= row["journal_limit_gb"]
        assert row["journal_limit_gb"] <= p.journal_hard_limit_gb
        assert row["scratch_gb"] == row["journal_limit_gb"]  # the limit applies to scratch too
        assert row["exceeds_hard_limit"] == (row["journal_gb"] > p.journal_hard_limit_gb)
        assert row["history_hours_possible"] <= p.history_hours
        if row["exceeds_hard_limit"]:
            assert row["history_hours_possible"] * row["journal_gb"] / p.history_hours == (
                pytest.approx(p.journal_hard_limit_gb, rel=1e-9)
            )
    assert doc["journal_total_gb"] == pytest.approx(sum(r["journal_gb"] for r in doc["vms"]))
    assert sum(v["journal_limit_gb"] for v in doc["vpgs"]) == pytest.approx(
        doc["journal_limit_total_gb"]
    )
    assert sum(v["vms"] for v in doc["vpgs"]) == len(vms)


@settings(max_examples=25, deadline=None)
@given(fleets(), params)
def test_wan_is_the_p98_of_the_total_with_scenarios_and_the_floor(
    vms: list[VmSeries], p: Parameters
) -> None:
    doc = plan(vms, p)
    total = np.sum([vm.write_kbps for vm in vms], axis=0) * 8 / 1000
    wan = doc["wan"]
    assert wan["p98"] == pytest.approx(float(np.percentile(total, 98)), rel=1e-9, abs=1e-12)
    assert wan["p95"] <= wan["p98"] <= wan["peak"] == pytest.approx(float(total.max()))
    scenarios = wan["compression_scenarios_mbps"]
    assert scenarios["0"] >= scenarios["50"] >= scenarios["70"]
    assert doc["wan_mbps"] >= MIN_WAN_MBPS
    assert doc["wan_mbps"] == pytest.approx(max(MIN_WAN_MBPS, scenarios[str(p.wan_compression)]))
    hours = doc["initial_sync"]["hours"]
    storage = sum(vm.storage_gb for vm in vms)
    assert hours == pytest.approx(storage * 8000 / (doc["wan_mbps"] * 0.8) / 3600)


hosts = st.lists(
    st.builds(
        Host,
        name=st.text(min_size=1, max_size=5),
        cpu_cores=st.integers(min_value=0, max_value=128),
        memory_bytes=st.integers(min_value=0, max_value=2**41),
        usable=st.booleans(),
    ),
    max_size=6,
)


@settings(max_examples=25, deadline=None)
@given(fleets(), params, hosts, st.integers(min_value=0, max_value=2**45))
def test_the_target_fits_exactly_when_nothing_is_short(
    vms: list[VmSeries], p: Parameters, cluster: list[Host], free: int
) -> None:
    doc = plan(vms, p, Capacity("C", tuple(cluster), free))
    target = doc["target"]
    assert target["fits"] == (not target["short"])
    for key, short in target["short"].items():
        assert short == pytest.approx(target["need"][key] - target["capacity"][key])
        assert short > 0
    for key in target["need"]:
        if key not in target["short"]:
            assert target["need"][key] <= target["capacity"][key]
    usable = [h for h in cluster if h.usable]
    assert len(target["hosts_counted"]) == max(0, len(usable) - p.hosts_down)
    # one more host down never makes it fit better
    worse = plan(
        vms,
        Parameters(**{**p.__dict__, "hosts_down": p.hosts_down + 1}),
        Capacity("C", tuple(cluster), free),
    )["target"]
    assert worse["capacity"]["vcpus"] <= target["capacity"]["vcpus"]
    assert worse["capacity"]["memory_gb"] <= target["capacity"]["memory_gb"]


@settings(max_examples=25, deadline=None)
@given(fleets(), params)
def test_the_report_recomputes_from_its_own_raw_samples(vms: list[VmSeries], p: Parameters) -> None:
    from types import SimpleNamespace

    from vmrepl.sizing.report import build

    doc = build(SimpleNamespace(vms=vms, notes=[]), p)
    again = build(SimpleNamespace(vms=series_of(doc), notes=[]), p)
    for key in ("vms", "vpgs", "journal_total_gb", "wan", "wan_mbps", "initial_sync"):
        assert again[key] == doc[key]


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e9)),
        max_size=30,
    )
)
def test_counter_deltas_skip_resets_and_never_go_negative(
    reads: list[tuple[float, float]],
) -> None:
    found = counter_rates(reads)
    assert all(rate >= 0 and math.isfinite(rate) for _, rate in found)
    assert len(found) <= max(0, len(reads) - 1)


def test_a_counter_reset_drops_one_interval_and_counts_on_from_the_new_value() -> None:
    # 10 MB/s, then the ZVM restarts (the counter falls to 5), then 10 MB/s again
    reads = [(0, 0), (10, 100), (20, 5), (30, 105)]
    assert counter_rates(reads) == [(10, 10.0), (30, 10.0)]


def test_a_service_profile_percentage_rounds_up_to_zertos_steps() -> None:
    from vmrepl.sizing.arithmetic import service_profile_limit_gb

    assert service_profile_limit_gb(6, 100) == 10  # the KB's example
    assert service_profile_limit_gb(10, 1000) == 100
    assert service_profile_limit_gb(11, 1000) == 150
    assert service_profile_limit_gb(50, 4000) == 2000  # above the last step: the share
    vm = VmSeries("a", (1000.0,) * 3, (0, 300, 600), 300, storage_gb=100)
    row = plan([vm], Parameters(max_journal_percent=6))["vms"][0]
    assert row["hard_limit_gb"] == 10 and row["exceeds_hard_limit"] is True
    assert row["journal_limit_gb"] == 10 and row["scratch_gb"] == 10


@given(st.floats(min_value=0.1, max_value=100), st.floats(min_value=0, max_value=1e5))
def test_the_service_profile_limit_is_never_below_the_share(percent: float, gb: float) -> None:
    from vmrepl.sizing.arithmetic import SERVICE_PROFILE_STEPS_GB, service_profile_limit_gb

    limit = service_profile_limit_gb(percent, gb)
    share = percent / 100 * gb
    assert limit >= share
    assert limit in SERVICE_PROFILE_STEPS_GB or limit == share


volume_fleets = st.lists(
    st.builds(
        VmSeries,
        name=st.text(min_size=1, max_size=4),
        write_kbps=st.just((1.0,)),
        disks=st.none() | st.integers(min_value=0, max_value=256),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(
    volume_fleets,
    st.lists(st.text(min_size=1, max_size=3), max_size=6),
    st.integers(min_value=1, max_value=2000),
)
def test_vra_volumes_count_every_disk_and_journal_once_spread_evenly(
    vms: list[VmSeries], hosts: list[str], limit: int
) -> None:
    found = vra_volumes(vms, hosts, limit)
    known = [vm for vm in vms if vm.disks is not None]
    total = sum((vm.disks or 0) + 1 for vm in known)
    assert found["total"] == total
    assert sorted(found["vms_unknown"]) == sorted(vm.name for vm in vms if vm.disks is None)
    counts = [h["volumes"] for h in found["per_host"]]
    assert [h["host"] for h in found["per_host"]] == hosts  # duplicates kept apart
    if hosts:
        assert sum(counts) == total
        # Whole VMs, most volumes first, onto the least loaded: never more than the even share
        # plus the largest VM (and never less than the even share on the fullest host).
        largest = max(((vm.disks or 0) + 1 for vm in known), default=0)
        assert max(counts) <= math.ceil(total / len(hosts)) + largest
        assert max(counts) >= math.ceil(total / len(hosts))
    over = {(h["host"], h["volumes"], h["over_by"]) for h in found["over_limit"]}
    assert over == {(h, n, n - limit) for h, n in zip(hosts, counts, strict=True) if n > limit}
    assert found["within_limit"] == (not over and (bool(hosts) or total == 0))


def test_vra_volumes_name_the_hosts_over_zertos_limit() -> None:
    big = [VmSeries(f"vm{i}", (1.0,), disks=99) for i in range(40)]  # 40 x 100 volumes
    found = vra_volumes(big, ["h1", "h2"])
    assert found["limit_per_vra"] == VRA_MAX_VOLUMES == 1500
    assert [h["volumes"] for h in found["per_host"]] == [2000, 2000]
    assert found["over_limit"] == [
        {"host": "h1", "volumes": 2000, "over_by": 500},
        {"host": "h2", "volumes": 2000, "over_by": 500},
    ]
    assert not found["within_limit"]
    assert vra_volumes(big, ["h1", "h2", "h3"])["within_limit"]  # 1400, 1300, 1300


def test_the_plan_reports_vra_volumes_on_the_hosts_left_and_notes_those_over() -> None:
    vms = [VmSeries(f"vm{i}", (100.0,), vcpus=1, memory_gb=1, disks=749) for i in range(4)]
    cluster = Capacity(
        "C", (Host("h1", 64, 2**40), Host("h2", 64, 2**40), Host("h3", 32, 2**39)), 10**15
    )
    target = plan(vms, Parameters(hosts_down=1), cluster)["target"]
    volumes = target["vra_volumes"]
    # h1 (one of the largest) counted as down: h2 and h3 take two VMs of 750 volumes each.
    assert [h["host"] for h in volumes["per_host"]] == target["hosts_counted"] == ["h2", "h3"]
    assert [h["volumes"] for h in volumes["per_host"]] == [1500, 1500]
    assert volumes["within_limit"]
    doc = plan(vms, Parameters(hosts_down=2), cluster)
    volumes = doc["target"]["vra_volumes"]
    assert volumes["over_limit"] == [{"host": "h3", "volumes": 3000, "over_by": 1500}]
    assert any("h3: its VRA would hold 3000 volumes, 1500 over" in n for n in doc["notes"])
