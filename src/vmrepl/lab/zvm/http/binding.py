"""Request binding: read JSON request bodies case-insensitively, with typed, range-checked
getters that answer 400 ``{"Message": ...}`` the way the appliance does, and canonicalise
whole objects (VPG settings) to the PascalCase names of the schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.http.openapi import Validator

#: Schemas whose JSON keys stay as the document prints them (resource links are lower-case).
VERBATIM_SCHEMAS = frozenset(
    {"Zerto.Api.Interfaces.ResourceLink", "Zerto.Zvm.Api.Interfaces.Vms.VmResourceLink"}
)


def pascal(name: str) -> str:
    """``vraIPAddress`` → ``VraIPAddress``: the live JSON name of a schema property."""
    return name[:1].upper() + name[1:]


class Fields:
    """One JSON object of a request, its keys compared case-insensitively."""

    def __init__(self, data: Any, where: str = "") -> None:
        if data is not None and not isinstance(data, dict):
            raise BadRequest(f"{where or 'The request body'} must be a JSON object.")
        self.where = where
        self._data: dict[str, tuple[str, Any]] = {
            str(key).lower(): (str(key), value) for key, value in (data or {}).items()
        }

    def _label(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def raw(self, name: str) -> Any:
        item = self._data.get(name.lower())
        return None if item is None else item[1]

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None or (isinstance(value, str) and not value.strip() and required):
            if required:
                raise BadRequest(f"{self._label(name)} is required.")
            return default
        if not isinstance(value, str):
            raise BadRequest(f"{self._label(name)} must be a string.")
        return value

    def require_text(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        default: int | None = None,
        low: int | None = None,
        high: int | None = None,
    ) -> int | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise BadRequest(f"{self._label(name)} is required.")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise BadRequest(f"{self._label(name)} must be a whole number.")
        number = int(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise BadRequest(f"{self._label(name)} must be between {low} and {high}, not {number}.")
        return number

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise BadRequest(f"{self._label(name)} must be true or false.")
        return value

    def enum(self, name: str, names: Sequence[str], default: int | None = None) -> int | None:
        """An enum value sent as its number or (case-insensitively) its name."""
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return value
        if isinstance(value, str):
            lowered = [n.lower() for n in names]
            if value.lower() in lowered:
                return lowered.index(value.lower())
        choices = ", ".join(f"{i} ({n})" for i, n in enumerate(names))
        raise BadRequest(f"{self._label(name)} must be one of {choices}, not {value!r}.")

    def choice(self, name: str, names: Sequence[str], default: int) -> int:
        """:meth:`enum` with a default: always a value."""
        value = self.enum(name, names, default)
        return default if value is None else value

    def obj(self, name: str) -> Fields:
        return Fields(self.raw(name), self._label(name))

    def array(self, name: str) -> list[Any]:
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadRequest(f"{self._label(name)} must be an array.")
        return value

    def texts(self, name: str) -> list[str]:
        values = self.array(name)
        if not all(isinstance(v, str) for v in values):
            raise BadRequest(f"{self._label(name)} must be an array of strings.")
        return [str(v) for v in values]


class Canonicalizer:
    """Rewrites a request object to the schema's property names in PascalCase, dropping
    properties the schema does not know (the contract recorder reports those)."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator

    def bind(self, instance: Any, schema: str) -> Any:
        """:meth:`canonical` after checking the values' types and ranges against the schema
        (400 when they do not fit, as the appliance's model binding answers; unknown
        properties are dropped, not refused)."""
        ref = {"$ref": "#/components/schemas/" + self._full(schema)}
        problems = [
            str(v)
            for v in self.validator.validate(instance, ref)
            if "unknown property" not in v.message
        ]
        if problems:
            raise BadRequest("The request is invalid: " + "; ".join(problems[:5]))
        return self.canonical(instance, ref)

    def canonical(self, instance: Any, schema: Mapping[str, Any] | str) -> Any:
        if isinstance(schema, str):
            schema = {"$ref": "#/components/schemas/" + self._full(schema)}
        name, target = self.validator.resolve(schema)
        if instance is None:
            return None
        if target.get("type") == "array":
            if not isinstance(instance, list):
                raise BadRequest("Expected an array.")
            items = target.get("items", {})
            return [self.canonical(item, items) for item in instance]
        if target.get("type") == "object" and "properties" in target:
            if not isinstance(instance, dict):
                raise BadRequest(f"Expected an object for {_short(name)}.")
            verbatim = name in VERBATIM_SCHEMAS
            given = {str(k).lower(): v for k, v in instance.items()}
            result: dict[str, Any] = {}
            for prop, sub in target["properties"].items():
                if prop.lower() in given:
                    key = prop if verbatim else pascal(prop)
                    result[key] = self.canonical(given[prop.lower()], sub)
            return result
        return instance

    def _full(self, name: str) -> str:
        if name in self.validator.schemas:
            return name
        return next(k for k in self.validator.schemas if k.rsplit(".", 1)[-1] == name)


def _short(name: str | None) -> str:
    return name.rsplit(".", 1)[-1] if name else "the object"
