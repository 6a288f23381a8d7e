"""A fake clock for tests of code that waits: ``clock`` and ``sleep`` to inject, time that
passes only when the code sleeps, and the sleeps it asked for."""

from __future__ import annotations

from collections.abc import Callable


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        #: Called after each sleep (a test's way to change the world as time passes).
        self.on_sleep: Callable[[], None] | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()
