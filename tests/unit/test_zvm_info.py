"""zvm_info never returns the licence key: masked but for its last 4 characters, and kept out
of Ansible's output and logs. The module runs for real on a fake ZVM client."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import mask, masked
from ansible_collections.vmrepl.core.plugins.modules import zvm_info

KEY = "ZLK-4F2A-9C1B-77DE-ABCD"  # a made-up key, not a real licence


class FakeZvm:
    def license(self) -> dict[str, Any]:
        return {
            "Details": {"LicenseKey": KEY, "LicenseType": "Enterprise", "MaxVms": 50},
            "Usage": {"SitesUsage": [], "TotalVmsCount": 0},
        }

    def local_site(self) -> dict[str, Any]:
        return {"SiteIdentifier": "site-1", "SiteName": "source"}


def run_module(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, **args: Any):
    @contextlib.contextmanager
    def fake_client(_module: Any) -> Iterator[FakeZvm]:
        yield FakeZvm()

    monkeypatch.setattr(zvm_info, "zvm_client", fake_client)
    base = {"zvm_url": "https://zvm.example", "zvm_username": "admin", "zvm_password": "x"}
    with patch_module_args({**base, **args}), pytest.raises(SystemExit):
        zvm_info.main()
    out = capsys.readouterr().out
    return out, json.loads(out)


def test_the_licence_key_is_masked_in_the_result(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, result = run_module(capsys, monkeypatch, gather=["site", "license"])
    assert result["license"]["Details"]["LicenseKey"] == "********ABCD"
    assert result["license"]["Details"]["LicenseType"] == "Enterprise"
    assert result["site"]["SiteName"] == "source"
    assert KEY not in out


def test_mask_keeps_the_last_four_characters_of_long_values_only() -> None:
    assert mask(KEY) == "********ABCD"
    assert mask("ABCDEFGHIJK") == "********"  # too short to show any of it
    copy, secrets = masked([{"details": {"licenseKey": KEY}}, {"LicenseKey": None}])
    assert copy == [{"details": {"licenseKey": "********ABCD"}}, {"LicenseKey": None}]
    assert secrets == {KEY}
