"""The errors the simulator answers with: ZVM-style ``{"Message": ...}`` bodies."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """An HTTP error answer. ``body`` overrides the default ``{"Message": message}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: object | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.body = body if body is not None else {"Message": message}


class BadRequest(ApiError):
    """400: the request does not fit (validation, state)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class NotFound(ApiError):
    """404: no such resource."""

    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class Unauthorized(ApiError):
    """401: no valid token or session (the message ASP.NET Web API answers)."""

    def __init__(self, message: str = "Authorization has been denied for this request.") -> None:
        super().__init__(401, message, headers={"WWW-Authenticate": 'Bearer realm="zerto"'})


class Unavailable(ApiError):
    """503: injected outage, or the peer cannot be reached for a request that needs it."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message, headers={"Retry-After": "1"})


class OperationFailed(Exception):
    """Raised inside a task: the task ends Failed with this reason as its CompleteReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
