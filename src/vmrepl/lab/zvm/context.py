"""What every service of a simulated site shares: its settings, its records, its faults, its
vCenter, who it is and where it answers.

A service is given this context and the other services it calls by name (``app.py`` wires
them); it never reaches its siblings through the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vmrepl.lab.zvm.config import SimulatorConfig
from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.faults import Faults
from vmrepl.lab.zvm.store import Store
from vmrepl.lab.zvm.vcenter import VCenterBackend


@dataclass
class SiteContext:
    config: SimulatorConfig
    store: Store
    faults: Faults
    backend: VCenterBackend
    #: the API's base URL (the HTTP server sets it once its port is known)
    url: str = ""
    #: where the peer simulators reach this one (``/lab/peer/*``)
    pairing_url: str = ""
    #: the vCenter's instance UUID, the first part of every object identifier
    server_id: str = ""
    site_identifier: str = ""
    #: whether the appliance runs (the ports answer)
    answering: bool = False
    #: the admin password the appliance booted with (see ``boot.py``)
    boot_password: str | None = field(default=None, repr=False)

    @classmethod
    def for_config(cls, config: SimulatorConfig) -> SiteContext:
        return cls(
            config=config,
            store=Store(),
            faults=Faults(config.task_seconds),
            backend=VCenterBackend(config.vcenter),
            url=f"https://{config.listen_host}:{config.listen_port}",
            pairing_url=f"https://{config.listen_host}:{config.pairing_port}",
        )

    @property
    def admin_password(self) -> str:
        """The admin user's password: the one the appliance's deployment gave it, else the
        configured one."""
        return self.boot_password or self.config.password

    @property
    def licensed(self) -> bool:
        with self.store.lock:
            return self.store.license_key is not None

    def require_license(self, action: str) -> None:
        """400 for an action an unlicensed ZVM refuses."""
        if not self.licensed:
            raise BadRequest(
                f"A valid license is not provided: {action} needs a licensed ZVM. "
                "Enter a license key first (PUT /v1/license)."
            )
