"""What the vmrepl command shows comes from what was judged elsewhere: the health (as
module_utils/health.py judged it), the recovery result (what the playbook reported with
set_stats); and a vaulted inventory without a vault secret is refused before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from ansible_collections.vmrepl.core.plugins.module_utils.health import site_health
from vmrepl.cli import health as health_view
from vmrepl.cli import recovery_view
from vmrepl.cli.execute import vault_refusal, vaulted_file
from vmrepl.cli.options import RunOptions
from vmrepl.cli.render import print_summary
from vmrepl.results import summarise


def stats(**vmrepl: Any) -> dict[str, Any]:
    return {"event": "playbook_on_stats", "event_data": {"artifact_data": {"vmrepl": vmrepl}}}


VPG = {"VpgName": "v1", "Status": 2, "StatusDescription": "NotMeetingSla", "ActualRPO": 900}


def test_health_is_rendered_from_what_the_evaluation_returns() -> None:
    """`vmrepl health` computes nothing itself: module_utils/health.py judges, it prints."""
    health = {"source": site_health({"SiteName": "zvm-a"}, [], [], [VPG], [], name="source")}
    doc = health_view.judge({"health": {}}, health)
    assert doc["health"] == health and (doc["status"], doc["exit_code"]) == ("CRITICAL", 2)
    text = health_view.render(doc)
    assert text.startswith("VMREPL CRITICAL - source: not paired with one peer site")
    assert "source: VPGs not meeting their SLA: v1" in text and " | " not in text
    assert "source: CRITICAL ZVM zvm-a" in text.splitlines()[1]


def test_the_recovery_result_comes_from_the_stats() -> None:
    recovery = {
        "result": "refused",
        "reason": "give the request reference",
        "files": {"json": "/r/x.json"},
        "vpgs": [{"vpg": "v1", "status": "skipped"}],
    }
    reported = stats(verdict="refused", reason={"source": recovery["reason"]}, recovery=recovery)
    failed = {
        "event": "runner_on_failed",
        "event_data": {"host": "source", "task": "any name", "res": {"msg": "whatever"}},
    }
    summary = summarise([failed, reported], "failed")
    assert summary.status == "refused"
    assert "give the request reference" in summary.reason
    doc = {"command": "test-failover", **recovery_view.extract(summary)}
    assert doc["recovery"] == recovery
    assert recovery_view.extract(summarise([], "failed")) == {"recovery": None}
    console = Console(record=True, width=200)
    recovery_view.render(console, doc)
    assert "report (json): /r/x.json" in console.export_text()
    print_summary(console, summary, {"command": "c", "playbook": "p", "changes": []})
    assert "REFUSED source: give the request reference" in console.export_text()


def test_a_vaulted_inventory_without_a_vault_secret_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANSIBLE_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_IDENTITY_LIST"):
        monkeypatch.delenv(name, raising=False)
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text("all: {hosts: {source: {}}}\n")
    assert (
        vaulted_file(str(inventory)) is None
        and vault_refusal(str(inventory), RunOptions(), None) == ""
    )
    secret = inventory / "host_vars" / "source.yml"
    secret.write_text("vmrepl_zvm_username: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3131\n")
    assert vaulted_file(str(inventory)) == secret
    assert vaulted_file(str(inventory / "hosts.yml")) == secret  # host_vars beside the file
    reason = vault_refusal(str(inventory), RunOptions(), None)
    assert str(secret) in reason and "vault password" in reason
    assert vault_refusal(str(inventory), RunOptions(), "pw") == ""
    assert vault_refusal(str(inventory), RunOptions(vault_password_file="/f"), None) == ""
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", "/f")
    assert vault_refusal(str(inventory), RunOptions(), None) == ""
