"""Requests, responses and the router: method + path template → handler.

Templates are matched segment by segment on the raw (still percent-encoded) path; parameters
are decoded after the match. The simulator's identifiers hold no ``/`` (see
``inventory.object_identifier``), but a percent-encoded one (``%2F``) still stays in one segment.
Literal segments win over parameters and compare
case-insensitively (``/v1/vpgs/{id}/moveRollback`` and ``.../MoveRollback`` are one route).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from vmrepl.lab.zvm.errors import ApiError, BadRequest
from vmrepl.lab.zvm.http.binding import Fields


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    #: who is calling: the user of the token or session (set by authentication)
    principal: str | None = None
    #: the simulator's port that received it: "api" or "pairing"
    listener: str = "api"
    _parsed: Any = field(default=None, repr=False)
    _parsed_done: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, method: str, target: str, headers: Any, body: bytes) -> Request:
        """From the request line, the headers (any mapping-like object) and the body."""
        path, _, query = target.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        return cls(
            method=method.upper(),
            path=path or "/",
            query={k.lower(): v for k, v in pairs},
            headers={str(k).lower(): str(v) for k, v in headers.items()},
            body=body,
        )

    def header(self, name: str) -> str | None:
        """A request header, by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The JSON body (None when there is none); 400 when it is not JSON."""
        if not self._parsed_done:
            text = self.body.decode("utf-8", errors="replace").strip()
            try:
                self._parsed = json.loads(text) if text else None
            except ValueError as exc:
                raise BadRequest(f"The request body is not valid JSON: {exc}.") from exc
            self._parsed_done = True
        return self._parsed

    def fields(self) -> Fields:
        """The JSON object body, read case-insensitively (empty when there is no body)."""
        return Fields(self.json())

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body."""
        text = self.body.decode("utf-8", errors="replace")
        return dict(parse_qsl(text, keep_blank_values=True))

    def param(self, name: str) -> str:
        return self.params[name]


@dataclass
class Response:
    status: int = 200
    body: Any = None
    has_body: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status=status, body=body, has_body=True, headers=dict(headers or {}))

    @classmethod
    def empty(cls, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status=status, body=None, has_body=False, headers=dict(headers or {}))

    def encoded(self) -> bytes:
        if not self.has_body:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


Handler = Callable[[Request], Any]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    #: "api" (needs a token), "open" (no token: token endpoint, session login),
    #: "peer" (simulator-to-simulator), "admin" (the lab's control endpoints)
    kind: str = "api"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))

    @property
    def specificity(self) -> tuple[int, ...]:
        return tuple(0 if s.startswith("{") else 1 for s in self.segments)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        segments = self.segments
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for want, got in zip(segments, parts, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not got:
                    return None
                params[want[1:-1]] = unquote(got)
            elif want.lower() != got.lower():
                return None
        return params


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, kind: str = "api") -> None:
        self.routes.append(Route(method.upper(), template, handler, kind))
        self.routes.sort(key=lambda r: r.specificity, reverse=True)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and decoded parameters; 404 for an unknown path, 405 for a known path
        with another method."""
        parts = path.strip("/").split("/")
        allowed: set[str] = set()
        for route in self.routes:
            params = route.match(parts)
            if params is None:
                continue
            if route.method == method.upper():
                return route, params
            allowed.add(route.method)
        if allowed:
            raise method_not_allowed(method, sorted(allowed))
        raise not_found(path)


def not_found(path: str) -> ApiError:
    return ApiError(404, f"No HTTP resource was found that matches the request URI '{path}'.")


def method_not_allowed(method: str, allowed: list[str]) -> ApiError:
    return ApiError(
        405,
        f"The requested resource does not support http method '{method.upper()}'.",
        headers={"Allow": ", ".join(allowed)},
    )
