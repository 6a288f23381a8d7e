"""Every module's documentation says what its argument spec does (a local stand-in for
ansible-test's validate-modules, which needs the network here): same options, types,
defaults, choices, required flags, no_log on secrets; EXAMPLES and RETURN parse."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from ansible.module_utils import basic

ROOT = Path(__file__).parents[2]
MODULES = sorted(
    p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"
)
SECRET_WORDS = ("password", "secret", "token")


class Captured(Exception):
    pass


def argument_spec_of(name: str) -> dict[str, Any]:
    module = importlib.import_module(f"ansible_collections.vmrepl.core.plugins.modules.{name}")
    captured: dict[str, Any] = {}

    def capture(self: Any, argument_spec: dict[str, Any], **kwargs: Any) -> None:
        captured.update(argument_spec)
        raise Captured

    with mock.patch.object(basic.AnsibleModule, "__init__", capture), pytest.raises(Captured):
        module.main()
    return captured


def documented_options(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    module = importlib.import_module(f"ansible_collections.vmrepl.core.plugins.modules.{name}")
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment", []):
        # vmrepl.core.NAME (its DOCUMENTATION) or vmrepl.core.NAME.PART (its PART), as Ansible
        short, _, part = fragment.removeprefix("vmrepl.core.").partition(".")
        frag = importlib.import_module(
            f"ansible_collections.vmrepl.core.plugins.doc_fragments.{short}"
        )
        text = getattr(frag.ModuleDocFragment, (part or "documentation").upper())
        options.update(yaml.safe_load(text)["options"])
    return doc, options


def compare(spec: dict[str, Any], docs: dict[str, Any], where: str) -> list[str]:
    problems = []
    for name in sorted(set(spec) | set(docs)):
        if name not in docs:
            problems.append(f"{where}{name}: in the argument spec, not documented")
            continue
        if name not in spec:
            problems.append(f"{where}{name}: documented, not in the argument spec")
            continue
        s, d = spec[name], docs[name]
        if not d.get("description"):
            problems.append(f"{where}{name}: no description")
        for key, default in (
            ("type", "str"),
            ("required", False),
            ("default", None),
            ("choices", None),
            ("elements", None),
        ):
            if s.get(key, default) != d.get(key, default):
                problems.append(
                    f"{where}{name}: {key} is {s.get(key, default)!r} in the spec, "
                    f"{d.get(key, default)!r} in the docs"
                )
        if sorted(s.get("aliases", [])) != sorted(d.get("aliases", [])):
            problems.append(f"{where}{name}: aliases differ")
        if (
            any(w in name for w in SECRET_WORDS)
            and not name.endswith("_property")
            and s.get("type", "str") == "str"
            and not s.get("no_log")
        ):
            problems.append(f"{where}{name}: looks secret but is not no_log")
        if "options" in s or "suboptions" in d:
            problems += compare(s.get("options", {}), d.get("suboptions", {}), f"{where}{name}.")
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec(name: str) -> None:
    doc, options = documented_options(name)
    assert doc["module"] == name
    assert doc.get("short_description")
    assert compare(argument_spec_of(name), options, "") == []


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_return_parse(name: str) -> None:
    module = importlib.import_module(f"ansible_collections.vmrepl.core.plugins.modules.{name}")
    examples = yaml.safe_load(module.EXAMPLES)
    assert isinstance(examples, list) and examples
    for task in examples:
        assert any(key.startswith("vmrepl.core.") for key in task), task
    returned = yaml.safe_load(module.RETURN)
    assert isinstance(returned, dict) and returned
    for key, value in returned.items():
        assert {"description", "returned", "type"} <= set(value), key


def test_the_checker_catches_a_mismatch() -> None:
    spec = {"a": {"type": "int", "default": 1}, "password": {"type": "str"}}
    docs = {"a": {"description": "x", "type": "int", "default": 2}}
    problems = compare(spec, docs, "")
    assert any("a: default" in p for p in problems)
    assert any("password: in the argument spec, not documented" in p for p in problems)
