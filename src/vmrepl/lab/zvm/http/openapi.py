"""The contract: validate JSON bodies against the vendored ZVM 10.0 U6 OpenAPI document.

The document (``openapi/zvm-10.0u6-openapi.json``) is exported from a real ZVM Appliance. This
module finds the operation of a request (method and path template) and checks a request or
response body against its schema:

- ``$ref`` is resolved (``#/components/schemas/...``);
- property names are compared case-insensitively (live JSON is PascalCase, the document prints
  camelCase, and the server binds request keys case-insensitively);
- ``type``, integer ``format`` ranges (int32/int64), ``date-time`` strings, ``enum`` (integer
  enums accept only their listed values), ``required`` and ``items`` are checked;
- ``nullable`` is respected: ``null`` is accepted where the schema says ``nullable: true`` and
  for properties that reference an *object* schema (.NET reference types: the real appliance
  returns ``null`` for them, e.g. ``"LongTermRetention": null`` in the vendored settings
  example), and refused for booleans, numbers and integer enums that are not nullable;
- properties the schema does not know are reported (the document's objects all say
  ``additionalProperties: false``), except the few identifiers listed in :data:`LIVE_EXTRAS`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "openapi" / "zvm-10.0u6-openapi.json"
_REF_PREFIX = "#/components/schemas/"

#: ``{schema name: {lower-case property name: its schema}}``
Extras = Mapping[str, Mapping[str, Mapping[str, Any]]]

_ID: Mapping[str, Any] = {"type": "string", "nullable": True}

#: Properties that the live API returns but the 10.0 U6 export leaves out of the schema. The
#: export keeps the object identifiers only as ``Link.identifier``, while ``GET /v1/localsite``
#: answers ``SiteIdentifier``, ``GET /v1/vpgs`` ``VpgIdentifier``, and so on; the vendored
#: settings example (a real dump) carries ``Volumes[].IsSwap``. They are checked against the
#: schema given here, on these schemas only; anywhere else an unknown property is a violation.
LIVE_EXTRAS: Extras = {
    "Zerto.Zvm.Api.Interfaces.Sites.LocalSiteApi": {"siteidentifier": _ID},
    "Zerto.Zvm.Api.Interfaces.Sites.PeerSiteApi": {"siteidentifier": _ID},
    "Zerto.Zvm.Api.Interfaces.Vpgs.VpgApi": {"vpgidentifier": _ID},
    "Zerto.Zvm.Api.Interfaces.Vms.VmApi": {"vmidentifier": _ID, "vpgidentifier": _ID},
    "Zerto.Zvm.Api.Interfaces.Tasks.TaskApi": {"taskidentifier": _ID},
    "Zerto.Zvm.Api.Interfaces.Alerts.AlertApi": {"alertidentifier": _ID},
    "Zerto.Zvm.Api.Interfaces.VpgSettings.VpgSettingsVmVolumeApi": {
        "isswap": {"type": "boolean", "nullable": True}
    },
}

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_JSON_MEDIA = "application/json"
_FORM_MEDIA = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Violation:
    """One place where a body does not fit its schema."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(frozen=True)
class Operation:
    """One operation of the document: a method on a path template."""

    method: str
    template: str
    operation_id: str
    request_schema: dict[str, Any] | None
    request_media: str | None
    #: status code → JSON schema of the response body (None: the operation answers no body)
    responses: dict[int, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))

    def match(self, path: str) -> dict[str, str] | None:
        """The raw (still percent-encoded) path parameters if ``path`` fits the template."""
        parts = path.split("?", 1)[0].strip("/").split("/")
        template = self.segments
        if len(parts) != len(template):
            return None
        params: dict[str, str] = {}
        for want, got in zip(template, parts, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not got:
                    return None
                params[want[1:-1]] = got
            elif want.lower() != got.lower():
                return None
        return params

    @property
    def specificity(self) -> tuple[int, ...]:
        """Literal segments win over parameters, the leftmost first."""
        return tuple(0 if s.startswith("{") else 1 for s in self.segments)


class Validator:
    """Checks instances against the schemas of one OpenAPI document."""

    def __init__(self, document: Mapping[str, Any], extras: Extras | None = None) -> None:
        self.document = document
        self.schemas: Mapping[str, dict[str, Any]] = document.get("components", {}).get(
            "schemas", {}
        )
        self.extras = LIVE_EXTRAS if extras is None else extras

    # -- schemas ----------------------------------------------------------------------------
    def schema(self, name: str) -> dict[str, Any]:
        """A component schema by its full name or by the last part of it (``VpgApi``)."""
        if name in self.schemas:
            return self.schemas[name]
        matches = [key for key in self.schemas if key.rsplit(".", 1)[-1] == name]
        if len(matches) != 1:
            raise KeyError(f"no unique schema named {name!r} ({len(matches)} match)")
        return self.schemas[matches[0]]

    def ref_name(self, ref: str) -> str:
        if not ref.startswith(_REF_PREFIX):
            raise KeyError(f"unsupported $ref {ref!r}")
        name = ref[len(_REF_PREFIX) :]
        if name not in self.schemas:
            raise KeyError(f"$ref to a missing schema {name!r}")
        return name

    def resolve(self, schema: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
        """``(component name or None, schema)`` with ``$ref`` followed."""
        name = None
        seen = 0
        while "$ref" in schema:
            name = self.ref_name(schema["$ref"])
            schema = self.schemas[name]
            seen += 1
            if seen > 50:
                raise KeyError("$ref cycle")
        return name, schema

    # -- validation -------------------------------------------------------------------------
    def validate(
        self, instance: Any, schema: Mapping[str, Any], location: str = "$"
    ) -> list[Violation]:
        """Every violation of ``instance`` against ``schema`` (empty when it fits)."""
        errors: list[Violation] = []
        self._check(instance, schema, location, errors)
        return errors

    def validate_named(self, instance: Any, name: str, location: str = "$") -> list[Violation]:
        return self.validate(instance, {"$ref": _REF_PREFIX + self._full_name(name)}, location)

    def _full_name(self, name: str) -> str:
        if name in self.schemas:
            return name
        self.schema(name)
        return next(key for key in self.schemas if key.rsplit(".", 1)[-1] == name)

    def _check(
        self, instance: Any, schema: Mapping[str, Any], location: str, errors: list[Violation]
    ) -> None:
        is_ref = "$ref" in schema
        name, target = self.resolve(schema)
        if instance is None:
            reference_type = is_ref and target.get("type") == "object"
            if not (target.get("nullable") or schema.get("nullable") or reference_type):
                errors.append(Violation(location, "null is not allowed here"))
            return
        if "enum" in target:
            self._check_enum(instance, target, location, errors)
            return
        kind = target.get("type")
        if kind == "object" or (kind is None and "properties" in target):
            self._check_object(instance, name, target, location, errors)
        elif kind == "array":
            if not isinstance(instance, list):
                errors.append(Violation(location, f"expected an array, got {_kind(instance)}"))
                return
            items = target.get("items")
            if items is not None:
                for index, item in enumerate(instance):
                    self._check(item, items, f"{location}[{index}]", errors)
        elif kind == "string":
            if not isinstance(instance, str):
                errors.append(Violation(location, f"expected a string, got {_kind(instance)}"))
            elif target.get("format") == "date-time" and not _is_date_time(instance):
                errors.append(Violation(location, f"{instance!r} is not an ISO 8601 date-time"))
        elif kind == "integer":
            if not isinstance(instance, int) or isinstance(instance, bool):
                errors.append(Violation(location, f"expected an integer, got {_kind(instance)}"))
                return
            low, high = _INT_RANGES.get(str(target.get("format")), (None, None))
            if low is not None and high is not None and not low <= instance <= high:
                errors.append(
                    Violation(location, f"{instance} is outside the {target['format']} range")
                )
        elif kind == "number" and (
            not isinstance(instance, int | float) or isinstance(instance, bool)
        ):
            errors.append(Violation(location, f"expected a number, got {_kind(instance)}"))
        elif kind == "boolean" and not isinstance(instance, bool):
            errors.append(Violation(location, f"expected a boolean, got {_kind(instance)}"))

    def _check_enum(
        self, instance: Any, schema: Mapping[str, Any], location: str, errors: list[Violation]
    ) -> None:
        allowed = list(schema["enum"])
        if schema.get("type") == "integer" and (
            not isinstance(instance, int) or isinstance(instance, bool)
        ):
            errors.append(
                Violation(location, f"expected an integer enum value, got {_kind(instance)}")
            )
        elif instance not in allowed:
            low, high = min(allowed), max(allowed)
            errors.append(
                Violation(location, f"{instance!r} is not one of the enum values {low}..{high}")
            )

    def _check_object(
        self,
        instance: Any,
        name: str | None,
        schema: Mapping[str, Any],
        location: str,
        errors: list[Violation],
    ) -> None:
        if not isinstance(instance, dict):
            errors.append(Violation(location, f"expected an object, got {_kind(instance)}"))
            return
        properties: Mapping[str, Any] = schema.get("properties", {})
        by_lower = {key.lower(): (key, sub) for key, sub in properties.items()}
        extras = self.extras.get(name or "", {})
        additional = schema.get("additionalProperties", True)
        seen: dict[str, str] = {}
        for key, value in instance.items():
            lower = str(key).lower()
            where = f"{location}.{key}"
            if lower in seen:
                errors.append(
                    Violation(
                        where, f"duplicates property {seen[lower]!r} (names are case-insensitive)"
                    )
                )
                continue
            seen[lower] = key
            if lower in by_lower:
                self._check(value, by_lower[lower][1], where, errors)
            elif lower in extras:
                self._check(value, extras[lower], where, errors)
            elif additional is False:
                errors.append(
                    Violation(where, f"unknown property (not in {_short(name) or 'the schema'})")
                )
            elif isinstance(additional, dict):
                self._check(value, additional, where, errors)
        for required in schema.get("required", []):
            if required.lower() not in seen:
                errors.append(Violation(location, f"missing required property {required!r}"))


class OpenApiDocument:
    """The operations of the document and a :class:`Validator` for their bodies."""

    def __init__(self, document: Mapping[str, Any], extras: Extras | None = None) -> None:
        self.document = document
        self.validator = Validator(document, extras)
        self.operations: list[Operation] = list(_operations(document))
        self._by_method: dict[str, list[Operation]] = {}
        for operation in self.operations:
            self._by_method.setdefault(operation.method, []).append(operation)
        for ops in self._by_method.values():
            ops.sort(key=lambda op: op.specificity, reverse=True)

    @classmethod
    def load(cls, path: Path = SCHEMA_FILE) -> OpenApiDocument:
        return cls(json.loads(path.read_text()))

    def find(self, method: str, path: str) -> Operation | None:
        """The operation for a request, or None when the document has none."""
        for operation in self._by_method.get(method.upper(), []):
            if operation.match(path) is not None:
                return operation
        return None

    def methods_for(self, path: str) -> list[str]:
        """The methods the document declares for a path (any template that fits)."""
        return sorted({op.method for op in self.operations if op.match(path) is not None})

    def validate_request(self, operation: Operation, body: Any) -> list[Violation]:
        """Violations of a request body (``None``: no body was sent)."""
        if operation.request_schema is None:
            if body not in (None, {}, ""):
                return [Violation("$", f"{operation.key} takes no request body")]
            return []
        if body is None:
            return []
        return self.validator.validate(body, operation.request_schema)

    def validate_response(self, operation: Operation, status: int, body: Any) -> list[Violation]:
        """Violations of a response body for a status the operation declares.

        A 2xx status the operation does not declare is a violation; other undeclared statuses
        (errors) are not checked, since the document describes almost none of them.
        """
        if status not in operation.responses:
            if 200 <= status < 300:
                return [Violation("$", f"{operation.key} does not declare status {status}")]
            return []
        schema = operation.responses[status]
        if schema is None:
            if body is not None:
                return [Violation("$", f"{operation.key} answers {status} with no body")]
            return []
        if body is None:
            return [Violation("$", f"{operation.key} answers {status} with a body")]
        return self.validator.validate(body, schema)


def _operations(document: Mapping[str, Any]) -> Iterable[Operation]:
    for template, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            content = op.get("requestBody", {}).get("content", {})
            media = next((m for m in (_JSON_MEDIA, _FORM_MEDIA) if m in content), None)
            request = content[media].get("schema") if media else None
            responses: dict[int, dict[str, Any] | None] = {}
            for code, response in op.get("responses", {}).items():
                if not str(code).isdigit():
                    continue
                body = response.get("content", {}).get(_JSON_MEDIA)
                responses[int(code)] = body.get("schema") if body else None
            yield Operation(
                method=method.upper(),
                template=template,
                operation_id=str(op.get("operationId", "")),
                request_schema=request,
                request_media=media,
                responses=responses,
            )


@functools.lru_cache(maxsize=1)
def default_document() -> OpenApiDocument:
    """The vendored document, loaded once."""
    return OpenApiDocument.load()


def _is_date_time(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(name: str | None) -> str:
    return name.rsplit(".", 1)[-1] if name else ""
