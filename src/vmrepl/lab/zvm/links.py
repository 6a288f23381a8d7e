"""Resource links: ``{"href", "identifier", "rel", "type"}``, the lower-case keys the API keeps."""

from __future__ import annotations

from typing import Any


def link(base_url: str, path: str, identifier: str | None, type_name: str) -> dict[str, Any]:
    """A link to ``<base_url>/v1/<path>/<identifier>``."""
    href = f"{base_url}/v1/{path}/{identifier}" if identifier else f"{base_url}/v1/{path}"
    return {"href": href, "identifier": identifier, "rel": None, "type": type_name}
