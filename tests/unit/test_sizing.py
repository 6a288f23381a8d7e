"""Sizing: journals and WAN from VM write rates (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmrepl import sizing
from vmrepl.sizing import Sample, SizingError


def test_percentile_interpolates_between_ranks() -> None:
    values = list(range(1, 101))  # 1..100
    assert sizing.percentile(values, 98) == pytest.approx(98.02)
    assert sizing.percentile(values, 50) == pytest.approx(50.5)
    assert sizing.percentile([7.0], 98) == 7.0
    assert sizing.percentile([1, 3], 100) == 3


def test_journal_is_write_rate_times_history_times_compression() -> None:
    # 100 KB/s for 7 days = 100 * 604800 KB = 60.48 GB (SI: 10^6 KB per GB)
    result = sizing.size([Sample("app01", 100.0)], history_hours=168)
    assert result.vms[0].journal_gb == pytest.approx(100 * 604800 / 1000**2)
    assert result.journal_gb == pytest.approx(60.48)
    assert result.journal_with_test_gb == pytest.approx(2 * result.journal_limit_gb)
    half = sizing.size([Sample("app01", 100.0)], history_hours=168, journal_compression=50)
    assert half.journal_gb == pytest.approx(result.journal_gb * 0.5)
    seventy = sizing.size([Sample("app01", 100.0)], history_hours=168, journal_compression=70)
    assert seventy.journal_gb == pytest.approx(result.journal_gb * 0.3)


def test_small_journals_get_the_minimum_limit() -> None:
    result = sizing.size([Sample("quiet", 1.0)], history_hours=24)
    assert result.vms[0].journal_gb < 1
    assert result.vms[0].journal_limit_gb == sizing.MIN_JOURNAL_GB


def test_wan_is_the_98th_percentile_of_the_sum_over_time() -> None:
    samples = []
    for t in range(100):
        samples.append(Sample("a", 1000.0, str(t)))  # 8 Mb/s all the time (SI)
        samples.append(Sample("b", 1000.0 * (t + 1) / 100, str(t)))  # a ramp up to 8 Mb/s
    result = sizing.size(samples)
    # sum at moment t: 8 + 8 * (t + 1) / 100 Mb/s; 98th percentile of t is 97.02
    assert result.wan_percentile_mbps == pytest.approx(8 + 8 * 98.02 / 100)
    assert result.wan_mbps == result.wan_percentile_mbps
    assert "sum of all VMs" in result.wan_method
    compressed = sizing.size(samples, wan_compression=True)
    assert compressed.wan_mbps == pytest.approx(result.wan_mbps / 2)


def test_wan_without_timestamps_sums_each_vm_and_has_a_floor() -> None:
    result = sizing.size([Sample("a", 62.5), Sample("b", 62.5)])  # 0.5 Mb/s each
    assert result.wan_percentile_mbps == pytest.approx(1.0)
    assert result.wan_mbps == sizing.MIN_WAN_MBPS
    assert any("minimum" in note for note in result.notes)


def test_csv_and_json_inputs(tmp_path: Path) -> None:
    csv_file = tmp_path / "rates.csv"
    csv_file.write_text(
        "vm,timestamp,write_kbps\napp01,2024-05-01T10:00:00Z,100\napp01,2024-05-01T10:05:00Z,300\ndb01,2024-05-01T10:00:00Z,50\n"
    )
    samples = sizing.load(csv_file)
    assert samples == [
        Sample("app01", 100.0, "2024-05-01T10:00:00Z"),
        Sample("app01", 300.0, "2024-05-01T10:05:00Z"),
        Sample("db01", 50.0, "2024-05-01T10:00:00Z"),
    ]
    result = sizing.size(samples)
    assert [(v.vm, v.average_write_kbps) for v in result.vms] == [("app01", 200.0), ("db01", 50.0)]

    json_file = tmp_path / "rates.json"
    json_file.write_text(json.dumps({"vms": [{"vm": "app01", "write_kbps": [100, 300]}]}))
    assert sizing.size(sizing.load(json_file)).vms[0].average_write_kbps == 200.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vm,write_kbps\napp01,fast\n", "is not a number"),
        ("vm,write_kbps\napp01,-1\n", "must be 0 or more"),
        ("name,iops\napp01,5\n", "needs a VM name"),
        ("vm,write_kbps\n", "no VM write rates"),
        ("{not json", "invalid JSON"),
        ('{"other": 1}', "must be a list"),
    ],
)
def test_bad_input_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(SizingError, match=message):
        sizing.size(sizing.parse(text))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(SizingError, match="720"):
        sizing.size([Sample("a", 1.0)], history_hours=1000)
    with pytest.raises(SizingError, match="compression"):
        sizing.size([Sample("a", 1.0)], journal_compression=30)
