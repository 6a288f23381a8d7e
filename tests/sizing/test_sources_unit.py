"""The sources' pure parts: the historical interval chosen (or a clear refusal), the VPG
selections read from the role's definitions, the command's refusals."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from vmrepl.cli import cli
from vmrepl.sizing import SizingError
from vmrepl.sizing.vcenter import Selection, pick_interval


def interval(name: str, period: int, length: int, level: int) -> SimpleNamespace:
    return SimpleNamespace(
        name=name, samplingPeriod=period, length=length, level=level, enabled=True
    )


DEFAULTS = [
    interval("Past day", 300, 86400, 2),
    interval("Past week", 1800, 604800, 2),
    interval("Past month", 7200, 2592000, 1),
    interval("Past year", 86400, 31536000, 1),
]


def test_the_finest_interval_that_keeps_the_window_at_the_level_is_read() -> None:
    assert pick_interval(DEFAULTS, 24, 2).samplingPeriod == 300
    assert pick_interval(DEFAULTS, 48, 2).samplingPeriod == 1800
    assert pick_interval(DEFAULTS, 24 * 30, 1).samplingPeriod == 7200


def test_a_vcenter_at_level_1_is_refused_naming_its_intervals_and_the_fix() -> None:
    level_one = [interval(i.name, i.samplingPeriod, i.length, 1) for i in DEFAULTS]
    with pytest.raises(SizingError) as raised:
        pick_interval(level_one, 24, 2)
    message = str(raised.value)
    assert "statistics level 2" in message and "Past day (300 s kept 24 h, level 1)" in message
    with pytest.raises(SizingError, match="none"):
        pick_interval([], 24, 2)
    with pytest.raises(SizingError):
        pick_interval(DEFAULTS, 24 * 30, 2)  # a month is kept at level 1 only


def test_a_vpg_definition_becomes_a_selection() -> None:
    selection = Selection.from_dict(
        {"name": "100001-7-web", "vms": ["web01"], "vm_tag": {"category": "c", "name": "t"}}
    )
    assert selection.vpg == "100001-7-web" and selection.names == ("web01",)
    assert selection.tag == {"category": "c", "name": "t"} and not selection.empty()
    assert Selection.from_dict({"name": "x"}).empty()


def test_size_needs_exactly_one_source(tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("vm,write_kbps\napp01,5\n")
    for args in ([], [str(rates), "--from-vcenter"]):
        done = CliRunner().invoke(cli, ["size", *args])
        assert done.exit_code == 2 and "one of them" in done.output


def test_csv_and_html_from_a_file(tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("vm,timestamp,write_kbps\napp01,0,5\napp01,300,7\ndb01,0,1\ndb01,300,2\n")
    done = CliRunner().invoke(
        cli, ["size", str(rates), "-o", "csv", "--html", str(tmp_path / "r.html")]
    )
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[1].startswith("app01,default,2,6.0,")
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 2 and 'id="chart-write-rate"' in page  # no target: no chart


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"vms": ["a"]}, "needs a name"),
        ({"name": "v", "vm_tag": {"name": "t"}}, "vm_tag needs category and name"),
        ({"name": "v", "vm_custom_attribute": {"name": "a"}}, "needs name and value"),
        ({"name": "v", "vms": "web01"}, "vms must be a list"),
    ],
)
def test_a_bad_vpg_definition_is_refused_naming_the_field(definition: dict, expected: str) -> None:
    with pytest.raises(SizingError, match=expected) as raised:
        Selection.from_dict(definition, "vpgs[0]")
    assert str(raised.value).startswith("vpgs[0]")


def test_the_role_definitions_other_keys_are_not_in_the_way() -> None:
    selection = Selection.from_dict(
        {"name": "v", "vms": ["a"], "journal_history_hours": 48, "recovery_cluster": "C"}
    )
    assert selection.names == ("a",)
