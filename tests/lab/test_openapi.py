"""The contract validator itself (no lab needed): it must accept what fits the vendored
schema and reject what does not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vmrepl.lab.zvm.http.openapi import (
    SCHEMA_FILE,
    OpenApiDocument,
    Operation,
    Validator,
    default_document,
)

EXAMPLE = SCHEMA_FILE.parent / "vpg-settings-example.json"


@pytest.fixture(scope="module")
def doc() -> OpenApiDocument:
    return default_document()


def op(doc: OpenApiDocument, method: str, path: str) -> Operation:
    found = doc.find(method, path)
    assert found is not None, f"no operation for {method} {path}"
    return found


def messages(errors: list[Any]) -> str:
    return "\n".join(str(e) for e in errors)


def vpg(**overrides: Any) -> dict[str, Any]:
    body = {
        "VpgIdentifier": "v1",
        "VpgName": "web",
        "Status": 1,
        "SubStatus": 0,
        "ActualRPO": 4,
        "Priority": 1,
        "LastTest": None,
        "Link": {
            "href": "https://zvm/v1/vpgs/v1",
            "identifier": "v1",
            "rel": None,
            "type": "VpgApi",
        },
        "HistoryStatusApi": {
            "ActualHistoryInMinutes": 10,
            "ConfiguredHistoryInMinutes": 60,
            "EarliestCheckpoint": None,
        },
        "ThroughputInMB": 1.5,
    }
    body.update(overrides)
    return body


def test_the_real_settings_example_fits(doc: OpenApiDocument) -> None:
    example = json.loads(EXAMPLE.read_text())[0]
    assert doc.validator.validate_named(example, "VpgSettingsApi") == []


def test_a_fitting_vpg_passes_and_names_are_case_insensitive(doc: OpenApiDocument) -> None:
    assert doc.validator.validate_named(vpg(), "VpgApi") == []
    lower = {k.lower(): v for k, v in vpg().items()}
    assert doc.validator.validate_named(lower, "VpgApi") == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Surprise": 1}, "$.Surprise: unknown property"),
        ({"VpgName": 5}, "$.VpgName: expected a string"),
        ({"ActualRPO": "4"}, "$.ActualRPO: expected an integer"),
        ({"ActualRPO": True}, "$.ActualRPO: expected an integer"),
        ({"ActualRPO": 2**31}, "outside the int32 range"),
        ({"Status": 9}, "$.Status: 9 is not one of the enum values 0..8"),
        ({"Status": None}, "$.Status: null is not allowed"),
        ({"BackupEnabled": None}, "$.BackupEnabled: null is not allowed"),
        ({"ThroughputInMB": "fast"}, "$.ThroughputInMB: expected a number"),
        ({"LastTest": "yesterday"}, "is not an ISO 8601 date-time"),
        ({"Link": {"href": "x", "Extra": 1}}, "$.Link.Extra: unknown property"),
        ({"HistoryStatusApi": {"ActualHistoryInMinutes": "ten"}}, "ActualHistoryInMinutes"),
        ({"VpgName": "a", "vpgname": "b"}, "duplicates property"),
        ({"Link": []}, "$.Link: expected an object"),
    ],
)
def test_what_does_not_fit_is_reported(
    doc: OpenApiDocument, change: dict[str, Any], expected: str
) -> None:
    errors = doc.validator.validate_named(vpg(**change), "VpgApi")
    assert expected in messages(errors)


def test_nullable_rules(doc: OpenApiDocument) -> None:
    # a $ref to an object schema may be null (the real appliance sends such nulls)
    assert doc.validator.validate_named(vpg(HistoryStatusApi=None), "VpgApi") == []
    # nullable strings and arrays
    assert (
        doc.validator.validate_named({"Vms": None, "VpgIdentifier": None}, "VpgSettingsApi") == []
    )
    # items of arrays are checked
    errors = doc.validator.validate_named({"Vms": [{"VmIdentifier": 1}]}, "VpgSettingsApi")
    assert "$.Vms[0].VmIdentifier: expected a string" in messages(errors)


def test_live_extras_are_accepted_only_where_listed(doc: OpenApiDocument) -> None:
    site = {"SiteIdentifier": "s", "SiteName": "a", "IsReplicationToSelfEnabled": True}
    assert doc.validator.validate_named(site, "LocalSiteApi") == []
    strict = Validator(doc.document, extras={})
    assert "SiteIdentifier: unknown property" in messages(
        strict.validate_named(site, "LocalSiteApi")
    )
    # an extra still has a type
    assert "expected a string" in messages(
        doc.validator.validate_named({"SiteIdentifier": 3}, "LocalSiteApi")
    )
    # and is unknown elsewhere
    assert "unknown property" in messages(
        doc.validator.validate_named({"SiteIdentifier": "s"}, "VraApi")
    )


def test_required_properties() -> None:
    document = {
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                    "additionalProperties": False,
                }
            }
        }
    }
    validator = Validator(document)
    assert validator.validate_named({"Name": "x"}, "Thing") == []
    assert "missing required property 'name'" in messages(validator.validate_named({}, "Thing"))


def test_operations_are_found_by_path(doc: OpenApiDocument) -> None:
    assert op(doc, "GET", "/v1/vpgs/statuses").template == "/v1/vpgs/statuses"
    assert op(doc, "GET", "/v1/vpgs/abc").template == "/v1/vpgs/{vpgIdentifier}"
    assert op(doc, "POST", "/v1/vpgs/abc/moverollback").template.endswith("/moveRollback")
    assert doc.find("PATCH", "/v1/vpgs") is None
    assert doc.methods_for("/v1/vras/1") == ["DELETE", "GET", "PUT"]
    encoded = "/v1/virtualizationsites/s/hosts/u.%2Ftmp%2Fds"
    assert op(doc, "GET", encoded).template.endswith("/hosts/{hostIdentifier}")


def test_request_and_response_checks(doc: OpenApiDocument) -> None:
    failover = op(doc, "POST", "/v1/vpgs/v/Failover")
    assert doc.validate_request(failover, {"CommitPolicy": 1, "IsReverseProtection": True}) == []
    assert "enum values" in messages(doc.validate_request(failover, {"CommitPolicy": 3}))
    pause = op(doc, "POST", "/v1/vpgs/v/pause")
    assert doc.validate_request(pause, None) == []
    assert "takes no request body" in messages(doc.validate_request(pause, {"Now": True}))
    assert doc.validate_response(pause, 200, "task-id") == []
    assert "expected a string" in messages(doc.validate_response(pause, 200, {"Task": 1}))
    assert "does not declare status 201" in messages(doc.validate_response(pause, 201, "t"))
    assert doc.validate_response(pause, 400, {"Message": "no"}) == []  # errors are not described
    put = op(doc, "PUT", "/v1/vpgSettings/s/basic")
    assert doc.validate_response(put, 200, None) == []
    assert "with no body" in messages(doc.validate_response(put, 200, {"x": 1}))
    token = op(doc, "POST", "/auth/realms/zerto/protocol/openid-connect/token")
    assert token.request_media == "application/x-www-form-urlencoded"
    assert (
        doc.validate_request(token, {"grant_type": "password", "client_id": "zerto-client"}) == []
    )
