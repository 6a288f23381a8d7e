"""Alerts: turned on while a condition holds, gone when it clears.

- ZVM0003 (Error): no connection to a paired site;
- VPG0010 (Error): a VPG is not meeting its SLA (e.g. the link to the peer is cut);
- VPG0009 (Warning): a VPG's actual RPO exceeds its target;
- VPG0017 (Warning): a VPG's protection is paused;
- VPG0014 (Warning): a failover or move waits for commit or rollback;
- VRA alerts of ``vra_conditions`` (Error): a VRA whose host is in maintenance mode, a VRA
  that is powered off (their help identifiers are the lab's own: Zerto's were not found).

They are evaluated with every heartbeat and every ``GET /v1/alerts``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import (
    NOT_MEETING_SLA,
    PAIRED,
    RPO_NOT_MEETING_SLA,
)
from vmrepl.lab.zvm.errors import NotFound
from vmrepl.lab.zvm.links import link
from vmrepl.lab.zvm.store import AlertRecord
from vmrepl.lab.zvm.vcenter import ROUND_MAX_AGE

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.events import EventLog
    from vmrepl.lab.zvm.site.maintenance import MaintenanceService
    from vmrepl.lab.zvm.site.peering import PeeringService
    from vmrepl.lab.zvm.site.vpgs import VpgService
    from vmrepl.lab.zvm.site.vras import VraService

HELP_IDENTIFIERS = (
    "ZVM0003",
    "VPG0009",
    "VPG0010",
    "VPG0014",
    "VPG0017",
    "LAB-VRA-MAINTENANCE",
    "LAB-VRA-DOWN",
)


@dataclass
class Condition:
    key: str
    level: str
    entity: str
    help_identifier: str
    description: str
    vpgs: list[str]


class AlertService:
    def __init__(
        self,
        ctx: SiteContext,
        events: EventLog,
        peering: PeeringService,
        vpgs: VpgService,
        vras: VraService,
        maintenance: MaintenanceService,
    ) -> None:
        self.ctx = ctx
        self.events = events
        self.peering = peering
        self.vpgs = vpgs
        self.vras = vras
        self.maintenance = maintenance

    def conditions(self, max_age: float = 0.0) -> list[Condition]:
        """What is wrong now; ``max_age`` > 0 lets the VRA conditions use an inventory read
        that long ago (see ``vcenter.py``)."""
        found: list[Condition] = []
        for peer in self.peering.peers():
            if peer.status == PAIRED and not self.peering.link_up(peer.site_identifier):
                found.append(
                    Condition(
                        f"link:{peer.site_identifier}",
                        "Error",
                        "Zvm",
                        "ZVM0003",
                        f"No connection to site {peer.site_name}.",
                        [],
                    )
                )
        for vpg in self.ctx.store.live_vpgs():
            state = self.vpgs.state(vpg)
            op = vpg.operation
            if state.status == NOT_MEETING_SLA:
                other = self.peering.site_name(self.vpgs.other_site(vpg))
                why = f"no connection to site {other}"
                if state.link_up and vpg.vra_down:
                    why = "a VRA that serves it is down"
                found.append(
                    Condition(
                        f"sla:{vpg.identifier}",
                        "Error",
                        "Vpg",
                        "VPG0010",
                        f"VPG {vpg.name} is not meeting its SLA: {why}.",
                        [vpg.identifier],
                    )
                )
            elif state.status == RPO_NOT_MEETING_SLA:
                found.append(
                    Condition(
                        f"rpo:{vpg.identifier}",
                        "Warning",
                        "Vpg",
                        "VPG0009",
                        f"VPG {vpg.name} exceeds its target RPO ({state.actual_rpo} s).",
                        [vpg.identifier],
                    )
                )
            if vpg.paused:
                found.append(
                    Condition(
                        f"paused:{vpg.identifier}",
                        "Warning",
                        "Vpg",
                        "VPG0017",
                        f"The protection of VPG {vpg.name} is paused.",
                        [vpg.identifier],
                    )
                )
            if op is not None and op.stage == "BeforeCommit":
                found.append(
                    Condition(
                        f"commit:{vpg.identifier}",
                        "Warning",
                        "Vpg",
                        "VPG0014",
                        f"The {op.kind.lower()} of VPG {vpg.name} waits for commit or rollback.",
                        [vpg.identifier],
                    )
                )
        found += vra_conditions(self.vras, self.maintenance, max_age)
        return found

    def evaluate(self, max_age: float = 0.0) -> list[AlertRecord]:
        conditions = {c.key: c for c in self.conditions(max_age)}
        with self.ctx.store.lock:
            alerts = self.ctx.store.alerts
            removed = [alerts.pop(k) for k in [k for k in alerts if k not in conditions]]
            added = []
            for key, c in conditions.items():
                if key not in alerts:
                    alerts[key] = AlertRecord(
                        identifier=str(uuid.uuid4()),
                        key=key,
                        level=c.level,
                        entity=c.entity,
                        help_identifier=c.help_identifier,
                        description=c.description,
                        turned_on=clock.now(),
                        vpgs=c.vpgs,
                    )
                    added.append(alerts[key])
                else:
                    alerts[key].description = c.description
            result = sorted(alerts.values(), key=lambda a: a.turned_on)
        if added or removed:
            self.events.alerts_changed(added, removed)
        return result

    def evaluate_round(self) -> list[AlertRecord]:
        """The heartbeat's evaluation: VRA conditions from an inventory at most
        ``ROUND_MAX_AGE`` old, shared with the other background rounds."""
        return self.evaluate(ROUND_MAX_AGE)

    def find(self, identifier: str) -> AlertRecord:
        for alert in self.evaluate():
            if alert.identifier == identifier:
                return alert
        raise NotFound(f"Alert {identifier} was not found.")

    def to_json(self, alert: AlertRecord) -> dict[str, Any]:
        base = self.ctx.url
        return {
            "AlertIdentifier": alert.identifier,
            "Link": link(base, "alerts", alert.identifier, "AlertApi"),
            "Level": alert.level,
            "Entity": alert.entity,
            "IsDismissed": alert.dismissed,
            "HelpIdentifier": alert.help_identifier,
            "Site": link(base, "localsite", None, "LocalSiteApi")
            | {"identifier": self.ctx.site_identifier},
            "Description": alert.description,
            "TurnedOn": clock.iso(alert.turned_on),
            "AffectedVpgs": [link(base, "vpgs", v, "VpgApi") for v in alert.vpgs],
            "AffectedZorgs": [],
            "Generation": int(alert.turned_on * 1000),
        }


def vra_conditions(
    vras: VraService, maintenance: MaintenanceService, max_age: float = 0.0
) -> list[Condition]:
    """A VRA on a host in maintenance mode, and a VRA whose VM is powered off (not being
    installed, upgraded or removed), with the VPGs it serves (see ``maintenance.py``)."""
    found: list[Condition] = []
    try:
        inv, views = vras.views(vras.ctx.backend.inventory(max_age=max_age))
    except Exception:  # vCenter away: no VRA alerts this round rather than none ever
        return found
    for view in views:
        if view.vm is None or view.activity is not None:
            continue
        vpgs = [v.identifier for v in maintenance.served_by(inv, view.host.moref)]
        if view.host.maintenance:
            found.append(
                Condition(
                    f"vra-maintenance:{view.host.moref}",
                    "Error",
                    "Vra",
                    "LAB-VRA-MAINTENANCE",
                    f"The VRA on host {view.host.name} is down: the host is in maintenance mode.",
                    vpgs,
                )
            )
        elif not view.vm.powered_on:
            found.append(
                Condition(
                    f"vra-down:{view.host.moref}",
                    "Error",
                    "Vra",
                    "LAB-VRA-DOWN",
                    f"The VRA on host {view.host.name} is powered off: power it on.",
                    vpgs,
                )
            )
    return found
