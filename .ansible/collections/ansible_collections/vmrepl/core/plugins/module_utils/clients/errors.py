# Copyright: vmrepl contributors
# Apache License 2.0
"""Typed errors raised by the vmrepl clients.

Every error carries a message that says what went wrong and, where it can, what to do. The
modules turn them into ``fail_json`` at one boundary (``module_utils._module``); the CLI and the
lab print them as they are.
"""

from __future__ import annotations


class VmreplError(Exception):
    """Base of every error the vmrepl clients raise."""

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: Result fields a module returns along with the failure (what did get done).
        self.details: dict = dict(details or {})

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigurationError(VmreplError):
    """Input that cannot work: caught before anything is changed."""


class ConnectionFailed(VmreplError):
    """The endpoint could not be reached (DNS, TCP, TLS)."""


class AuthenticationFailed(VmreplError):
    """The endpoint refused the credentials."""


class NotFound(VmreplError):
    """A named object does not exist."""


class TaskFailed(VmreplError):
    """A vCenter or ZVM task ended in error."""


class TaskTimeout(VmreplError):
    """A task did not finish in the time allowed."""


class Refused(VmreplError):
    """An operation was refused before anything changed: not applicable, unconfirmed, or
    unsafe in the state found (the message says why and what would allow it)."""


class OperationFailed(VmreplError):
    """An operation was carried out but did not succeed (for example a recovered VM failed its
    validation); ``details`` say what was done."""


class ApiError(VmreplError):
    """The ZVM answered with an error status."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
