"""The simulator: its services wired together, and the pipeline every request goes through.

Pipeline: the port (``/lab/peer`` only on the pairing port, nothing else there: 404) →
injected 503 (``/v1`` only) → route (404 unknown path, 405 wrong method, 501 an operation of
the schema the simulator does not implement) → authentication (bearer token or
``x-zerto-session`` for ``/v1``; the shared key for ``/lab/peer``) → the request body is
checked against the schema (violations recorded, see ``contract.py``) → handler → the response
body is checked too. Errors answer ``{"Message": "..."}``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from vmrepl.lab.zvm import (
    admin,
    alerts,
    appliance,
    auth,
    events,
    maintenance,
    peering,
    recovery,
    reports,
    statistics,
    tasks,
    virtualization,
    vpgs,
    vpgsettings,
    vras,
)
from vmrepl.lab.zvm.config import SimulatorConfig
from vmrepl.lab.zvm.contract import ContractRecorder
from vmrepl.lab.zvm.errors import ApiError, BadRequest, OperationFailed, Unavailable
from vmrepl.lab.zvm.faults import Faults
from vmrepl.lab.zvm.gateway import LocalGateway, RemoteGateway, SiteGateway
from vmrepl.lab.zvm.openapi import OpenApiDocument, default_document
from vmrepl.lab.zvm.routing import Request, Response, Router, not_found
from vmrepl.lab.zvm.store import Store
from vmrepl.lab.zvm.vcenter import VCenterBackend

LOG = logging.getLogger(__name__)
#: the paths of the pairing port (and only of it): the simulator-to-simulator endpoints
PEER_PREFIX = "/lab/peer/"
_SITE_NAMESPACE = uuid.UUID("6f1c7d2e-5a43-4c1b-9a0e-7b1f3c2d9e10")


class Simulator:
    """One simulated ZVM. :meth:`open` connects to vCenter; the HTTP server sets :attr:`url`."""

    def __init__(self, config: SimulatorConfig, document: OpenApiDocument | None = None) -> None:
        self.config = config
        self.document = document or default_document()
        self.contract = ContractRecorder(self.document)
        self.faults = Faults(config.task_seconds)
        self.store = Store()
        self.backend = VCenterBackend(config.vcenter)
        self.url = f"https://{config.listen_host}:{config.listen_port}"
        #: where the peer simulators reach this one (``/lab/peer/*``)
        self.pairing_url = f"https://{config.listen_host}:{config.pairing_port}"
        #: the admin password the appliance booted with (see ``boot.py``)
        self.boot_password: str | None = None
        #: whether the appliance runs (the ports answer)
        self.answering = False
        self.server_id = ""
        self.site_identifier = ""
        self.auth = auth.AuthService(self)
        self.tasks = tasks.TaskService(self)
        self.peering = peering.PeeringService(self)
        self.vras = vras.VraService(self)
        self.settings = vpgsettings.SettingsService(self)
        self.vpgs = vpgs.VpgService(self)
        self.recovery = recovery.RecoveryService(self)
        self.reports = reports.ReportService(self)
        self.alerts = alerts.AlertService(self)
        self.events = events.EventLog(self)
        self.statistics = statistics.StatisticsService(self)
        self.maintenance = maintenance.MaintenanceService(self)
        self.local_gateway = LocalGateway(self)
        self.router = Router()
        for module in (
            auth,
            appliance,
            peering,
            virtualization,
            vras,
            vpgsettings,
            vpgs,
            recovery,
            reports,
            tasks,
            alerts,
            events,
            statistics,
            admin,
        ):
            module.register(self.router, self)

    def open(self) -> None:
        """Connect to vCenter and derive the site identifier (stable for a vCenter and a site
        name, so a restarted simulator keeps it)."""
        self.backend.connect()
        self.server_id = self.backend.server_id
        self.site_identifier = str(
            uuid.uuid5(_SITE_NAMESPACE, f"{self.server_id}/{self.config.site_name}")
        )
        self.local_gateway.site_identifier = self.site_identifier

    def start_background(self) -> None:
        self.peering.start()
        self.maintenance.start()

    def close(self) -> None:
        self.maintenance.stop()
        self.peering.stop()
        self.backend.close()

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

    def implemented_operations(self) -> list[str]:
        """The operations of the schema that the simulator serves (``METHOD template``)."""
        routes = {(r.method, _shape(r.template)) for r in self.router.routes}
        return sorted(
            op.key for op in self.document.operations if (op.method, _shape(op.template)) in routes
        )

    def gateway(self, site: str) -> SiteGateway:
        """The gateway to a site's vCenter: this one's, or a paired peer's."""
        if site == self.site_identifier:
            return self.local_gateway
        return RemoteGateway(site, self.peering.client(site))

    # -- the pipeline -----------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        operation = None
        try:
            if (request.listener == "pairing") != request.path.startswith(PEER_PREFIX):
                raise not_found(request.path)
            if request.path.startswith("/v1/") and self.faults.take_unavailable():
                raise Unavailable("The service is temporarily unavailable (injected fault).")
            route, params = self._resolve(request)
            request.params = params
            if route.kind in ("api", "open"):
                operation = self.document.find(request.method, request.path)
            if operation is not None:
                self._check_request(operation, request)
            if route.kind == "api":
                request.principal = self.auth.authenticate(request)
            result = route.handler(request)
            response = (
                result
                if isinstance(result, Response)
                else (Response.empty() if result is None else Response.json(result))
            )
        except ApiError as exc:
            response = Response.json(exc.body, exc.status, exc.headers)
        except OperationFailed as exc:
            response = Response.json({"Message": exc.reason}, 400)
        except Exception:
            LOG.exception("%s %s failed", request.method, request.path)
            response = Response.json({"Message": "An error has occurred."}, 500)
        if operation is not None:
            self.contract.check_response(
                operation,
                request.path,
                response.status,
                response.body if response.has_body else None,
            )
        return response

    def _resolve(self, request: Request) -> Any:
        """The route; 501 for an operation of the schema that no route serves (including one
        whose literal path a route's parameter would otherwise swallow, e.g.
        ``GET /v1/vpgSettings/exportedSettings``)."""
        operation = self.document.find(request.method, request.path)
        not_implemented = ApiError(
            501,
            f"{request.method} {request.path.split('?')[0]} is part of the ZVM API but is not "
            "implemented by the lab simulator.",
        )
        try:
            route, params = self.router.resolve(request.method, request.path)
        except ApiError as exc:
            if exc.status in (404, 405) and operation is not None:
                raise not_implemented from exc
            raise
        if operation is not None and _shape(operation.template) != _shape(route.template):
            raise not_implemented
        return route, params

    def _check_request(self, operation: Any, request: Request) -> None:
        if not request.body.strip():
            self.contract.check_request(operation, request.path, None)
            return
        if operation.request_media == "application/x-www-form-urlencoded":
            self.contract.check_request(operation, request.path, request.form())
            return
        try:
            body = request.json()
        except ApiError:
            return  # the handler answers 400 for it
        self.contract.check_request(operation, request.path, body)


def _shape(template: str) -> tuple[str, ...]:
    """A path template with its parameter names erased and literals lower-cased."""
    return tuple(
        "{}" if part.startswith("{") else part.lower() for part in template.strip("/").split("/")
    )
