# Copyright: vmrepl contributors
# Apache License 2.0
"""The audit log of customer-initiated operations: one JSON line per run (when, who ran it,
operation, VPGs, the customer's request reference, checkpoint, result), appended under an
exclusive lock so that concurrent runs do not interleave their lines."""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Environment variables that carry the AWX / Automation Platform job id, first found wins.
JOB_ID_VARIABLES = ("AWX_JOB_ID", "JOB_ID", "TOWER_JOB_ID")


#: The options of the modules that record a run (documented by ``vmrepl.core.run_record``).
RUN_ARGUMENT_SPEC: dict[str, Any] = {
    "run_check_mode": {"type": "bool", "default": False, "aliases": ["check_mode"]},
    "job_id": {"type": "str"},
}


def actor(job_id: str | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Who runs this: the OS user, and the AWX job id (given, or from the environment)."""
    env = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no LOGNAME (a bare container)
        user = str(os.getuid())
    job = job_id or next((env[name] for name in JOB_ID_VARIABLES if env.get(name)), None)
    return {"user": user, "job_id": job or None}


def utc_now() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def record(
    *,
    operation: str,
    vpgs: Sequence[str],
    request_ref: str,
    result: str,
    checkpoints: Mapping[str, Any] | None = None,
    edition: str | None = None,
    report: str | None = None,
    run_id: str | None = None,
    check_mode: bool = False,
    who: Mapping[str, Any] | None = None,
    when: str | None = None,
) -> dict[str, Any]:
    """The audit record of one run. Pure apart from the defaults of ``who`` and ``when``."""
    who = dict(who or actor())
    return {
        "time": when or utc_now(),
        "user": who.get("user"),
        "job_id": who.get("job_id"),
        "operation": operation,
        "edition": edition,
        "vpgs": list(vpgs),
        "request_ref": request_ref,
        "checkpoint": dict(checkpoints or {}),
        "result": result,
        "check_mode": check_mode,
        "report": report,
        "run_id": run_id,
    }


def append(path: str | os.PathLike[str], entry: Mapping[str, Any]) -> None:
    """Append one line to the log (created 0640 with its folder when absent)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode("utf-8"))
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of the log (for reports and tests)."""
    target = Path(path)
    if not target.exists():
        return []
    return [json.loads(line) for line in target.read_text().splitlines() if line.strip()]


@dataclass
class AuditLine:
    """One line to append, as the module's edge takes it (``_module.ensure``): the change is
    the line (``entry``: none before, the record after), :meth:`apply` appends it."""

    path: str
    entry: dict[str, Any]

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        return {"entry": (None, self.entry)}

    @property
    def facts(self) -> dict[str, Any]:
        return {"entry": self.entry, "path": self.path}

    def summary(self, check_mode: bool) -> str:
        entry = self.entry
        return (
            f"Audit: {entry['operation']} {', '.join(entry['vpgs'])} "
            f"({entry['request_ref'] or 'no request reference'}) by {entry['user']}: "
            f"{entry['result']}"
        )

    def apply(self) -> dict[str, Any]:
        append(self.path, self.entry)
        return {}
