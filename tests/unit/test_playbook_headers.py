"""The ansible-runner commands the playbooks' header comments show run as written: the shell
splits the command, ansible-runner splits its --cmdline with shlex (as
ansible_runner.config.runner does), ansible-playbook reads each -e as key=value, YAML or
@file (as ansible.utils.vars.load_extra_vars does), and every variable is one a role documents
in meta/argument_specs.yml."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from ansible.parsing.splitter import parse_kv

ROOT = Path(__file__).parents[2]
PLAYBOOKS = [
    "failover_test",
    "failover",
    "move",
    "failback",
    "local_recovery",
    "vpg",
    "health",
    "upgrade",
    "host_maintenance",
]


def header_commands(path: Path) -> list[str]:
    """The ansible-runner commands of the comment block at the top of ``path``, continuation
    lines joined as a shell joins them."""
    comments = []
    for line in path.read_text().splitlines():
        if line == "---":
            continue
        if not line.startswith("#"):
            break
        comments.append(line[1:].strip())
    text = "\n".join(comments).replace("\\\n", "")
    return [line for line in text.splitlines() if line.startswith("ansible-runner ")]


def role_variables() -> set[str]:
    names: set[str] = set()
    for spec in ROOT.glob("roles/*/meta/argument_specs.yml"):
        try:
            doc = yaml.safe_load(spec.read_text())
        except yaml.YAMLError:  # that role's own lint reports it; its variables are not shown
            continue
        for entry in (doc.get("argument_specs") or {}).values():
            names |= set((entry or {}).get("options") or {})
    return names


def extra_vars(cmdline: str) -> tuple[dict[str, object], list[str]]:
    """The variables of a --cmdline value, and the @files it names."""
    args = shlex.split(cmdline)  # ansible-runner: self.command += shlex.split(cmdline_args)
    variables: dict[str, object] = {}
    files: list[str] = []
    assert len(args) % 2 == 0, args
    for flag, value in zip(args[::2], args[1::2], strict=True):
        assert flag in ("-e", "--extra-vars"), f"{flag} {value}"
        if value.startswith("@"):
            files.append(value[1:])
            continue
        data = yaml.safe_load(value) if value[0] in "[{" else parse_kv(value)
        assert isinstance(data, dict), f"-e {value} is not a mapping"
        variables.update(data)
    return variables, files


def test_the_headers_show_commands() -> None:
    for name in PLAYBOOKS:
        assert header_commands(ROOT / "playbooks" / f"{name}.yml"), name


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_each_shown_command_runs_as_written(name: str) -> None:
    known = role_variables()
    for command in header_commands(ROOT / "playbooks" / f"{name}.yml"):
        words = shlex.split(command)  # what the shell gives ansible-runner
        assert words[:3] == ["ansible-runner", "run", "."], command
        playbook = words[words.index("-p") + 1]
        entry = ROOT / "project" / playbook if (ROOT / "project").is_dir() else ROOT / playbook
        assert entry.is_file(), f"{command}: {playbook} is not an entry point"
        assert playbook == f"{name}.yml"
        if "--cmdline" not in words:
            continue
        variables, files = extra_vars(words[words.index("--cmdline") + 1])
        assert set(variables) <= known, set(variables) - known
        assert variables or files
        if "recovery_vpgs" in variables:
            assert isinstance(variables["recovery_vpgs"], list), command


def test_the_broken_form_is_caught() -> None:
    with pytest.raises(AssertionError):
        extra_vars('-e recovery_request_ref=x -e {"recovery_vpgs": ["a"]}')
