"""Start and stop the lab's server processes: each prints one JSON line when it is ready."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


class LabError(RuntimeError):
    """The lab could not be started or stopped; the message says why."""


@dataclass
class Started:
    pid: int
    ready: dict[str, Any]


_GOVC_URL = re.compile(r"GOVC_URL=(\S+)")


def _parse_ready(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if line.startswith("{"):
        try:
            data = json.loads(line)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    # govmomi's own vcsim prints "export GOVC_URL=https://user:pass@host:port/sdk GOVC_SIM_PID=N"
    match = _GOVC_URL.search(line)
    if match:
        url = re.sub(r"//[^@/]*@", "//", match.group(1))
        return {"url": url}
    return None


def start(
    argv: Sequence[str],
    log_file: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Started:
    """Start ``argv`` detached (its own session, so it outlives this process), wait for its
    ready line on stdout, and return its pid and what it said. stderr goes to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with log_file.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - argv is built by the lab, not from user input
            list(argv),
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=full_env,
            start_new_session=True,
        )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    ready = _wait_ready(proc, proc.stdout, deadline)
    if ready is None:
        stop(proc.pid)
        tail = log_file.read_text(errors="replace")[-2000:]
        raise LabError(f"{argv[0]} did not become ready within {timeout:.0f} s. Its log:\n{tail}")
    # The ready line is read; let the rest of stdout go to nowhere without blocking the child.
    proc.stdout.close()
    return Started(proc.pid, ready)


def _wait_ready(
    proc: subprocess.Popen[bytes], stream: IO[bytes], deadline: float
) -> dict[str, Any] | None:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    buffer = b""
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None and not selector.select(0):
                return None
            for _key, _ in selector.select(timeout=0.1):
                chunk = os.read(stream.fileno(), 4096)
                if not chunk:
                    return None
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    ready = _parse_ready(line.decode(errors="replace"))
                    if ready is not None:
                        return ready
    finally:
        selector.close()
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie of ours still answers kill(0); reap it if it is our child.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


def stop(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``: the process and its session."""
    if not alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
