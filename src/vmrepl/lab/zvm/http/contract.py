"""The contract recorder: every request body and every response body that does not fit the
vendored OpenAPI schema is recorded (``GET /lab/contract`` lists them), so that the tests of
any client run against the simulator can assert that the client's requests fit too."""

from __future__ import annotations

import threading
from typing import Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.http.openapi import OpenApiDocument, Operation, Violation

#: at most this many violations are kept (the first ones)
MAX_RECORDED = 1000


class ContractRecorder:
    def __init__(self, document: OpenApiDocument) -> None:
        self.document = document
        self._lock = threading.Lock()
        self._violations: list[dict[str, Any]] = []
        self._requests: set[str] = set()
        self._responses: set[str] = set()

    def _record(
        self,
        direction: str,
        operation: Operation,
        path: str,
        status: int | None,
        violations: list[Violation],
    ) -> None:
        with self._lock:
            (self._requests if direction == "request" else self._responses).add(operation.key)
            for violation in violations:
                if len(self._violations) >= MAX_RECORDED:
                    return
                self._violations.append(
                    {
                        "direction": direction,
                        "operation": operation.key,
                        "path": path,
                        "status": status,
                        "location": violation.location,
                        "message": violation.message,
                        "time": clock.iso(clock.now()),
                    }
                )

    def check_request(self, operation: Operation, path: str, body: Any) -> None:
        self._record(
            "request", operation, path, None, self.document.validate_request(operation, body)
        )

    def check_response(self, operation: Operation, path: str, status: int, body: Any) -> None:
        violations = self.document.validate_response(operation, status, body)
        self._record("response", operation, path, status, violations)

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {
                "violations": list(self._violations),
                "requests_checked": sorted(self._requests),
                "responses_checked": sorted(self._responses),
            }

    def clear(self) -> None:
        with self._lock:
            self._violations.clear()
            self._requests.clear()
            self._responses.clear()
