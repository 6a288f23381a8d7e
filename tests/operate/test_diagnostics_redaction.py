"""The diagnostics archive's redaction, without a lab: secret-looking keys wherever they are,
each secret value wherever it appears, and no archive when a secret would be left."""

from __future__ import annotations

from typing import Any

from vmrepl.operate.diagnostics import REDACTED, redact


def test_secret_keys_are_blanked_at_any_depth() -> None:
    data: dict[str, Any] = {
        "Details": {"LicenseKey": "LIC-123", "MaxVms": 10},
        "hosts": [{"hostRootPassword": "pw1", "name": "h1"}],
        "auth": {"access_token": "t0k", "Authorization": "Bearer x", "refresh_token": None},
        "VmreplPassword": "",
    }
    out = redact(data, [])
    assert out["Details"] == {"LicenseKey": REDACTED, "MaxVms": 10}
    assert out["hosts"] == [{"hostRootPassword": REDACTED, "name": "h1"}]
    assert out["auth"] == {"access_token": REDACTED, "Authorization": REDACTED,
                           "refresh_token": None}  # fmt: skip
    assert out["VmreplPassword"] == ""  # nothing to hide


def test_secret_values_are_replaced_wherever_they_appear() -> None:
    data = {"msg": "login with s3cretpw failed", "list": ["LAB-KEY-1", 3, None], "n": 1.5}
    out = redact(data, ["s3cretpw", "LAB-KEY-1", "", "ab"])
    assert out == {"msg": f"login with {REDACTED} failed", "list": [REDACTED, 3, None], "n": 1.5}
    assert redact("the key LAB-KEY-1!", ["LAB-KEY-1"]) == f"the key {REDACTED}!"
