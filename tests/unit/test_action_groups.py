"""meta/runtime.yml action groups: a play sets each connection once with
`module_defaults: {group/vmrepl.core.vsphere: ..., group/vmrepl.core.zvm: ...}`, so every module
that takes a connection's options must be in that connection's group, and no other."""

from __future__ import annotations

from pathlib import Path

import yaml

from vmrepl.paths import CHECKOUT as REPO_ROOT

GROUPS = {"vsphere": "vmrepl.core.vsphere", "zvm": "vmrepl.core.zvm"}


def fragments(module: Path) -> set[str]:
    source = module.read_text()
    doc = source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0]
    return set(yaml.safe_load(doc).get("extends_documentation_fragment") or [])


def test_every_connection_module_is_in_its_group() -> None:
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    groups = runtime["action_groups"]
    assert set(groups) >= set(GROUPS)
    modules = sorted((REPO_ROOT / "plugins" / "modules").glob("*.py"))
    assert modules
    for module in modules:
        used = fragments(module)
        for group, fragment in GROUPS.items():
            assert (module.stem in groups[group]) == (fragment in used), (
                f"{module.stem}: documentation fragment {fragment} "
                f"{'used' if fragment in used else 'not used'}, action group {group} "
                f"{'lists' if module.stem in groups[group] else 'does not list'} it"
            )


def test_the_playbooks_set_connections_through_the_groups() -> None:
    for playbook in sorted((REPO_ROOT / "playbooks").glob("*.yml")):
        for play in yaml.safe_load(playbook.read_text()):
            defaults = play.get("module_defaults", {})
            assert defaults, f"{playbook.name}: {play['name']} sets no module_defaults"
            assert set(defaults) <= {f"group/{f}" for f in GROUPS.values()}, playbook.name
