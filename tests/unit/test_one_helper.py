"""One of each: the wait loop (module_utils.clients.wait.poll_until) and the reading of a site's
identifier (module_utils.clients.zvm.site_id), with no hand-written copies elsewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import TaskTimeout
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import site_id
from tests.support.clock import FakeClock

ROOT = Path(__file__).resolve().parents[2]
#: Where the rule holds: the collection and the Python package, but the lab (the simulator and
#: the processes it starts have waits of their own).
SOURCES = [
    p
    for p in [*ROOT.glob("plugins/**/*.py"), *ROOT.glob("src/vmrepl/**/*.py")]
    if "src/vmrepl/lab/" not in p.as_posix()
]


# -- site_id ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("site", "expected"),
    [
        ({"SiteIdentifier": "s-1", "Link": {"identifier": "link-1"}}, "s-1"),  # field first
        ({"Link": {"identifier": "link-1"}}, "link-1"),  # then the link
        ({"SiteIdentifier": None, "Link": {"identifier": "link-1"}}, "link-1"),
        ({"SiteIdentifier": "", "Link": {"identifier": "link-1"}}, "link-1"),
        ({"siteIdentifier": "s-2"}, "s-2"),  # camelCase (the published schema)
        ({"link": {"Identifier": "link-2"}}, "link-2"),
        ({"SiteIdentifier": " s-3 "}, "s-3"),
        ({"SiteIdentifier": 42}, "42"),
    ],
)
def test_site_id_precedence(site: dict[str, Any], expected: str) -> None:
    assert site_id(site) == expected


@pytest.mark.parametrize(
    "site",
    [
        {},
        {"SiteIdentifier": None},
        {"SiteIdentifier": None, "Link": None},
        {"SiteIdentifier": None, "Link": {"identifier": None}},  # a peer still pairing
        {"SiteIdentifier": "None"},
        {"Link": {"identifier": "null"}},
        {"SiteIdentifier": {"nested": 1}, "Link": {"identifier": ["x"]}},
        {"SiteIdentifier": True},
        None,
        "not an object",
    ],
)
def test_site_id_is_empty_never_none(site: Any) -> None:
    assert site_id(site) == ""


def test_site_id_is_read_in_one_place_only() -> None:
    """No other code reads ``SiteIdentifier`` or a site's ``Link`` identifier itself."""
    pattern = re.compile(r"[\"']SiteIdentifier[\"']\)|[\"']Link[\"'].{0,30}identifier")
    copies = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and path.name != "zvm.py":
                copies.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    zvm = (ROOT / "plugins/module_utils/clients/zvm.py").read_text()
    assert zvm.count('"SiteIdentifier")') == 1
    assert copies == []


# -- poll_until ---------------------------------------------------------------------------------


def test_poll_until_checks_at_once_then_every_interval_and_at_the_deadline() -> None:
    clock, seen = FakeClock(), []

    def never() -> None:
        seen.append(clock.now)

    with pytest.raises(TaskTimeout, match="late"):
        poll_until(
            never,
            timeout=25,
            interval=10,
            timeout_error=lambda: TaskTimeout("late"),
            sleep=clock.sleep,
            clock=clock.clock,
        )
    assert seen == [0, 10, 20, 25] and clock.sleeps == [10, 10, 5]


def test_poll_until_returns_the_first_value_that_is_not_none() -> None:
    clock, answers = FakeClock(), iter([None, None, 0, 7])
    found = poll_until(
        lambda: next(answers),
        timeout=60,
        interval=1,
        timeout_error=None,
        sleep=clock.sleep,
        clock=clock.clock,
    )
    assert found == 0 and clock.now == 2  # 0 and False are values, not "keep waiting"


def test_there_is_no_hand_written_wait_loop_left() -> None:
    """No fixed sleeps and no deadline loops outside module_utils/clients/wait.py (backoff between
    retries of one request is not a wait for a condition, and stays in the ZVM client)."""
    sleep = re.compile(r"\btime\.sleep\(|\bsleep\(\s*1(\.0)?\s*\)")
    loop = re.compile(r"while\b.*(monotonic|_clock\(|deadline)")
    found = []
    for path in SOURCES:
        if path.name == "wait.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if sleep.search(line) or loop.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
