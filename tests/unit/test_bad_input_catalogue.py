"""A catalogue of bad inputs that can be checked without a lab: each is refused (exit 2, or the
refusal error) before anything is read or changed, with a message that names the field, the
variable or the flag the user set (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ansible_collections.vmrepl.core.plugins.module_utils import bubble_network
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConfigurationError
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import check_inputs
from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import check_definitions
from vmrepl.cli import cli
from vmrepl.results import EXIT_CODES, summarise

GOOD = {"name": "123456-7-app", "vms": ["app1"]}


def entry(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


# -- VPG definitions (vpg.yml's vpg_definitions, the vpg module's definitions) ----------------
DEFINITIONS: list[tuple[str, Any, list[str]]] = [
    (
        "misspelled history",
        [entry(journal_history_hour=24)],
        ["journal_history_hour", "[0]", "did you mean journal_history_hours"],
    ),
    ("misspelled rpo", [entry(rpo_alert_second=60)], ["rpo_alert_second", "rpo_alert_seconds"]),
    ("unknown key", [entry(colour="blue")], ["'colour'", "vpg_definitions[0]"]),
    (
        "unknown key in the second entry",
        [GOOD, {"name": "b", "vms": ["x"], "vm": "y"}],
        ["vpg_definitions[1]", "'vm'"],
    ),
    (
        "duplicate names",
        [GOOD, dict(GOOD)],
        ["defined twice", "vpg_definitions[1]", "vpg_definitions[0]"],
    ),
    ("duplicate names, other case", [GOOD, entry(name=GOOD["name"].upper())], ["defined twice"]),
    ("300-character name", [entry(name="a" * 300)], ["300 characters", "at most 80"]),
    ("81-character name", [entry(name="a" * 81)], ["81 characters"]),
    ("slash in name", [entry(name="a/b")], ["'/'", "name"]),
    ("dollar-paren in name", [entry(name="a$(id)")], ["'$'", "'('", "')'"]),
    ("angle brackets in name", [entry(name="<script>")], ["'<'", "'>'"]),
    ("quote in name", [entry(name='a"b')], ["'\"'"]),
    ("semicolon in name", [entry(name="a;b")], ["';'"]),
    ("backtick in name", [entry(name="a`b`")], ["'`'"]),
    ("newline in name", [entry(name="a\nb")], ["'\\n'"]),
    ("leading space", [entry(name=" a")], ["name"]),
    ("empty name", [entry(name="")], ["name must be a non-empty string"]),
    ("no name", [{"vms": ["app1"]}], ["name is required"]),
    ("name not a string", [entry(name=42)], ["name must be a non-empty string"]),
    (
        "history 0",
        [entry(journal_history_hours=0)],
        ["journal_history_hours must be 1 to 720, not 0"],
    ),
    ("history 721", [entry(journal_history_hours=721)], ["journal_history_hours must be 1 to 720"]),
    ("history negative", [entry(journal_history_hours=-5)], ["journal_history_hours"]),
    (
        "history not a number",
        [entry(journal_history_hours="a week")],
        ["journal_history_hours must be a whole number"],
    ),
    (
        "history a float",
        [entry(journal_history_hours=1.5)],
        ["journal_history_hours must be a whole number"],
    ),
    (
        "history a boolean",
        [entry(journal_history_hours=True)],
        ["journal_history_hours", "boolean"],
    ),
    ("rpo 0", [entry(rpo_alert_seconds=0)], ["rpo_alert_seconds must be at least 1"]),
    (
        "hard limit below 8 GB",
        [entry(journal_hard_limit_mb=100)],
        ["journal_hard_limit_mb must be at least 8192"],
    ),
    (
        "warning above hard",
        [entry(journal_hard_limit_mb=9000, journal_warning_mb=9000)],
        ["journal_warning_mb (9000) must be below"],
    ),
    ("priority", [entry(priority="Urgent")], ["priority must be one of Low, Medium, High"]),
    ("state", [entry(state="gone")], ["state must be one of present, absent"]),
    (
        "wan_compression",
        [entry(wan_compression="maybe")],
        ["wan_compression must be true or false"],
    ),
    ("vms a number", [entry(vms=5)], ["vms must be a list of VM names"]),
    ("vms with an empty name", [entry(vms=["a", ""])], ["vms must be a list"]),
    (
        "host and cluster",
        [entry(recovery_host="h", recovery_cluster="c")],
        ["recovery_host or recovery_cluster, not both"],
    ),
    ("tag without category", [entry(vm_tag={"name": "x"})], ["vm_tag needs category"]),
    (
        "tag unknown key",
        [entry(vm_tag={"name": "x", "category": "c", "colour": "r"})],
        ["vm_tag has unknown key(s) colour"],
    ),
    (
        "attribute not a mapping",
        [entry(vm_custom_attribute="x")],
        ["vm_custom_attribute must be a mapping"],
    ),
    (
        "300-character test network",
        [entry(test_network="n" * 300)],
        ["test_network is 300 characters"],
    ),
    ("unsafe failover network", [entry(failover_network="a/b")], ["failover_network", "'/'"]),
    ("entry not a mapping", ["just-a-name"], ["vpg_definitions[0]: must be a mapping"]),
    ("empty list", [], ["vpg_definitions must list the VPGs"]),
    ("not a list", "a string", ["vpg_definitions must list the VPGs"]),
]


@pytest.mark.parametrize(
    ("definitions", "expected"),
    [pytest.param(d, e, id=i) for i, d, e in DEFINITIONS],
)
def test_bad_vpg_definitions_are_refused_as_a_whole(definitions: Any, expected: list[str]) -> None:
    with pytest.raises(ConfigurationError) as refused:
        check_definitions(definitions)
    for text in expected:
        assert text in str(refused.value), text
    assert "Nothing was changed" in str(refused.value)


def test_every_problem_of_a_file_is_listed_at_once() -> None:
    bad = [entry(name="other", journal_history_hour=1), GOOD, entry(name="a/b"), dict(GOOD)]
    with pytest.raises(ConfigurationError) as refused:
        check_definitions(bad)
    problems = refused.value.details["problems"]
    assert len(problems) == 3
    assert [p.split(":")[0].split(" ")[0] for p in problems] == [
        "vpg_definitions[0]",
        "vpg_definitions[2]",
        "vpg_definitions[3]",
    ]


def test_good_definitions_pass_with_their_values_coerced() -> None:
    clean = check_definitions(
        [entry(journal_history_hours="48", priority="high", wan_compression="yes")]
    )
    assert clean == [entry(journal_history_hours=48, priority="High", wan_compression=True)]


# -- recovery operations ------------------------------------------------------------------
NOW = 1_715_000_000.0  # 2024-05-06


def recovery_inputs(**given: Any) -> dict[str, Any]:
    return {
        "request_ref": "CHG1",
        "point_in_time": None,
        "checkpoint_tag": None,
        "test_network": None,
        "now": NOW,
        **given,
    }


RECOVERY: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "future point in time",
        {"point_in_time": "2030-01-01T00:00:00Z"},
        ["recovery_point_in_time", "--point-in-time", "in the future"],
    ),
    ("an hour ahead", {"point_in_time": "2024-05-06T14:00:00Z"}, ["in the future"]),
    (
        "garbage point in time",
        {"point_in_time": "yesterday"},
        ["recovery_point_in_time", "not an ISO 8601"],
    ),
    ("month 13", {"point_in_time": "2024-13-01T00:00:00Z"}, ["not an ISO 8601"]),
    (
        "300-character test network",
        {"test_network": "n" * 300},
        ["recovery_test_network", "--test-network", "300 characters"],
    ),
    ("slash in test network", {"test_network": "a/b"}, ["recovery_test_network", "'/'"]),
    ("shell in test network", {"test_network": "$(reboot)"}, ["'$'"]),
    ("long request ref", {"request_ref": "x" * 101}, ["recovery_request_ref", "--request-ref"]),
    (
        "control characters in request ref",
        {"request_ref": "CHG\x1b[2J"},
        ["recovery_request_ref", "control"],
    ),
    (
        "empty checkpoint tag",
        {"checkpoint_tag": " "},
        ["recovery_checkpoint_tag", "--checkpoint-tag"],
    ),
    ("long checkpoint tag", {"checkpoint_tag": "t" * 101}, ["recovery_checkpoint_tag"]),
]


@pytest.mark.parametrize(("given", "expected"), [pytest.param(g, e, id=i) for i, g, e in RECOVERY])
def test_bad_recovery_inputs_are_refused_naming_the_variable_and_flag(
    given: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        check_inputs(**recovery_inputs(**given))
    for text in expected:
        assert text in str(refused.value), text


def test_a_past_point_in_time_and_a_safe_network_pass() -> None:
    check_inputs(**recovery_inputs(point_in_time="2024-05-01T10:00:00Z", test_network="bubble-1"))


@pytest.mark.parametrize("name", ["n" * 300, "a/b", "x<y>", 'q"'])
def test_the_test_network_module_refuses_a_bad_name_before_reading(name: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        bubble_network.plan(object(), ["esx1"], name)  # type: ignore[arg-type]
    assert "recovery_test_network" in str(refused.value)


# -- vmrepl size ------------------------------------------------------------------------------
SIZE: list[tuple[str, bytes, list[str]]] = [
    ("1e300", b"vm,write_kbps\napp01,1e300\n", ["row 1", "line 2", "'write_kbps'", "1e300"]),
    ("inf", b"vm,write_kbps\napp01,inf\n", ["row 1", "'write_kbps'"]),
    ("-inf", b"vm,write_kbps\napp01,-inf\n", ["'write_kbps'"]),
    ("nan", b"vm,write_kbps\napp01,nan\n", ["'write_kbps'", "nan"]),
    ("negative", b"vm,write_kbps\napp01,5\ndb01,-1\n", ["row 2", "line 3", "must be 0 or more"]),
    ("not a number", b"vm,write_kbps\napp01,fast\n", ["'write_kbps'", "is not a number"]),
    (
        "garbage timestamp",
        b"vm,timestamp,write_kbps\napp01,not-a-time,5\n",
        ["row 1", "'timestamp'", "is not a time"],
    ),
    ("month 13 timestamp", b"vm,timestamp,write_kbps\napp01,2024-13-01T00:00,5\n", ["'timestamp'"]),
    ("non-UTF-8", b"vm,write_kbps\napp\xe9,5\n", ["line 2, column 4", "not UTF-8"]),
    ("latin-1 header", b"vm\xff,write_kbps\n", ["line 1, column 3"]),
    ("NUL bytes", b"vm,write_kbps\napp\x00,5\n", ["NUL"]),
    ("extra field", b"vm,write_kbps\napp01,5,6\n", ["row 1", "more fields"]),
    ("no columns", b"name,iops\napp01,5\n", ["needs a VM name"]),
    ("empty", b"vm,write_kbps\n", ["no VM write rates"]),
    ("JSON inf", b'[{"vm": "a", "write_kbps": 1e999}]', ["row 1", "'write_kbps'"]),
    ("JSON boolean rate", b'[{"vm": "a", "write_kbps": true}]', ["'write_kbps'"]),
    ("JSON bad VM", b'[{"vm": 5, "write_kbps": 1}]', ["'vm'", "not a name"]),
    ("JSON list of rates with nan", b'[{"vm": "a", "write_kbps": [1, "nan"]}]', ["'write_kbps'"]),
    ("invalid JSON", b"{not json", ["invalid JSON"]),
]


@pytest.mark.parametrize(("content", "expected"), [pytest.param(c, e, id=i) for i, c, e in SIZE])
def test_vmrepl_size_refuses_bad_rates_naming_file_row_and_column(
    tmp_path: Path, content: bytes, expected: list[str]
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_bytes(content)
    done = CliRunner().invoke(cli, ["size", str(rates)])
    assert done.exit_code == 2, done.output
    assert str(rates) in done.output
    for text in expected:
        assert text in done.output, text


@pytest.mark.parametrize(
    ("option", "value"),
    [("--history-hours", "0"), ("--history-hours", "nan"), ("--journal-compression", "30")],
)
def test_vmrepl_size_refuses_bad_options(tmp_path: Path, option: str, value: str) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("vm,write_kbps\napp01,5\n")
    done = CliRunner().invoke(cli, ["size", str(rates), option, value])
    assert done.exit_code == 2, done.output


# -- secrets on the vmrepl command line ------------------------------------------------------
SECRETS = [
    "zvm_url=https://admin:hunter2@zvm.example/",
    "notes=see ftp://u:pw@files.example/x",
    "sites=[https://a:b@c/]",
    "cfg={zvm: {password: hunter2}}",
    "cfg={api_key: abc}",
    "zvm_password=hunter2",
    "VMWARE_PASSWORD=hunter2",
    "my_token=abc",
]


@pytest.mark.parametrize("extra", SECRETS)
def test_secrets_on_the_command_line_are_refused_and_never_echoed(extra: str) -> None:
    done = CliRunner().invoke(cli, ["pair", "-o", "json", "-e", extra])
    assert done.exit_code == 2, done.output
    assert "-e" in done.output or "--extra-var" in done.output
    assert "hunter2" not in done.output.replace(extra, "")


def test_a_definitions_file_with_a_url_password_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vpgs.yml"
    path.write_text(json.dumps([{"name": "a", "vms": ["x"], "note": "https://u:pw@h/"}]))
    done = CliRunner().invoke(cli, ["vpg", "--definitions", str(path), "--request-ref", "C1"])
    assert done.exit_code == 2
    assert "vpg_definitions[0].note" in done.output


# -- one verdict per outcome -----------------------------------------------------------------
@pytest.mark.parametrize("error", ["ConfigurationError", "Refused"])
def test_a_module_refusal_is_exit_2_wherever_it_is_caught(error: str) -> None:
    events = [
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "source",
                "task": "Protect the customer's VMs in the default VPG",
                "role": "default_vpg",
                "task_action": "vmrepl.core.vpg",
                "res": {"msg": "rpo_alert_seconds must be at least 1.", "error": error},
            },
        }
    ]
    summary = summarise(events, "failed")
    assert summary.status == "refused"
    assert summary.exit_code == EXIT_CODES["refused"]


def test_a_module_failure_that_is_not_a_refusal_stays_exit_1() -> None:
    events = [
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "source",
                "task": "Protect",
                "task_action": "vmrepl.core.vpg",
                "res": {"msg": "commit failed", "error": "TaskFailed"},
            },
        }
    ]
    assert summarise(events, "failed").exit_code == 1
