"""The token endpoint (Keycloak) and the Windows ZVM sessions."""

from __future__ import annotations

from vmrepl.lab.zvm.http.routing import Router
from vmrepl.lab.zvm.site.auth import TOKEN_PATH, AuthService


def register(router: Router, auth: AuthService) -> None:
    router.add("POST", TOKEN_PATH, auth.token_endpoint, kind="open")
    router.add("POST", "/v1/session/add", auth.session_add, kind="open")
    router.add("DELETE", "/v1/session", auth.session_delete, kind="open")
