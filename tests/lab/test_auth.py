"""Authentication: the appliance's Keycloak token endpoint and the Windows ZVM sessions."""

from __future__ import annotations

import base64
import time

import pytest

from tests.lab.conftest import BOOT_SECONDS, Site
from tests.lab.helpers import TOKEN_PATH, Zvm
from vmrepl.lab.zvm import SimulatorConfig, VCenterConfig, ZvmSimulator

pytestmark = pytest.mark.lab


def _form(zvm: Zvm, **data: str) -> tuple[int, dict[str, object]]:
    response = zvm.new_session().post(zvm.url + TOKEN_PATH, data=data)
    return response.status_code, response.json()


def test_password_grant_gives_a_bearer_token(site_a: Site) -> None:
    zvm = site_a.zvm
    token = zvm.token()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["refresh_token"]
    assert token["access_token"].count(".") == 2  # JWT-shaped
    session = zvm.new_session()
    session.headers["Authorization"] = "Bearer " + token["access_token"]
    site = session.get(zvm.url + "/v1/localsite").json()
    assert site["SiteIdentifier"] == zvm.site
    assert site["SiteName"] == "site-a"
    assert site["Version"].startswith("10.0.60")
    assert site["IsReplicationToSelfEnabled"] is True
    assert site["Link"]["identifier"] == zvm.site


def test_refresh_and_client_credentials_grants(site_a: Site) -> None:
    zvm = site_a.zvm
    status, refreshed = _form(
        zvm,
        grant_type="refresh_token",
        client_id="zerto-client",
        refresh_token=str(zvm.token()["refresh_token"]),
    )
    assert status == 200 and refreshed["access_token"]
    status, body = _form(
        zvm,
        grant_type="client_credentials",
        client_id="zerto-api",
        client_secret=site_a.zvm_password,
    )
    assert status == 200, body
    session = zvm.new_session()
    session.headers["Authorization"] = f"Bearer {body['access_token']}"
    assert session.get(zvm.url + "/v1/localsite").status_code == 200


def test_bad_credentials_and_missing_tokens_are_refused(site_a: Site) -> None:
    zvm = site_a.zvm
    status, body = _form(
        zvm, grant_type="password", client_id="zerto-client", username="admin", password="wrong"
    )
    assert (status, body["error"]) == (401, "invalid_grant")
    status, body = _form(
        zvm, grant_type="password", client_id="other", username="admin", password=zvm.password
    )
    assert status == 401
    status, body = _form(
        zvm, grant_type="client_credentials", client_id="zerto-api", client_secret="x"
    )
    assert status == 401
    anonymous = zvm.new_session()
    response = anonymous.get(zvm.url + "/v1/vpgs")
    assert response.status_code == 401
    assert response.json()["Message"]
    anonymous.headers["Authorization"] = "Bearer not-a-token"
    assert anonymous.get(zvm.url + "/v1/vpgs").status_code == 401


def test_windows_zvm_session(site_a: Site) -> None:
    zvm = site_a.zvm
    session = zvm.new_session()
    basic = base64.b64encode(f"{zvm.username}:{zvm.password}".encode()).decode()
    response = session.post(
        zvm.url + "/v1/session/add",
        json={"AuthenticationMethod": 1},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    token = response.headers["x-zerto-session"]
    session.headers["x-zerto-session"] = token
    assert session.get(zvm.url + "/v1/localsite").status_code == 200
    assert session.delete(zvm.url + "/v1/session").status_code == 200
    assert session.get(zvm.url + "/v1/localsite").status_code == 401
    wrong = base64.b64encode(f"{zvm.username}:nope".encode()).decode()
    response = zvm.new_session().post(
        zvm.url + "/v1/session/add",
        json={"AuthenticationMethod": 1},
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert response.status_code == 401


def test_expire_tokens_fault(site_a: Site) -> None:
    zvm = site_a.zvm
    session = zvm.new_session()
    session.headers["Authorization"] = "Bearer " + zvm.token()["access_token"]
    assert session.get(zvm.url + "/v1/localsite").status_code == 200
    zvm.faults(expire_tokens=True)
    assert session.get(zvm.url + "/v1/localsite").status_code == 401
    zvm.login()
    assert zvm.get("/v1/localsite")["SiteName"] == "site-a"


def test_tokens_expire_after_their_lifetime(site_a: Site, lab) -> None:
    """In-process simulator with a one-second token lifetime (on site A's vcsim)."""
    config = SimulatorConfig(
        site_name="short-lived",
        vcenter=VCenterConfig(
            site_a.vcsim.url, site_a.vcsim.username, site_a.vcenter_password, lab.certs.ca_file
        ),
        username="admin",
        password="lab-password",
        tls_cert=lab.certs.cert_file,
        tls_key=lab.certs.key_file,
        ca_file=lab.certs.ca_file,
        token_lifetime=1,
        boot_seconds=BOOT_SECONDS,
    )
    with ZvmSimulator(config).start() as sim:
        # it boots from site A's running appliance VM, with the password that VM was given
        assert sim.wait_answering(10)
        zvm = Zvm(sim.url, lab.certs.ca_file, "admin", site_a.zvm_password, sim.site_identifier)
        assert zvm.token()["expires_in"] == 1
        assert zvm.get("/v1/localsite")["SiteName"] == "short-lived"
        time.sleep(1.3)
        assert zvm.raw("GET", "/v1/localsite").status_code == 401
        zvm.login()
        assert zvm.get("/v1/localsite")["SiteIdentifier"] == sim.site_identifier
