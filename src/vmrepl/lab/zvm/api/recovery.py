"""The recovery operations of ``/v1/vpgs/{vpgIdentifier}``: failover test, failover and move,
their commit and rollback."""

from __future__ import annotations

from vmrepl.lab.zvm.http.routing import Request, Router
from vmrepl.lab.zvm.site.recovery import RecoveryService


def register(router: Router, rec: RecoveryService) -> None:
    base = "/v1/vpgs/{vpgIdentifier}"

    def vid(request: Request) -> str:
        return request.param("vpgIdentifier")

    router.add("POST", f"{base}/FailoverTest", lambda r: rec.failover_test(r, vid(r)))
    router.add("POST", f"{base}/FailoverTestStop", lambda r: rec.stop_test(r, vid(r)))
    router.add("POST", f"{base}/Failover", lambda r: rec.failover(r, vid(r)))
    router.add("POST", f"{base}/FailoverCommit", lambda r: rec.commit(r, vid(r), "Failover"))
    router.add("POST", f"{base}/FailoverRollback", lambda r: rec.rollback(r, vid(r), "Failover"))
    router.add("POST", f"{base}/Move", lambda r: rec.move(r, vid(r)))
    router.add("POST", f"{base}/MoveCommit", lambda r: rec.commit(r, vid(r), "Move"))
    router.add("POST", f"{base}/moveRollback", lambda r: rec.rollback(r, vid(r), "Move"))
