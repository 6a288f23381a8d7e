"""The tagging client against a fake vAPI endpoint: the requests it makes, the answers it reads,
and its typed errors (the lab's vcsim accepts any credentials, so a refused login is tested
here)."""

from __future__ import annotations

import io
import json
import ssl
import urllib.error
import urllib.request
from base64 import b64decode
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    NotFound,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereConnectionParams,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere_tags import TagClient

PARAMS = VSphereConnectionParams("vc.example", "tagger", "not-a-real-password", port=8443)
CAT = "urn:vmomi:InventoryServiceCategory:c1:GLOBAL"
OTHER_CAT = "urn:vmomi:InventoryServiceCategory:c2:GLOBAL"
TAG = "urn:vmomi:InventoryServiceTag:t1:GLOBAL"
OTHER_TAG = "urn:vmomi:InventoryServiceTag:t2:GLOBAL"


class Response(io.BytesIO):
    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeVapi:
    """Answers like vCenter's /rest endpoints; records every request."""

    def __init__(self, login_status: int = 200) -> None:
        self.login_status = login_status
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.attached: dict[str, list[dict[str, str]]] = {
            TAG: [
                {"type": "HostSystem", "id": "host-21"},
                {"type": "VirtualMachine", "id": "vm-42"},
                {"type": "HostSystem", "id": "host-33"},
            ],
            OTHER_TAG: [],
        }

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        base = "/rest/com/vmware/cis"
        routes: dict[tuple[str, str], Any] = {
            ("GET", f"{base}/tagging/category"): [OTHER_CAT, CAT],
            ("GET", f"{base}/tagging/category/id:{CAT}"): {"id": CAT, "name": "vmrepl"},
            ("GET", f"{base}/tagging/category/id:{OTHER_CAT}"): {"id": OTHER_CAT, "name": "env"},
            ("POST", f"{base}/tagging/tag/id:{CAT}?~action=list-tags-for-category"): [
                OTHER_TAG,
                TAG,
            ],
            ("GET", f"{base}/tagging/tag/id:{TAG}"): {
                "id": TAG,
                "name": "cust1",
                "category_id": CAT,
            },
            ("GET", f"{base}/tagging/tag/id:{OTHER_TAG}"): {
                "id": OTHER_TAG,
                "name": "cust2",
                "category_id": CAT,
            },
        }
        if path == f"{base}/session":
            if method == "DELETE":
                return 200, None
            if self.login_status != 200:
                return self.login_status, {"type": "com.vmware.vapi.std.errors.unauthenticated"}
            return 200, {"value": "session-1"}
        for tag_id, objects in self.attached.items():
            if path == f"{base}/tagging/tag-association/id:{tag_id}?~action=list-attached-objects":
                return 200, {"value": objects} if objects else {}
        if (method, path) in routes:
            return 200, {"value": routes[method, path]}
        return 404, {
            "type": "com.vmware.vapi.std.errors.not_found",
            "value": {"messages": [{"default_message": f"nothing at {path}"}]},
        }

    def open(self, request: urllib.request.Request, timeout: float) -> Response:
        assert request.full_url.startswith("https://vc.example:8443/rest/")
        path = request.full_url.removeprefix("https://vc.example:8443")
        data = request.data
        body = json.loads(data) if isinstance(data, bytes) else None
        method = request.get_method()
        self.requests.append((method, path, dict(request.header_items()), body))
        status, doc = self.answer(method, path, body)
        raw = json.dumps(doc).encode() if doc is not None else b""
        if status != 200:
            raise urllib.error.HTTPError(request.full_url, status, "error", None, io.BytesIO(raw))  # type: ignore[arg-type]
        return Response(raw)


def client(fake: FakeVapi) -> TagClient:
    tags = TagClient(PARAMS, opener=fake)  # type: ignore[arg-type]
    tags.login()
    return tags


def test_login_sends_basic_auth_and_uses_the_session_header_then_logs_out() -> None:
    fake = FakeVapi()
    with client(fake) as tags:
        tags.category_ids()
    (m1, p1, h1, _), (_, _, h2, _), (m3, p3, h3, _) = fake.requests
    assert (m1, p1) == ("POST", "/rest/com/vmware/cis/session")
    assert b64decode(h1["Authorization"].removeprefix("Basic ")) == b"tagger:not-a-real-password"
    assert h2["Vmware-api-session-id"] == "session-1"
    assert "Authorization" not in h2
    assert (m3, p3) == ("DELETE", "/rest/com/vmware/cis/session")
    assert h3["Vmware-api-session-id"] == "session-1"


def test_tagged_objects_of_one_type_in_one_association_call() -> None:
    fake = FakeVapi()
    tags = client(fake)
    assert tags.tagged("vmrepl", "cust1", "HostSystem") == {"host-21", "host-33"}
    association = [r for r in fake.requests if "tag-association" in r[1]]
    assert len(association) == 1
    assert association[0][0] == "POST"
    assert tags.tagged("vmrepl", "cust1", "VirtualMachine") == {"vm-42"}
    assert tags.tagged("vmrepl", "cust2", "HostSystem") == set()


def test_the_tag_resolves_by_category_and_name() -> None:
    tags = client(FakeVapi())
    tag = tags.find_tag("vmrepl", "cust1")
    assert (tag.id, tag.category_id, tag.label) == (TAG, CAT, "vmrepl/cust1")


def test_an_unknown_tag_is_named_with_the_known_ones() -> None:
    tags = client(FakeVapi())
    with pytest.raises(NotFound) as error:
        tags.find_tag("vmrepl", "cust9")
    assert "vmrepl/cust9" in str(error.value)
    assert "'cust1', 'cust2'" in str(error.value)
    with pytest.raises(NotFound) as error:
        tags.find_tag("customers", "cust1")
    assert "customers/cust1" in str(error.value)
    assert "no tag category 'customers'" in str(error.value)
    assert "'env', 'vmrepl'" in str(error.value)


def test_a_refused_login_is_an_authentication_failure() -> None:
    with pytest.raises(AuthenticationFailed, match="'tagger'") as error:
        client(FakeVapi(login_status=401))
    assert "not-a-real-password" not in str(error.value)


def test_a_vcenter_without_the_automation_api_says_so() -> None:
    with pytest.raises(ConnectionFailed, match="does not serve the vSphere Automation API"):
        client(FakeVapi(login_status=404))


def test_an_unverifiable_certificate_is_a_connection_failure() -> None:
    class Untrusted:
        def open(self, request: urllib.request.Request, timeout: float) -> Response:
            error = ssl.SSLCertVerificationError("certificate verify failed")
            error.verify_message = "self-signed certificate"
            raise urllib.error.URLError(error)

    tags = TagClient(PARAMS, opener=Untrusted())  # type: ignore[arg-type]
    with pytest.raises(ConnectionFailed, match=r"self-signed certificate.*ca_file"):
        tags.login()
