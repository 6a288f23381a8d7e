"""Authentication, both kinds the ZVM has had.

- ZVM Appliance (10.x): Keycloak's token endpoint
  ``POST /auth/realms/zerto/protocol/openid-connect/token`` (form encoded; ``password`` grant
  with ``client_id=zerto-client``, ``client_credentials`` grant, ``refresh_token`` grant).
  Access tokens are JWT-shaped (HS256, with ``exp``) and expire after the configured lifetime;
  they are sent as ``Authorization: Bearer <token>``.
- Windows ZVM (9.x and older): ``POST /v1/session/add`` with HTTP Basic auth and
  ``{"AuthenticationMethod": 1}``; the session id comes back in the ``x-zerto-session`` header
  and is sent back in it; sessions end after an idle time or ``DELETE /v1/session``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.errors import Unauthorized

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext

TOKEN_PATH = "/auth/realms/zerto/protocol/openid-connect/token"  # noqa: S105 - a URL path
SESSION_HEADER = "x-zerto-session"


@dataclass
class Grant:
    user: str
    client: str
    expires: float


@dataclass
class Session:
    user: str
    last_used: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class AuthService:
    def __init__(self, ctx: SiteContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._sessions: dict[str, Session] = {}

    # -- checks -----------------------------------------------------------------------------
    def user_ok(self, username: str | None, password: str | None) -> bool:
        config = self.ctx.config
        return (
            bool(username)
            and hmac.compare_digest((username or "").lower(), config.username.lower())
            and hmac.compare_digest(password or "", self.ctx.admin_password)
        )

    def client_ok(self, client_id: str | None, secret: str | None) -> bool:
        config = self.ctx.config
        expected = config.client_secret or self.ctx.admin_password
        return client_id == config.client_id and hmac.compare_digest(secret or "", expected)

    def authenticate(self, authorization: str | None, session_id: str | None) -> str:
        """The user behind a bearer token (the ``Authorization`` header) or a session (the
        ``x-zerto-session`` header); 401 otherwise."""
        now = clock.now()
        header = authorization or ""
        with self._lock:
            if header.lower().startswith("bearer "):
                grant = self._access.get(header[7:].strip())
                if grant is not None and grant.expires > now:
                    return grant.user
            if session_id:
                session = self._sessions.get(session_id.strip())
                idle = self.ctx.config.session_idle_seconds
                if session is not None and now - session.last_used < idle:
                    session.last_used = now
                    return session.user
        raise Unauthorized()

    def expire_all(self) -> None:
        """Every token, refresh token and session stops working now."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()
            self._sessions.clear()

    # -- tokens -----------------------------------------------------------------------------
    def issue(self, user: str, client: str) -> dict[str, Any]:
        now = clock.now()
        lifetime = int(self.ctx.config.token_lifetime)
        refresh_lifetime = lifetime * 2
        session_state = str(uuid.uuid4())
        claims = {
            "exp": int(now + lifetime),
            "iat": int(now),
            "jti": str(uuid.uuid4()),
            "iss": f"{self.ctx.url}/auth/realms/zerto",
            "sub": user,
            "typ": "Bearer",
            "azp": client,
            "session_state": session_state,
            "preferred_username": user,
        }
        access = self._jwt(claims)
        refresh = self._jwt({**claims, "typ": "Refresh", "exp": int(now + refresh_lifetime)})
        with self._lock:
            self._access[access] = Grant(user, client, now + lifetime)
            self._refresh[refresh] = Grant(user, client, now + refresh_lifetime)
        return {
            "access_token": access,
            "expires_in": lifetime,
            "refresh_expires_in": refresh_lifetime,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": session_state,
            "scope": "profile email",
        }

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def refresh(self, token: str) -> Grant | None:
        """The grant of a refresh token, used up (None: unknown, used or expired)."""
        with self._lock:
            old = self._refresh.pop(token, None)
        if old is None or old.expires <= clock.now():
            return None
        return old

    # -- Windows ZVM sessions ---------------------------------------------------------------
    def open_session(self) -> str:
        """A new session of the admin user (whose credentials the caller checked)."""
        session_id = str(uuid.uuid4())
        with self._lock:
            self._sessions[session_id] = Session(self.ctx.config.username, clock.now())
        return session_id

    def close_session(self, session_id: str) -> None:
        with self._lock:
            if self._sessions.pop(session_id, None) is None:
                raise Unauthorized()
