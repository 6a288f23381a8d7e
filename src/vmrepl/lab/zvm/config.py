"""The simulator's settings: from the command line (and secrets from the environment)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: The appliance version the simulator answers with (ZVM Appliance 10.0 Update 6).
ZVM_VERSION = "10.0.60.1310"
ZVM_DISPLAY_VERSION = "10.0 U6"
#: The client id of the appliance's Keycloak realm for user logins.
USER_CLIENT_ID = "zerto-client"


def new_license_key() -> str:
    """A licence key for one lab site (the real keys' format is not known here)."""
    return "LAB-" + secrets.token_hex(10).upper()


@dataclass(frozen=True)
class VCenterConfig:
    url: str
    username: str
    password: str = field(repr=False)
    ca_file: Path | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 443


@dataclass
class SimulatorConfig:
    site_name: str
    vcenter: VCenterConfig
    username: str
    password: str = field(repr=False)
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    #: the port of the simulator-to-simulator endpoints (``/lab/peer/*``); 0: any free port
    pairing_port: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: CA bundle that verifies the peer simulators' certificates (outbound HTTPS)
    ca_file: Path | None = None
    #: default duration of every task, seconds (per kind: the admin endpoint)
    task_seconds: float = 2.0
    #: access-token lifetime, seconds (refresh tokens live twice as long)
    token_lifetime: int = 3600
    #: Windows ZVM sessions end after this many idle seconds
    session_idle_seconds: int = 1800
    #: the Keycloak client of the client_credentials grant; its secret defaults to the password
    client_id: str = "zerto-api"
    client_secret: str | None = field(default=None, repr=False)
    location: str = "vmrepl lab"
    #: simulated seconds of journal history per real second
    history_time_scale: float = 60.0
    #: a checkpoint every this many real seconds while a VPG replicates
    checkpoint_seconds: float = 5.0
    #: VPG settings objects are deleted after this many seconds unused
    settings_ttl_seconds: float = 1800.0
    #: pairing tokens expire after this many seconds
    pairing_token_seconds: float = 48 * 3600.0
    #: how often the link to each peer is checked and VPGs are synchronised
    heartbeat_seconds: float = 0.5
    #: timeout of one simulator-to-simulator call
    peer_timeout: float = 5.0
    #: seconds the appliance VM must have been powered on before the ZVM answers
    boot_seconds: float = 3.0
    #: how often the simulator looks at its appliance VM in vCenter
    appliance_poll_seconds: float = 0.5
    #: the one licence key this ZVM accepts (``PUT /v1/license``)
    license_key: str = field(default_factory=new_license_key, repr=False)
