"""Every module is a declaration (documentation and argument spec) plus one call into the
services: at most about 40 lines of logic. The logic is what is left of a module's code once
the DOCUMENTATION, EXAMPLES and RETURN strings, the module docstring, the imports and the
argument spec are taken out: the keyword arguments of ``AnsibleModule(...)`` (argument spec,
required_if, mutually_exclusive, ...) and the module-level dicts that spec is built from.
Blank lines and comments do not count."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))
MOST = 40
DOCS = {"DOCUMENTATION", "EXAMPLES", "RETURN"}
SKIP = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def logic_lines(source: str) -> list[int]:
    """The numbers of the lines of ``source`` that hold logic."""
    tree = ast.parse(source)
    declared: set[int] = set()

    def leave_out(node: ast.AST) -> None:
        declared.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))  # type: ignore[attr-defined]

    spec_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and "AnsibleModule" in _names(node.func):
            for keyword in node.keywords:
                leave_out(keyword.value)
                spec_names |= _names(keyword.value)
    for index, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            leave_out(stmt)
        elif index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            leave_out(stmt)  # the module docstring
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if names & DOCS or (
                names & spec_names and isinstance(stmt.value, ast.Dict | ast.DictComp)
            ):
                leave_out(stmt)
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (*SKIP, tokenize.ENDMARKER):
            code.update(range(token.start[0], token.end[0] + 1))
    return sorted(code - declared)


def test_the_count_leaves_out_documentation_imports_and_the_argument_spec() -> None:
    source = '''#!/usr/bin/python
"""A module."""
from __future__ import annotations

DOCUMENTATION = r"""
module: x
"""
from ansible.module_utils.basic import AnsibleModule

OPTIONS = {
    "a": {"type": "str"},
}


def main():
    # a comment
    module = AnsibleModule(
        argument_spec={**OPTIONS, "b": {"type": "int"}},
        supports_check_mode=True,
    )

    module.exit_json(changed=False)
'''
    lines = source.splitlines()
    assert [lines[n - 1].strip() for n in logic_lines(source)] == [
        "def main():",
        "module = AnsibleModule(",
        ")",
        "module.exit_json(changed=False)",
    ]


def test_the_count_sees_logic_hidden_in_a_dict_that_is_not_the_spec() -> None:
    source = "TABLE = {\n    'a': 1,\n}\n\n\ndef main():\n    return TABLE\n"
    assert logic_lines(source) == [1, 2, 3, 6, 7]


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_a_module_is_its_spec_and_one_call(path: Path) -> None:
    count = len(logic_lines(path.read_text()))
    assert count <= MOST, (
        f"{path.name} has {count} lines of logic (at most {MOST}): move the logic into a "
        "service in plugins/module_utils (a plan for _module.ensure, or one call for run)."
    )
