"""Live progress of a playbook run from ansible-runner's events: a table per site (host) on a
terminal, plain log lines without one (CI), nothing when asked to be quiet."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from vmrepl.results import RESULT_EVENTS, message_of


class Progress(Protocol):
    def start(self) -> None: ...

    def event(self, event: dict[str, Any]) -> None: ...

    def note(self, text: str) -> None: ...

    def stop(self) -> None: ...


def _title(data: dict[str, Any]) -> str:
    role = data.get("role")
    return f"{role} : {data.get('task', '')}" if role else str(data.get("task", ""))


def _status(kind: str, data: dict[str, Any]) -> str:
    status = RESULT_EVENTS[kind]
    res = data.get("res") or {}
    if status == "ok" and res.get("changed"):
        return "changed"
    if status == "failed" and data.get("ignore_errors"):
        return "ignored"
    return status


class QuietProgress:
    def start(self) -> None:
        pass

    def event(self, event: dict[str, Any]) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def stop(self) -> None:
        pass


class LogProgress:
    """One line per play, per host result that matters, and per note: for logs of CI jobs.
    Tasks that were skipped are left out (the summary counts them)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.stream.write(f"[{elapsed:7.1f}s] {text}\n")
        self.stream.flush()

    def start(self) -> None:
        pass

    def event(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self._line(f"play: {data.get('play', '')}")
        elif kind in RESULT_EVENTS:
            status = _status(kind, data)
            action = str(data.get("task_action", ""))
            if status == "skipped" or (
                status == "ok" and action.endswith("validate_argument_spec")
            ):
                return
            line = f"{data.get('host', ''):<10} {status:<11} {_title(data)}"
            res = data.get("res") or {}
            msg = message_of(res) if status != "ok" or action.endswith("debug") else ""
            if msg:
                line += f" - {msg}"
            self._line(line)

    def note(self, text: str) -> None:
        self._line(text)

    def stop(self) -> None:
        pass


@dataclass
class _HostState:
    running: str = ""
    since: float = 0.0
    last: str = ""
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("ok", "changed", "failed", "skipped"), 0)
    )


class LiveProgress:
    """A table refreshed in place: per host, the task running (and for how long), the counts
    and the last task that finished."""

    def __init__(self, console: Any, title: str) -> None:
        from rich.live import Live

        self.console = console
        self.title = title
        self.play = ""
        self.hosts: dict[str, _HostState] = {}
        self.notes: list[str] = []
        self.started = time.monotonic()
        self.live = Live(
            get_renderable=self._render,
            console=console,
            refresh_per_second=4,
            transient=True,
        )

    def _render(self) -> Any:
        from rich.table import Table

        elapsed = time.monotonic() - self.started
        table = Table(
            title=f"{self.title} - {self.play} ({elapsed:.0f} s)",
            title_justify="left",
            expand=False,
        )
        table.add_column("site")
        table.add_column("running", overflow="ellipsis", max_width=48, no_wrap=True)
        for name in ("ok", "changed", "failed", "skipped"):
            table.add_column(name, justify="right")
        table.add_column("last finished", overflow="ellipsis", max_width=48, no_wrap=True)
        now = time.monotonic()
        for host, state in sorted(self.hosts.items()):
            running = f"{state.running} ({now - state.since:.0f} s)" if state.running else ""
            failed = state.counts["failed"]
            table.add_row(
                host,
                running,
                str(state.counts["ok"]),
                f"[yellow]{state.counts['changed']}[/]" if state.counts["changed"] else "0",
                f"[red]{failed}[/]" if failed else "0",
                str(state.counts["skipped"]),
                state.last,
            )
        if self.notes:
            table.caption = self.notes[-1]
        return table

    def start(self) -> None:
        self.live.start()

    def event(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = str(data.get("host", ""))
        if kind == "playbook_on_play_start":
            self.play = str(data.get("play", ""))
        elif kind == "runner_on_start" and host:
            state = self.hosts.setdefault(host, _HostState())
            state.running, state.since = _title(data), time.monotonic()
        elif kind in RESULT_EVENTS and host:
            state = self.hosts.setdefault(host, _HostState())
            status = _status(kind, data)
            key = {"unreachable": "failed", "ignored": "ok"}.get(status, status)
            state.counts[key] += 1
            if status == "changed":
                state.counts["ok"] += 1
            state.running = ""
            if status != "skipped":
                state.last = f"{status}: {_title(data)}"
                if status in ("failed", "unreachable"):
                    msg = message_of(data.get("res") or {})
                    self.console.print(f"[red]{host}: {_title(data)} failed[/]: {msg}")

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.console.print(text)

    def stop(self) -> None:
        self.live.stop()
