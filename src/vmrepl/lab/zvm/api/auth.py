"""The token endpoint (Keycloak, ZVM Appliance) and the sessions of a Windows ZVM."""

from __future__ import annotations

import base64
import binascii

from vmrepl.lab.zvm.config import USER_CLIENT_ID
from vmrepl.lab.zvm.errors import BadRequest, Unauthorized
from vmrepl.lab.zvm.http.routing import Request, Response, Router
from vmrepl.lab.zvm.site.auth import SESSION_HEADER, TOKEN_PATH, AuthService


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


def register(router: Router, auth: AuthService) -> None:
    def token_endpoint(request: Request) -> Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "Content-Type must be form encoded")
        form = request.form()
        grant = form.get("grant_type", "")
        client_id = form.get("client_id")
        if grant == "password":
            if client_id != USER_CLIENT_ID:
                return _oauth_error(401, "unauthorized_client", "Invalid client credentials")
            if not auth.user_ok(form.get("username"), form.get("password")):
                return _oauth_error(401, "invalid_grant", "Invalid user credentials")
            return Response.json(auth.issue(auth.ctx.config.username, USER_CLIENT_ID))
        if grant == "client_credentials":
            if not auth.client_ok(client_id, form.get("client_secret")):
                return _oauth_error(
                    401, "unauthorized_client", "Invalid client or Invalid client credentials"
                )
            return Response.json(auth.issue(f"service-account-{client_id}", str(client_id)))
        if grant == "refresh_token":
            old = auth.refresh(form.get("refresh_token", ""))
            if old is None:
                return _oauth_error(400, "invalid_grant", "Invalid refresh token")
            if client_id and client_id != old.client:
                return _oauth_error(
                    400, "invalid_grant", "Token client and authorized client don't match"
                )
            return Response.json(auth.issue(old.user, old.client))
        if not grant:
            return _oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")

    def session_add(request: Request) -> Response:
        header = request.header("Authorization") or ""
        if not header.lower().startswith("basic "):
            raise Unauthorized("Basic authentication is required to create a session.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized("The Basic authorization header is malformed.") from exc
        username, _, password = decoded.partition(":")
        if "\\" in username:  # DOMAIN\user
            username = username.split("\\", 1)[1]
        if not auth.user_ok(username, password):
            raise Unauthorized("The user name or password is incorrect.")
        method = request.fields().integer("AuthenticationMethod", default=0)
        if method not in (0, 1):
            raise BadRequest("AuthenticationMethod must be 0 (Windows) or 1 (vCenter).")
        return Response.empty(headers={SESSION_HEADER: auth.open_session()})

    def session_delete(request: Request) -> Response:
        auth.close_session((request.header(SESSION_HEADER) or "").strip())
        return Response.empty()

    router.add("POST", TOKEN_PATH, token_endpoint, kind="open")
    router.add("POST", "/v1/session/add", session_add, kind="open")
    router.add("DELETE", "/v1/session", session_delete, kind="open")
