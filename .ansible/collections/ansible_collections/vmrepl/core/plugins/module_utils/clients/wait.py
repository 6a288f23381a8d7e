# Copyright: vmrepl contributors
# Apache License 2.0
"""The one wait loop of vmrepl: :func:`poll_until`.

Plain Python, no imports beyond the standard library, so that every layer can use it: the
vCenter and ZVM clients wait for their tasks with it, the services wait for a condition they read
(a pairing settling, a VRA install an earlier run started, a VPG's initial sync, recovered VMs
booting), the modules for an API coming up. ``sleep`` and ``clock`` are injectable so that tests
need not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float,
    timeout_error: Callable[[], BaseException] | None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``check`` until it returns something other than None, and return that.

    ``check`` runs at once, then every ``interval`` seconds, and a last time at the deadline
    (``timeout`` seconds after the start; the last sleep is shortened to end there). When it has
    still returned None at the deadline, raises ``timeout_error()``. ``check`` may raise to stop
    the wait early (a failed task, a refusal).
    """
    deadline = clock() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        now = clock()
        if now >= deadline:
            if timeout_error is None:
                raise TimeoutError(f"not done within {timeout:g} s")
            raise timeout_error()
        sleep(max(0.0, min(interval, deadline - now)))
