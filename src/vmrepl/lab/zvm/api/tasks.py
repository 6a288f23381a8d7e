"""``/v1/tasks``: the tasks of this site, filtered by type, state and dates."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.enums import TASK_STATES
from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.site.events import date_window, in_window
from vmrepl.lab.zvm.site.tasks import TASK_TYPES, TaskService


def register(router: Router, ctx: SiteContext, tasks: TaskService) -> None:
    def list_tasks(request: Request) -> Any:
        with ctx.store.lock:
            records = sorted(ctx.store.tasks.values(), key=lambda r: r.started)
        wanted_type = request.query.get("type")
        wanted_state = request.query.get("status")
        started = date_window(request.query, "startedafterdate", "startedbeforedate")
        completed = date_window(request.query, "completedafterdate", "completedbeforedate")
        judge_completed = completed != (float("-inf"), float("inf"))
        result = []
        for record in records:
            if not in_window(record.started, started):
                continue
            if judge_completed and not in_window(record.completed, completed):
                continue
            if wanted_type and record.type.lower() != wanted_type.lower():
                continue
            if wanted_state and wanted_state.lower() not in (
                str(record.state),
                TASK_STATES[record.state].lower(),
            ):
                continue
            result.append(tasks.to_json(record))
        return result

    router.add("GET", "/v1/tasks", list_tasks)
    router.add("GET", "/v1/tasks/types", lambda r: list(TASK_TYPES))
    router.add(
        "GET",
        "/v1/tasks/{taskIdentifier}",
        lambda r: tasks.to_json(tasks.get(r.param("taskIdentifier"))),
    )
