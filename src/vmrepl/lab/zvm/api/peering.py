"""``/v1/peersites`` (pairing, unpairing, the peers) and the simulator-to-simulator endpoints of
the pairing port (``/lab/peer/*``, authenticated by the shared key)."""

from __future__ import annotations

from typing import Any

from vmrepl.lab.zvm.enums import PAIRING_STATUSES
from vmrepl.lab.zvm.errors import NotFound
from vmrepl.lab.zvm.http.routing import Request, Response, Router
from vmrepl.lab.zvm.site.gateway import LocalGateway
from vmrepl.lab.zvm.site.peering import PeeringService
from vmrepl.lab.zvm.store import PeerRecord, VpgRecord


def register(router: Router, peering: PeeringService, local_gateway: LocalGateway) -> None:

    def list_peers(request: Request) -> Any:
        q = request.query
        result = [peering.to_json(p) for p in peering.peers()]
        result += [peering.pending_json(p) for p in peering.pending()]
        filters = {
            "peername": "PeerSiteName",
            "hostname": "HostName",
            "location": "Location",
            "port": "Port",
        }
        for param, key in filters.items():
            if param in q:
                result = [r for r in result if str(r[key]).lower() == q[param].lower()]
        if "pairingstatus" in q:
            wanted = q["pairingstatus"].lower()
            result = [
                r
                for r in result
                if wanted in (str(r["PairingStatus"]), PAIRING_STATUSES[r["PairingStatus"]].lower())
            ]
        return result

    def get_peer(request: Request) -> Any:
        peer = peering.peer(request.param("siteIdentifier"))
        if peer is None:
            raise NotFound(f"Peer site {request.param('siteIdentifier')} was not found.")
        return peering.to_json(peer)

    def peer_only(handler: Any) -> Any:
        def wrapped(request: Request) -> Any:
            peer = peering.authenticate_peer(request)
            return handler(request, peer)

        return wrapped

    def sync(request: Request, peer: PeerRecord) -> Any:
        body = request.json() or {}
        peering.merge([VpgRecord.from_wire(v) for v in body.get("Vpgs", [])])
        return {"Vpgs": [r.to_wire() for r in peering.shared_vpgs(peer.site_identifier)]}

    def receive_vpg(request: Request, peer: PeerRecord) -> Any:
        body = request.json() or {}
        peering.merge([VpgRecord.from_wire(body["Vpg"])])
        return Response.empty()

    def unpaired(request: Request, peer: PeerRecord) -> Any:
        peering.forget(peer.site_identifier)
        return Response.empty()

    def rpc(request: Request, peer: PeerRecord) -> Any:
        args = request.json() or {}
        try:
            return Response.json(local_gateway.call(request.param("method"), args))
        except KeyError as exc:
            raise NotFound(f"No peer call {exc}.") from exc

    router.add("GET", "/v1/peersites", list_peers)
    router.add("POST", "/v1/peersites", peering.pair)
    router.add("GET", "/v1/peersites/pairingstatuses", lambda r: list(PAIRING_STATUSES))
    router.add("POST", "/v1/peersites/generatetoken", lambda r: peering.generate_token())
    router.add("GET", "/v1/peersites/{siteIdentifier}", get_peer)
    router.add(
        "DELETE",
        "/v1/peersites/{siteIdentifier}",
        lambda r: peering.unpair(r, r.param("siteIdentifier")),
    )
    router.add("POST", "/lab/peer/pair", peering.accept_pairing, kind="peer-pairing")
    router.add("POST", "/lab/peer/sync", peer_only(sync), kind="peer")
    router.add("POST", "/lab/peer/vpgs", peer_only(receive_vpg), kind="peer")
    router.add("POST", "/lab/peer/unpair", peer_only(unpaired), kind="peer")
    router.add("POST", "/lab/peer/rpc/{method}", peer_only(rpc), kind="peer")
