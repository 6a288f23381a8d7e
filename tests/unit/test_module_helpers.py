"""The shared pieces the thin modules are made of: the bodies of _module (ensure_with,
run_with), the selection spec, the pending pairing plan, the proxies' apply, and the ZVM API
probe of the client layer (against a real local HTTP server)."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils import _module
from ansible_collections.vmrepl.core.plugins.module_utils.appliance import OvfVmSpec
from ansible_collections.vmrepl.core.plugins.module_utils.backup import (
    SELECTION_ARGUMENT_SPEC,
    ProxyPlan,
    for_host,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import api_answers
from ansible_collections.vmrepl.core.plugins.module_utils.pairing import (
    PendingPairingPlan,
    peer_address,
)
from ansible_collections.vmrepl.core.plugins.module_utils.selection import (
    host_selection_spec,
    vm_selection_spec,
)


class FakeModule:
    def __init__(self, check_mode: bool = False, diff: bool = False, **params: Any) -> None:
        self.check_mode = check_mode
        self._diff = diff
        self.params = params


@dataclass
class Plan:
    changes: dict[str, tuple[Any, Any]]
    facts: dict[str, Any] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    client: Any = None

    def summary(self, check_mode: bool) -> str:
        return "would" if check_mode else "will"

    def apply(self) -> dict[str, Any]:
        self.applied.append(self.client.state)
        return {"msg": "done"}


class Client:
    state = "closed"


def connector(opened: list[Client]) -> Any:
    @contextlib.contextmanager
    def connect(module: Any) -> Iterator[Client]:
        client = Client()
        client.state = "open"
        opened.append(client)
        try:
            yield client
        finally:
            client.state = "closed"

    return connect


def test_ensure_with_applies_the_plan_while_the_client_is_open() -> None:
    opened: list[Client] = []
    plan = Plan({"size": (1, 2)})

    def plan_of(client: Client) -> Plan:
        plan.client = client
        return plan

    result = _module.ensure_with(FakeModule(), connector(opened), plan_of)
    assert result == {"changed": True, "msg": "done"}
    assert plan.applied == ["open"]
    assert opened[0].state == "closed"


def test_ensure_with_a_pending_plan_connects_to_nothing_and_is_for_check_mode_only() -> None:
    opened: list[Client] = []
    pending = Plan({"vra": (None, "esx1")})
    module = FakeModule(check_mode=True, diff=True, zvm_pending=True)
    result = _module.ensure_with(
        module,
        connector(opened),
        lambda client: pytest.fail("planned against a client"),
        pending=lambda: pending,
    )
    assert opened == []
    assert result == {
        "changed": True,
        "msg": "would",
        "diff": {"before": {"vra": None}, "after": {"vra": "esx1"}},
    }
    with pytest.raises(ConfigurationError, match="check mode only: license first"):
        _module.ensure_with(
            FakeModule(zvm_pending=True),
            connector(opened),
            lambda client: pending,
            pending=lambda: pending,
            first="license first",
        )
    assert opened == []


def test_run_with_hands_the_client_and_the_options_to_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(_module, "run", lambda module, body: seen.append(body()))
    opened: list[Client] = []
    module = FakeModule(names=["web01"])
    _module.run_with(
        module,
        connector(opened),
        lambda client, params: {"state": client.state, "names": params["names"]},
    )
    assert seen == [{"state": "open", "names": ["web01"]}]


# -- the selection spec ---------------------------------------------------------------------------
def test_the_selection_options_keep_their_names_types_and_defaults() -> None:
    pair = {"name": {"type": "str", "required": True}, "value": {"type": "str", "required": True}}
    tag = {"category": {"type": "str", "required": True}, "name": {"type": "str", "required": True}}
    names = {"type": "list", "elements": "str", "default": []}
    backup = dict(SELECTION_ARGUMENT_SPEC)
    assert backup == {
        "clusters": names,
        "host_custom_attribute": {"type": "dict", "options": pair},
        "host_names": names,
        "host_tag": {"type": "dict", "options": tag},
        "proxy_pattern": {"type": "str", "default": "^backup-proxy-"},
    }
    assert list(host_selection_spec()) == ["clusters", "custom_attribute", "names", "tag"]
    assert vm_selection_spec("vm_", "vms") == {
        "vms": names,
        "vm_folder": {"type": "str"},
        "vm_custom_attribute": {"type": "dict", "options": pair},
        "vm_tag": {"type": "dict", "options": tag},
    }
    spec = vm_selection_spec()
    spec["names"]["default"].append("x")  # each module gets its own copy
    assert vm_selection_spec()["names"]["default"] == []


# -- pairing against ZVMs this run deploys --------------------------------------------------------
def test_the_pending_pairing_plan_pairs_and_has_nothing_to_unpair() -> None:
    module = FakeModule(check_mode=True, diff=True)
    paired = _module.ensure(module, PendingPairingPlan(True, "zvm-b", 9071), _module.not_applied)
    assert paired["changed"] is True
    assert paired["msg"] == "Would pair with the target at zvm-b:9071 once the ZVMs are deployed."
    assert paired["diff"]["before"]["pairing"] == {"source": "not listed", "target": "not listed"}
    assert paired["diff"]["after"]["pairing"] == {"source": "Paired", "target": "Paired"}
    unpaired = _module.ensure(module, PendingPairingPlan(False, "zvm-b", 9071), _module.not_applied)
    assert unpaired["changed"] is False
    assert unpaired["msg"] == "Nothing to unpair: the ZVMs are not deployed yet."


def test_the_peer_address_comes_from_the_url_and_the_port_is_checked() -> None:
    assert peer_address(None, "https://zvm-b.example.com:9669", 9071) == ("zvm-b.example.com", 9071)
    assert peer_address("10.0.0.2", "https://zvm-b.example.com", 9081) == ("10.0.0.2", 9081)
    with pytest.raises(ConfigurationError, match=r"peer_port \(pairing_port\) must be 1 to 65535"):
        peer_address(None, "https://zvm-b", 0)


# -- the proxies --------------------------------------------------------------------------------
def test_a_proxy_is_named_and_configured_for_its_host() -> None:
    spec = OvfVmSpec(name="", datacenter="dc", properties={"hostname": "proxy-{host}.lab"})
    proxy = for_host(spec, "esx01", "backup-proxy-esx01")
    assert (proxy.name, proxy.host) == ("backup-proxy-esx01", "esx01")
    assert proxy.properties == {"hostname": "proxy-esx01.lab"}


def test_a_failed_proxy_names_what_was_deployed_and_what_is_left() -> None:
    done: list[str] = []

    def deploy(host: str, name: str) -> None:
        if host == "esx02":
            raise VmreplError("no space on ds01.")
        done.append(name)

    changes: dict[str, tuple[Any, Any]] = {h: (None, f"p-{h}") for h in ("esx01", "esx02", "esx03")}
    plan = ProxyPlan(changes, {}, {}, {}, deploy=deploy)
    with pytest.raises(VmreplError) as caught:
        plan.apply()
    assert done == ["p-esx01"]
    assert "Deploying the proxy on esx02 failed: no space on ds01." in str(caught.value)
    assert caught.value.details == {
        "changed": True,
        "deployed": {"esx01": "p-esx01"},
        "left": ["esx02", "esx03"],
    }
    assert ProxyPlan(changes, {}, {}, {}, deploy=lambda h, n: None).apply()["deployed"] == {
        h: f"p-{h}" for h in changes
    }


# -- the ZVM API probe ----------------------------------------------------------------------------
@contextlib.contextmanager
def http_server(status: int) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/v1/localsite" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "answers"), [(200, True), (401, True), (503, None)])
def test_the_api_answers_once_localsite_says_200_or_401(status: int, answers: bool | None) -> None:
    with http_server(status) as url:
        assert api_answers(url, timeout=5) is answers


def test_an_api_nobody_listens_on_does_not_answer_yet() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert api_answers(f"http://127.0.0.1:{port}", timeout=5) is None
