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

from vmrepl.lab.zvm.api import (
    admin,
    alerts,
    appliance,
    auth,
    events,
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
from vmrepl.lab.zvm.context import SiteContext
from vmrepl.lab.zvm.errors import ApiError, OperationFailed, Unavailable
from vmrepl.lab.zvm.http.contract import ContractRecorder
from vmrepl.lab.zvm.http.openapi import OpenApiDocument, default_document
from vmrepl.lab.zvm.http.routing import Request, Response, Router, not_found
from vmrepl.lab.zvm.site.alerts import AlertService
from vmrepl.lab.zvm.site.appliance import ApplianceService
from vmrepl.lab.zvm.site.auth import SESSION_HEADER, AuthService
from vmrepl.lab.zvm.site.events import EventLog
from vmrepl.lab.zvm.site.gateway import Gateways, LocalGateway
from vmrepl.lab.zvm.site.maintenance import MaintenanceService
from vmrepl.lab.zvm.site.peering import PeeringService
from vmrepl.lab.zvm.site.recovery import RecoveryService
from vmrepl.lab.zvm.site.reports import ReportService
from vmrepl.lab.zvm.site.settings import SettingsService
from vmrepl.lab.zvm.site.statistics import StatisticsService
from vmrepl.lab.zvm.site.tasks import TaskService
from vmrepl.lab.zvm.site.vpgs import VpgService
from vmrepl.lab.zvm.site.vras import VraService
from vmrepl.lab.zvm.vcenter import VCenterBackend

LOG = logging.getLogger(__name__)
#: the paths of the pairing port (and only of it): the simulator-to-simulator endpoints
PEER_PREFIX = "/lab/peer/"
_SITE_NAMESPACE = uuid.UUID("6f1c7d2e-5a43-4c1b-9a0e-7b1f3c2d9e10")


class Simulator:
    """One simulated ZVM: its services wired together (the one place that does), and the
    request pipeline. :meth:`open` connects to vCenter; the HTTP server sets :attr:`url`."""

    def __init__(self, config: SimulatorConfig, document: OpenApiDocument | None = None) -> None:
        self.config = config
        self.document = document or default_document()
        self.contract = ContractRecorder(self.document)
        self.ctx = ctx = SiteContext.for_config(config)
        self.auth = AuthService(ctx)
        self.tasks = TaskService(ctx)
        self.events = EventLog(ctx)
        self.peering = PeeringService(ctx, self.tasks)
        self.local_gateway = LocalGateway(ctx)
        self.gateways = Gateways(ctx, self.local_gateway, self.peering)
        self.vpgs = VpgService(ctx, self.tasks, self.peering, self.gateways)
        self.maintenance = MaintenanceService(ctx, self.events, self.vpgs)
        self.vras = VraService(ctx, self.tasks, self.maintenance, self.vpgs)
        self.settings = SettingsService(ctx, self.vpgs, self.gateways, self.document.validator)
        self.statistics = StatisticsService(ctx, self.vpgs)
        self.reports = ReportService(ctx, self.statistics)
        self.recovery = RecoveryService(
            ctx, self.tasks, self.peering, self.vpgs, self.gateways, self.reports
        )
        self.alerts = AlertService(
            ctx, self.events, self.peering, self.vpgs, self.vras, self.maintenance
        )
        self.appliance = ApplianceService(ctx, self.maintenance, self.peering)
        # The runtime cycles, each named where it is closed (a service calls one wired after it):
        # - vpgs → peering: a saved VPG record goes to the VPG's other site at once
        self.vpgs.on_saved.append(self.peering.push)
        # - peering → alerts (→ vpgs, vras, peering): the heartbeat re-evaluates the alerts
        self.peering.on_heartbeat.append(self.alerts.evaluate_round)
        # - events → alerts (→ events): reading the event log first records the alerts that
        #   turned on or off since the last look
        self.events.before_query.append(self.alerts.evaluate)
        # - gateway → vras (→ vpgs → gateway): the VRA hosts a site's gateway reports
        self.local_gateway.installed_vra_hosts_hook = self.vras.installed_hosts
        self.router = Router()
        auth.register(self.router, self.auth)
        appliance.register(self.router, self.appliance)
        peering.register(self.router, self.peering, self.local_gateway)
        virtualization.register(self.router, ctx, self.peering, self.gateways, self.vpgs)
        vras.register(self.router, self.vras)
        vpgsettings.register(self.router, ctx, self.settings)
        vpgs.register(self.router, ctx, self.vpgs)
        recovery.register(self.router, self.recovery)
        reports.register(self.router, ctx, self.reports)
        tasks.register(self.router, ctx, self.tasks)
        alerts.register(self.router, ctx, self.alerts)
        events.register(self.router, self.events)
        statistics.register(self.router, ctx, self.statistics)
        admin.register(
            self.router,
            ctx,
            auth=self.auth,
            peering=self.peering,
            maintenance=self.maintenance,
            contract=self.contract,
            implemented=self.implemented_operations,
        )

    # -- what the runner and the tests read and set -----------------------------------------
    @property
    def url(self) -> str:
        return self.ctx.url

    @url.setter
    def url(self, value: str) -> None:
        self.ctx.url = value

    @property
    def pairing_url(self) -> str:
        return self.ctx.pairing_url

    @pairing_url.setter
    def pairing_url(self, value: str) -> None:
        self.ctx.pairing_url = value

    @property
    def site_identifier(self) -> str:
        return self.ctx.site_identifier

    @property
    def server_id(self) -> str:
        return self.ctx.server_id

    @property
    def backend(self) -> VCenterBackend:
        return self.ctx.backend

    @property
    def answering(self) -> bool:
        return self.ctx.answering

    @answering.setter
    def answering(self, value: bool) -> None:
        self.ctx.answering = value

    @property
    def boot_password(self) -> str | None:
        return self.ctx.boot_password

    @boot_password.setter
    def boot_password(self, value: str | None) -> None:
        self.ctx.boot_password = value

    def open(self) -> None:
        """Connect to vCenter and derive the site identifier (stable for a vCenter and a site
        name, so a restarted simulator keeps it)."""
        ctx = self.ctx
        ctx.backend.connect()
        ctx.server_id = ctx.backend.server_id
        ctx.site_identifier = str(
            uuid.uuid5(_SITE_NAMESPACE, f"{ctx.server_id}/{self.config.site_name}")
        )

    def start_background(self) -> None:
        self.peering.start()
        self.maintenance.start()

    def close(self) -> None:
        self.maintenance.stop()
        self.peering.stop()
        self.backend.close()

    def implemented_operations(self) -> list[str]:
        """The operations of the schema that the simulator serves (``METHOD template``)."""
        routes = {(r.method, _shape(r.template)) for r in self.router.routes}
        return sorted(
            op.key for op in self.document.operations if (op.method, _shape(op.template)) in routes
        )

    # -- the pipeline -----------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        operation = None
        try:
            if (request.listener == "pairing") != request.path.startswith(PEER_PREFIX):
                raise not_found(request.path)
            if request.path.startswith("/v1/") and self.ctx.faults.take_unavailable():
                raise Unavailable("The service is temporarily unavailable (injected fault).")
            route, params = self._resolve(request)
            request.params = params
            if route.kind in ("api", "open"):
                operation = self.document.find(request.method, request.path)
            if operation is not None:
                self._check_request(operation, request)
            if route.kind == "api":
                request.principal = self.auth.authenticate(
                    request.header("Authorization"), request.header(SESSION_HEADER)
                )
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
