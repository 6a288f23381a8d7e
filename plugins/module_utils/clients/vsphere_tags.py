# Copyright: vmrepl contributors
# Apache License 2.0
"""vSphere tags through the vCenter's Automation API (``/rest/com/vmware/cis/...``).

Tags are not in the SOAP API that :mod:`vsphere` speaks: they live in the vAPI REST endpoints,
which this small client reaches with the same :class:`VSphereConnectionParams` (host, port,
credentials, and TLS verification through :meth:`VSphereConnectionParams.ssl_context`). Plain
Python on top of ``urllib``, no Ansible imports, raising the typed errors of ``errors``.

Only paths that both vCenter (6.5 and later) and govmomi's vapi simulator (vcsim 0.24) serve are
used: the session, category and tag reads, ``list-tags-for-category``, and per tag
``list-attached-objects`` and ``attach``. Resolving a tag by (category name, tag name) reads the
category list and categories until the one named, then that category's tags; the objects that
carry it take one more call, however many there are.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    NotFound,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereConnectionParams,
)

CIS = "/rest/com/vmware/cis"
SESSION_PATH = f"{CIS}/session"
CATEGORY_PATH = f"{CIS}/tagging/category"
TAG_PATH = f"{CIS}/tagging/tag"
ASSOCIATION_PATH = f"{CIS}/tagging/tag-association"
SESSION_HEADER = "vmware-api-session-id"
#: Ask for the session id in the answer only, not as a cookie as well.
HEADER_AUTHN = "vmware-use-header-authn"


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    cardinality: str = "MULTIPLE"
    associable_types: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    category_id: str
    #: The category's name.
    category: str
    description: str = ""

    @property
    def label(self) -> str:
        return f"{self.category}/{self.name}"


def _by_id(object_id: str) -> str:
    return "id:" + quote(object_id, safe=":")


class TagClient:
    """A session with a vCenter's tagging service. Use :meth:`connect`, and :meth:`close`
    (or ``with``) when done: it logs the session out."""

    def __init__(
        self,
        params: VSphereConnectionParams,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        self.params = params
        host = f"[{params.hostname}]" if ":" in params.hostname else params.hostname
        self.base_url = f"https://{host}:{params.port}"
        self.where = f"vCenter {params.hostname}:{params.port}"
        self._opener = opener or urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=params.ssl_context())
        )
        self._session: str | None = None
        #: REST round trips made (modules add them to their ``calls``).
        self.calls = 0

    # -- session ----------------------------------------------------------------------------
    @classmethod
    def connect(cls, params: VSphereConnectionParams) -> TagClient:
        client = cls(params)
        client.login()
        return client

    def login(self) -> None:
        credentials = f"{self.params.username}:{self.params.password}".encode()
        value = self._call(
            "POST",
            SESSION_PATH,
            headers={
                "Authorization": "Basic " + b64encode(credentials).decode("ascii"),
                HEADER_AUTHN: "true",
            },
            login=True,
        )
        if not isinstance(value, str) or not value:
            raise VmreplError(f"{self.where} answered the login without a session id.")
        self._session = value

    def close(self) -> None:
        if self._session is None:
            return
        with contextlib.suppress(VmreplError):  # best effort on the way out
            self._call("DELETE", SESSION_PATH)
        self._session = None

    def __enter__(self) -> TagClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ------------------------------------------------------------------------------
    def category_ids(self) -> list[str]:
        return [str(i) for i in self._call("GET", CATEGORY_PATH) or []]

    def category(self, category_id: str) -> Category:
        value = self._call("GET", f"{CATEGORY_PATH}/{_by_id(category_id)}") or {}
        return Category(
            id=str(value.get("id") or category_id),
            name=str(value.get("name", "")),
            cardinality=str(value.get("cardinality") or "MULTIPLE"),
            associable_types=tuple(value.get("associable_types") or ()),
            description=str(value.get("description") or ""),
        )

    def categories(self) -> list[Category]:
        return [self.category(i) for i in self.category_ids()]

    def tag_ids(self) -> list[str]:
        return [str(i) for i in self._call("GET", TAG_PATH) or []]

    def tag_ids_of(self, category_id: str) -> list[str]:
        path = f"{TAG_PATH}/{_by_id(category_id)}?~action=list-tags-for-category"
        return [str(i) for i in self._call("POST", path) or []]

    def tag(self, tag_id: str, category: Category | None = None) -> Tag:
        value = self._call("GET", f"{TAG_PATH}/{_by_id(tag_id)}") or {}
        category_id = str(value.get("category_id", ""))
        if category is None or category.id != category_id:
            category = self.category(category_id)
        return Tag(
            id=str(value.get("id") or tag_id),
            name=str(value.get("name", "")),
            category_id=category_id,
            category=category.name,
            description=str(value.get("description") or ""),
        )

    def find_category(self, name: str, *, looking_for: str = "") -> Category:
        """The category of that name (names are unique in a vCenter)."""
        seen = []
        for category_id in self.category_ids():
            category = self.category(category_id)
            if category.name == name:
                return category
            seen.append(category.name)
        raise NotFound(
            f"{looking_for}{'n' if looking_for else 'N'}o tag category {name!r} in {self.where}; "
            f"it has {', '.join(repr(n) for n in sorted(seen)) or 'no tag categories'}.",
            hint="Check the category's name (names are case-sensitive).",
        )

    def find_tag(self, category: str, name: str) -> Tag:
        """The tag ``name`` of the category named ``category``."""
        found = self.find_category(category, looking_for=f"Tag {category}/{name}: ")
        seen = []
        for tag_id in self.tag_ids_of(found.id):
            tag = self.tag(tag_id, found)
            if tag.name == name:
                return tag
            seen.append(tag.name)
        raise NotFound(
            f"Tag {category}/{name}: no tag {name!r} in category {category!r} of {self.where}; "
            f"it has {', '.join(repr(n) for n in sorted(seen)) or 'no tags'}.",
            hint="Check the tag's name (names are case-sensitive).",
        )

    def attached(self, tag: Tag) -> list[tuple[str, str]]:
        """Every object carrying the tag as (type, moref id), in one call."""
        path = f"{ASSOCIATION_PATH}/{_by_id(tag.id)}?~action=list-attached-objects"
        return [
            (str(obj.get("type", "")), str(obj.get("id", "")))
            for obj in self._call("POST", path, body={}) or []
        ]

    def attached_ids(self, tag: Tag, obj_type: str) -> set[str]:
        """The moref ids of the objects of ``obj_type`` (``HostSystem``, ``VirtualMachine``)
        that carry the tag."""
        return {moref for kind, moref in self.attached(tag) if kind == obj_type}

    def tagged(self, category: str, name: str, obj_type: str) -> set[str]:
        """The moref ids of the objects of ``obj_type`` carrying the tag ``category/name``."""
        return self.attached_ids(self.find_tag(category, name), obj_type)

    # -- changes (for tests and the lab) ----------------------------------------------------
    def attach(self, tag: Tag, moref: str, obj_type: str) -> None:
        path = f"{ASSOCIATION_PATH}/{_by_id(tag.id)}?~action=attach"
        self._call("POST", path, body={"object_id": {"id": moref, "type": obj_type}})

    def detach(self, tag: Tag, moref: str, obj_type: str) -> None:
        path = f"{ASSOCIATION_PATH}/{_by_id(tag.id)}?~action=detach"
        self._call("POST", path, body={"object_id": {"id": moref, "type": obj_type}})

    def ensure_category(
        self,
        name: str,
        associable_types: Iterable[str] = (),
        cardinality: str = "MULTIPLE",
        description: str = "",
    ) -> Category:
        """The category of that name, created if missing (empty associable types: any)."""
        with contextlib.suppress(NotFound):
            return self.find_category(name)
        spec = {
            "name": name,
            "description": description,
            "cardinality": cardinality,
            "associable_types": list(associable_types),
        }
        category_id = self._call("POST", CATEGORY_PATH, body={"create_spec": spec})
        return Category(
            str(category_id), name, cardinality, tuple(spec["associable_types"]), description
        )

    def ensure_tag(self, category: Category, name: str, description: str = "") -> Tag:
        """The tag of that name in the category, created if missing."""
        for tag_id in self.tag_ids_of(category.id):
            tag = self.tag(tag_id, category)
            if tag.name == name:
                return tag
        spec = {"name": name, "description": description, "category_id": category.id}
        tag_id = self._call("POST", TAG_PATH, body={"create_spec": spec})
        return Tag(str(tag_id), name, category.id, category.name, description)

    # -- transport --------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        login: bool = False,
    ) -> Any:
        """One request; returns the answer's ``value``."""
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json"}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if self._session is not None:
            all_headers[SESSION_HEADER] = self._session
        all_headers.update(headers or {})
        request = urllib.request.Request(  # noqa: S310 - always https://<vCenter>/rest/...
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        self.calls += 1
        try:
            with self._opener.open(request, timeout=self.params.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with contextlib.closing(exc):
                self._raise_status(exc.code, exc.read(), method, path, login)
        except urllib.error.URLError as exc:
            self._raise_unreachable(exc.reason)
        except OSError as exc:
            self._raise_unreachable(exc)
        if not raw.strip():
            return None
        try:
            doc = json.loads(raw)
        except ValueError:
            raise VmreplError(
                f"{self.where} answered {method} {path.partition('?')[0]} with something that is "
                "not JSON."
            ) from None
        return doc.get("value") if isinstance(doc, dict) else doc

    def _raise_unreachable(self, reason: Any) -> NoReturn:
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise ConnectionFailed(
                f"{self.where}: the TLS certificate could not be verified "
                f"({reason.verify_message}).",
                hint="Give the CA that signed it in ca_file (validate_certs false only in a lab).",
            )
        raise ConnectionFailed(
            f"Cannot reach the Automation API (tags) of {self.where}: {reason}.",
            hint="Check the hostname and port and that the controller can reach them.",
        )

    def _raise_status(
        self, status: int, raw: bytes, method: str, path: str, login: bool
    ) -> NoReturn:
        message = _error_message(raw)
        where = f"{method} {path.partition('?')[0]}"
        if status == 401 and login:
            raise AuthenticationFailed(
                f"{self.where} refused the login of user {self.params.username!r} to its "
                "Automation API (tags).",
                hint=(
                    "Check the vCenter username and password (vmrepl_vcenter_username and "
                    "vmrepl_vcenter_password in the inventory or its vault; the VMWARE_* "
                    "variables in a playbook of your own)."
                ),
            )
        if status == 401:
            raise AuthenticationFailed(
                f"{self.where} no longer accepts the tagging session ({where}).",
                hint="Run again; if it persists, check the vCenter's session timeout.",
            )
        if status == 404 and login:
            raise ConnectionFailed(
                f"{self.where} does not serve the vSphere Automation API at /rest, which tags "
                "need.",
                hint="Choose hosts and VMs by tag through a vCenter (6.5 or later), not an ESXi "
                "host; or choose them by cluster, folder or custom attribute.",
            )
        if status == 403:
            raise VmreplError(
                f"{self.where} refused {where}: {message}",
                hint=f"Give user {self.params.username!r} the privilege to read tags.",
            )
        if status == 404:
            raise NotFound(f"{self.where}: {where} not found: {message}")
        raise VmreplError(f"{self.where} refused {where} (HTTP {status}): {message}")


def _error_message(raw: bytes) -> str:
    """The server's message from a vAPI error (``{"type", "value": {"messages"}}``), else the
    start of the answer."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:200] or "no details"
    if not isinstance(doc, dict):
        return text[:200]
    value = doc.get("value") if isinstance(doc.get("value"), dict) else {}
    messages = [
        str(m.get("default_message", "")) if isinstance(m, dict) else str(m)
        for m in (value or {}).get("messages") or []
    ]
    kind = str(doc.get("type", "")).rsplit(".", 1)[-1]
    return "; ".join(m for m in messages if m) or kind or text[:200]
