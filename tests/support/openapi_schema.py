"""A small validator of request bodies against the vendored ZVM OpenAPI document.

It knows what the ZVM contract needs and no more: ``$ref`` resolution, property names compared
case-insensitively (live JSON is PascalCase, the schema camelCase, the server binds either),
unknown properties where ``additionalProperties`` is false, JSON types, ``nullable`` and
``enum``. A property that is a ``$ref`` to an object also accepts null: the ZVM's own settings
objects carry ``"PostBackup": null`` and the like. The few properties that a real ZVM sends
but the exported document leaves out are accepted where :data:`LIVE_EXTRAS` says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCHEMA_FILE = (
    Path(__file__).resolve().parents[2] / "src/vmrepl/lab/zvm/openapi/zvm-10.0u6-openapi.json"
)

#: ``{schema name: {lower-case property: schema}}``: what a live ZVM carries beyond the export.
#: The vendored settings example (a real dump, which a client GETs, edits and PUTs back) has
#: ``Vms[].Volumes[].IsSwap``.
LIVE_EXTRAS: dict[str, dict[str, dict[str, Any]]] = {
    "Zerto.Zvm.Api.Interfaces.VpgSettings.VpgSettingsVmVolumeApi": {
        "isswap": {"type": "boolean", "nullable": True},
    },
}

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class OpenApiSchema:
    """The operations and component schemas of one OpenAPI 3 document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.paths: Mapping[str, Any] = document["paths"]

    @classmethod
    def load(cls, path: Path = SCHEMA_FILE) -> OpenApiSchema:
        return cls(json.loads(path.read_text()))

    # -- operations ---------------------------------------------------------------------------
    def operation(self, method: str, path: str) -> tuple[str, Mapping[str, Any]] | None:
        """``(template, operation)`` for a concrete path (without the query), or None.

        Literal segments must match exactly; among several templates that fit, the one with the
        most literal segments wins (``/v1/vras/clusters`` before ``/v1/vras/{vraIdentifier}``).
        """
        segments = path.strip("/").split("/")
        best: tuple[int, str, Mapping[str, Any]] | None = None
        for template, operations in self.paths.items():
            parts = template.strip("/").split("/")
            if len(parts) != len(segments):
                continue
            literal = 0
            for part, segment in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}"):
                    if not segment:
                        break
                elif part != segment:
                    break
                else:
                    literal += 1
            else:
                op = operations.get(method.lower())
                if op is not None and (best is None or literal > best[0]):
                    best = (literal, template, op)
        return None if best is None else (best[1], best[2])

    def request_schema(self, operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
        content = (operation.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json")
        return None if media is None else media.get("schema", {})

    def response_schema(self, operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
        ok = (operation.get("responses") or {}).get("200") or {}
        media = (ok.get("content") or {}).get("application/json")
        return None if media is None else self.resolve(media.get("schema", {}))

    def query_parameters(self, operation: Mapping[str, Any]) -> set[str]:
        return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}

    def validate_request(
        self,
        method: str,
        path: str,
        body: Any,
        query: Mapping[str, Any] | None = None,
        has_body: bool | None = None,
    ) -> list[str]:
        """Every way ``method path?query`` with ``body`` departs from the document."""
        found = self.operation(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in the OpenAPI document"]
        template, operation = found
        where = f"{method} {template}"
        errors = []
        known = {name.lower() for name in self.query_parameters(operation)}
        for name in query or {}:
            if name.lower() not in known:
                errors.append(f"{where}: unknown query parameter {name!r}")
        schema = self.request_schema(operation)
        sent = body is not None if has_body is None else has_body
        if schema is None:
            if sent:
                errors.append(f"{where}: takes no request body, but one was sent")
            return errors
        if not sent:
            errors.append(f"{where}: expects a request body, none was sent")
            return errors
        return errors + self.validate(schema, body, f"{where} body")

    # -- values -------------------------------------------------------------------------------
    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._resolve(schema)[1]

    def _resolve(self, schema: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
        """``(name of the last schema referenced or None, the schema)``."""
        seen = set()
        name = None
        while "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen or not ref.startswith("#/"):
                raise ValueError(f"cannot resolve {ref}")
            seen.add(ref)
            node: Any = self.document
            for part in ref[2:].split("/"):
                node = node[part]
            schema, name = node, ref.rsplit("/", 1)[-1]
        return name, schema

    def validate(self, schema: Mapping[str, Any], value: Any, where: str = "value") -> list[str]:
        """Errors of ``value`` against ``schema`` (empty when it fits)."""
        is_ref = "$ref" in schema
        name, schema = self._resolve(schema)
        if value is None:
            if schema.get("nullable") or (is_ref and schema.get("type", "object") == "object"):
                return []
            return [f"{where}: null is not allowed"]
        expected = schema.get("type")
        if expected is None and "properties" in schema:
            expected = "object"
        if expected is not None:
            types = _TYPES.get(expected)
            ok = types is not None and isinstance(value, types)
            if expected in ("integer", "number") and isinstance(value, bool):
                ok = False
            if not ok:
                return [f"{where}: expected {expected}, got {type(value).__name__} {value!r:.60}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} is not one of {schema['enum']}"]
        if isinstance(value, list) and "items" in schema:
            errors: list[str] = []
            for index, item in enumerate(value):
                errors += self.validate(schema["items"], item, f"{where}[{index}]")
            return errors
        if isinstance(value, dict):
            return self._validate_object(schema, value, where, LIVE_EXTRAS.get(name or "", {}))
        return []

    def _validate_object(
        self,
        schema: Mapping[str, Any],
        value: Mapping[str, Any],
        where: str,
        extras: Mapping[str, Mapping[str, Any]],
    ) -> list[str]:
        properties = {n.lower(): (n, sub) for n, sub in schema.get("properties", {}).items()}
        properties.update({n: (n, sub) for n, sub in extras.items() if n not in properties})
        additional = schema.get("additionalProperties", True)
        errors: list[str] = []
        seen: dict[str, str] = {}
        for key, item in value.items():
            lowered = str(key).lower()
            if lowered in seen:
                errors.append(f"{where}: {key!r} given twice (also as {seen[lowered]!r})")
                continue
            seen[lowered] = key
            if lowered in properties:
                errors += self.validate(properties[lowered][1], item, f"{where}.{key}")
            elif additional is False:
                names = ", ".join(name for name, _ in properties.values())
                errors.append(f"{where}: unknown property {key!r} (known: {names})")
            elif isinstance(additional, Mapping):
                errors += self.validate(additional, item, f"{where}.{key}")
        for name in schema.get("required", []):
            if name.lower() not in seen:
                errors.append(f"{where}: missing required property {name!r}")
        return errors
