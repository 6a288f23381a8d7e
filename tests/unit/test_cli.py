"""The vmrepl command without a lab: help, exit codes, input checks, lazy imports, size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from vmrepl.cli import cli
from vmrepl.cli.options import parse_extra_var

COMMANDS = [
    "deploy",
    "pair",
    "vpg",
    "test-failover",
    "recover",
    "failover",
    "move",
    "failback",
    "health",
    "backup-readiness",
    "upgrade",
    "host-maintenance",
    "diagnose",
    "diagnostics",
    "exporter",
    "size",
    "lab",
]


def test_help_lists_the_commands_and_the_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = [
        line.split()[0]
        for line in result.output.split("Commands:")[1].split("Exit codes:")[0].splitlines()
        if line.strip()
    ]
    assert listed == COMMANDS
    for line in ("0    success", "1    failed", "2    refused", "130  interrupted"):
        assert line in result.output


def test_help_imports_neither_rich_nor_ansible() -> None:
    code = (
        "import sys\n"
        "from vmrepl.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rich', 'ansible', 'ansible_runner', 'yaml', 'pyVmomi', 'requests')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_extra_vars_are_yaml_values() -> None:
    assert parse_extra_var("preflight_min_free_percent=20") == ("preflight_min_free_percent", 20)
    assert parse_extra_var("default_vpg_vms=[a, b]") == ("default_vpg_vms", ["a", "b"])
    assert parse_extra_var("pairing_host=zvm.example") == ("pairing_host", "zvm.example")
    assert parse_extra_var("note=") == ("note", "")


@pytest.mark.parametrize(
    "text",
    ["vmrepl_zvm_password=x", "vault_vcenter_password=x", "client_secret=x", "api_token=x"],
)
def test_secret_looking_variables_are_refused(text: str) -> None:
    with pytest.raises(click.BadParameter, match="looks like a secret"):
        parse_extra_var(text)


@pytest.mark.parametrize("text", ["@vars.yml", "novalue", "1bad=x"])
def test_malformed_extra_vars_are_refused(text: str) -> None:
    with pytest.raises(click.BadParameter, match="key=value"):
        parse_extra_var(text)


def test_a_secret_on_the_command_line_exits_2_before_anything_runs() -> None:
    result = CliRunner().invoke(cli, ["deploy", "-e", "vmrepl_zvm_password=hunter2"])
    assert result.exit_code == 2
    assert "looks like a secret" in result.output


def test_a_vault_prompt_without_a_terminal_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["pair", "--ask-vault-password", "--artifact-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "needs a terminal" in result.output


def test_a_missing_inventory_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["deploy", "-i", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_size_prints_journals_and_wan(tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("vm,write_kbps\napp01,1000\ndb01,500\n")  # 8 + 4 Mb/s (SI)
    text = CliRunner().invoke(cli, ["size", str(rates)])
    assert text.exit_code == 0, text.output
    assert "app01" in text.output and "WAN: 12.00 Mb/s" in text.output
    result = CliRunner().invoke(cli, ["size", str(rates), "-o", "json", "--history-hours", "24"])
    doc = json.loads(result.output)
    assert doc["wan_mbps"] == 12.0 and doc["parameters"]["history_hours"] == 24
    assert [vm["name"] for vm in doc["vms"]] == ["app01", "db01"]
    assert doc["vms"][0]["journal_gb"] == pytest.approx(1000 * 24 * 3600 / 1e6)
    assert doc["target"] is None


def test_size_refuses_bad_rates(tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("vm,write_kbps\napp01,lots\n")
    result = CliRunner().invoke(cli, ["size", str(rates)])
    assert result.exit_code == 2
    assert "not a number" in result.output


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What a command would run: the playbook and the variables (nothing runs)."""
    seen: dict[str, Any] = {}

    def fake(command: str, playbook: str, run: Any, extravars: Any = None, **_: Any) -> None:
        seen.update(command=command, playbook=playbook, extravars=extravars or {}, run=run)

    monkeypatch.setattr("vmrepl.cli.execute.run_command", fake)
    return seen


@pytest.mark.parametrize(
    ("args", "playbook", "variables"),
    [
        (["deploy", "--edition", "local"], "deploy_local.yml", {}),
        (["pair", "--port", "9081", "--timeout", "60"], "pair_sites.yml",
         {"pairing_port": 9081, "pairing_timeout": 60}),
        (["test-failover", "--vpg", "a", "--vpg", "b", "--request-ref", "CHG1",
          "--test-network", "bubble"], "failover_test.yml",
         {"recovery_vpgs": ["a", "b"], "recovery_request_ref": "CHG1",
          "recovery_test_network": "bubble"}),
        (["failover", "--vpg", "a", "--request-ref", "INC1", "--yes", "--commit-policy",
          "rollback", "--shutdown-policy", "force_shutdown", "--no-reverse-protection",
          "--force", "--point-in-time", "2024-05-01T10:00:00Z"], "failover.yml",
         {"recovery_vpgs": ["a"], "recovery_request_ref": "INC1", "recovery_confirm": True,
          "recovery_commit_policy": "rollback", "recovery_shutdown_policy": "force_shutdown",
          "recovery_reverse_protection": False, "recovery_force": True,
          "recovery_point_in_time": "2024-05-01T10:00:00Z"}),
        (["recover", "--vpg", "a", "--request-ref", "R", "--mode", "new_vms"],
         "local_recovery.yml",
         {"recovery_vpgs": ["a"], "recovery_request_ref": "R", "recovery_local_mode": "new_vms"}),
        (["move", "--vpg", "a", "--request-ref", "R"], "move.yml",
         {"recovery_vpgs": ["a"], "recovery_request_ref": "R"}),
        (["failback", "--request-ref", "R", "--checkpoint-tag", "before-move"], "failback.yml",
         {"recovery_request_ref": "R", "recovery_checkpoint_tag": "before-move"}),
    ],
)  # fmt: skip
def test_options_map_to_the_documented_variables(
    captured: dict[str, Any], args: list[str], playbook: str, variables: dict[str, Any]
) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert captured["playbook"] == playbook
    assert captured["extravars"] == variables


def test_the_request_reference_comes_from_the_environment(captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli, ["move"], env={"VMREPL_REQUEST_REF": "CHG9"})
    assert result.exit_code == 0, result.output
    assert captured["extravars"] == {"recovery_request_ref": "CHG9"}


@pytest.mark.parametrize(("answer", "confirmed"), [("y\n", True), ("n\n", False)])
def test_a_failover_on_a_terminal_asks_for_the_confirmation(
    captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch, answer: str, confirmed: bool
) -> None:
    monkeypatch.setattr("vmrepl.cli.commands._interactive", lambda: True)
    result = CliRunner().invoke(
        cli, ["failover", "--vpg", "erp", "--request-ref", "INC1"], input=answer
    )
    assert "Unplanned failover of VPGs to the target site: erp (request INC1)" in result.output
    assert captured["extravars"].get("recovery_confirm", False) is confirmed


def test_vpg_definitions_come_from_a_file(captured: dict[str, Any], tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps([{"name": "100001-1-web", "vms": ["web01"]}]))
    result = CliRunner().invoke(cli, ["vpg", "--request-ref", "C1", "--definitions", str(request)])
    assert result.exit_code == 0, result.output
    assert captured["playbook"] == "vpg.yml"
    assert captured["extravars"] == {
        "vpg_request_ref": "C1",
        "vpg_definitions": [{"name": "100001-1-web", "vms": ["web01"]}],
    }
    request.write_text("name: not-a-list\n")
    bad = CliRunner().invoke(cli, ["vpg", "--definitions", str(request)])
    assert bad.exit_code == 2 and "list of VPGs" in bad.output
