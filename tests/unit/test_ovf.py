"""The pure parts of the OVF import: descriptor, manifest, package, which files go where."""

from __future__ import annotations

import hashlib
import importlib.util
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    TaskFailed,
    TaskTimeout,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.ovf import (
    OvfPackage,
    check_href,
    check_properties,
    files_to_upload,
    looks_secret,
    mask_properties,
    nfc_url,
    parse_manifest,
    parse_ovf,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until

REPO = Path(__file__).resolve().parents[2]
APPLIANCE = REPO / "src" / "vmrepl" / "lab" / "assets" / "appliance"
OVF = APPLIANCE / "zvm-appliance.ovf"


def _builder():
    spec = importlib.util.spec_from_file_location("appliance_build", APPLIANCE / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _envelope(body: str) -> str:
    return (
        '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
        'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">' + body + "</Envelope>"
    )


# -- the committed stand-in appliance ---------------------------------------------------------
def test_committed_appliance_is_what_the_builder_makes():
    assert _builder().main(["--check", "--out", str(APPLIANCE)]) == 0


def test_stand_in_disk_is_a_small_stream_optimized_vmdk():
    disk = (APPLIANCE / "zvm-appliance-disk1.vmdk").read_bytes()
    assert disk[:4] == b"KDMV"
    assert b'createType="streamOptimized"' in disk[512:2048]
    assert len(disk) < 200 * 1024
    assert disk[-512:] == b"\0" * 512  # end-of-stream marker


def test_parse_the_stand_in_descriptor():
    descriptor = parse_ovf(OVF.read_text())
    assert descriptor.name == "zvm-appliance"
    assert [(f.id, f.href) for f in descriptor.files] == [("file1", "zvm-appliance-disk1.vmdk")]
    assert descriptor.files[0].size == (APPLIANCE / "zvm-appliance-disk1.vmdk").stat().st_size
    assert descriptor.networks == ("Management",)
    keys = [p.key for p in descriptor.properties]
    assert {"ip_address", "netmask", "gateway", "hostname", "admin_password"} <= set(keys)
    assert descriptor.password_keys == {"admin_password"}


# -- descriptor and manifest --------------------------------------------------------------------
def test_property_keys_are_qualified_by_class_and_instance():
    text = _envelope(
        '<VirtualSystem ovf:id="x">'
        '<ProductSection ovf:class="vami" ovf:instance="zvm">'
        '<Property ovf:key="ip0" ovf:type="string"/>'
        '<Property ovf:key="root_pw" ovf:type="string" ovf:password="true"/>'
        "</ProductSection>"
        '<ProductSection><Property ovf:key="plain" ovf:type="int" ovf:value="3"/></ProductSection>'
        "</VirtualSystem>"
    )
    descriptor = parse_ovf(text)
    assert [(p.key, p.type, p.default) for p in descriptor.properties] == [
        ("vami.ip0.zvm", "string", None),
        ("vami.root_pw.zvm", "string", None),
        ("plain", "int", "3"),
    ]
    assert descriptor.password_keys == {"vami.root_pw.zvm"}


@pytest.mark.parametrize(
    "text", ["not xml", "<Envelope/>", '<x xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>']
)
def test_not_a_descriptor_is_refused(text):
    with pytest.raises(ConfigurationError):
        parse_ovf(text)


def test_parse_manifest():
    text = "SHA256(a.ovf)= ABCDEF01\nSHA1(disk 1.vmdk)=0123\ngarbage line\nMD5(x)= 00\n"
    assert parse_manifest(text) == {
        "a.ovf": ("sha256", "abcdef01"),
        "disk 1.vmdk": ("sha1", "0123"),
    }


@pytest.mark.parametrize("href", ["disk1.vmdk", "./disk1.vmdk", "sub/disk1.vmdk"])
def test_check_href_accepts_files_inside_the_package(href):
    assert check_href(href) in {"disk1.vmdk", "sub/disk1.vmdk"}


@pytest.mark.parametrize("href", ["", "/etc/passwd", "../secret", "a/../../b", "http://x/disk"])
def test_check_href_refuses_files_outside_the_package(href):
    with pytest.raises(ConfigurationError):
        check_href(href)


# -- properties ---------------------------------------------------------------------------------
def test_unknown_properties_are_refused_without_their_values():
    descriptor = parse_ovf(OVF.read_text())
    check_properties(descriptor, {"ip_address": "10.0.0.1", "admin_password": "x"})
    with pytest.raises(ConfigurationError) as raised:
        check_properties(descriptor, {"ipaddr": "10.9.9.9", "adminpw": "Hunter2-secret"})
    message = str(raised.value)
    assert "adminpw" in message and "ipaddr" in message and "ip_address" in message
    assert "Hunter2-secret" not in message and "10.9.9.9" not in message


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("admin_password", True),
        ("vami.root_pwd", True),
        ("RootPasswd", True),
        ("api_token", True),
        ("client_secret", True),
        ("private_key", True),
        ("ip_address", False),
        ("hostname", False),
    ],
)
def test_looks_secret(key, secret):
    assert looks_secret(key) is secret


def test_mask_properties_hides_declared_and_credential_like_keys():
    shown = mask_properties(
        {"ip_address": "10.0.0.5", "admin_password": "a", "root_pw": "b", "api_token": "c"},
        secret_keys={"root_pw"},
    )
    assert shown == {
        "admin_password": "********",
        "api_token": "********",
        "ip_address": "10.0.0.5",
        "root_pw": "********",
    }


# -- which files go where -------------------------------------------------------------------------
def _item(device_id, path, size=10, create=True):
    return SimpleNamespace(deviceId=device_id, path=path, size=size, create=create)


def _url(import_key, url, disk=True):
    return SimpleNamespace(importKey=import_key, url=url, disk=disk)


def test_nfc_url_substitutes_the_star_host():
    url = "https://*/nfc/52a1/disk-0.vmdk"
    assert nfc_url(url, "127.0.0.1", 8989) == "https://127.0.0.1:8989/nfc/52a1/disk-0.vmdk"
    assert nfc_url(url, "::1", 443) == "https://[::1]:443/nfc/52a1/disk-0.vmdk"
    real = "https://esx01.example.com/nfc/52a1/disk-0.vmdk"
    assert nfc_url(real, "vc.example.com", 443) == real


def test_files_to_upload_pairs_file_items_with_device_urls():
    items = [
        _item("/zvma/VirtualLsiLogicController0:0", "disk1.vmdk", 100),
        _item("/zvma/VirtualCdrom0:0", "tools.iso", 7, create=False),
    ]
    urls = [
        _url("/zvma/VirtualCdrom0:0", "https://*/nfc/l1/_deviceImage0.iso", disk=False),
        _url("/zvma/VirtualLsiLogicController0:0", "https://*/nfc/l1/disk-0.vmdk"),
        _url("/zvma/unused", "https://*/nfc/l1/nvram"),
    ]
    uploads = files_to_upload(items, urls, "vc", 443)
    assert [(u.href, u.url, u.size, u.disk, u.create) for u in uploads] == [
        ("disk1.vmdk", "https://vc:443/nfc/l1/disk-0.vmdk", 100, True, True),
        ("tools.iso", "https://vc:443/nfc/l1/_deviceImage0.iso", 7, False, False),
    ]


def test_files_to_upload_refuses_a_file_without_an_url():
    with pytest.raises(TaskFailed, match=r"no upload URL for disk1\.vmdk"):
        files_to_upload([_item("/zvma/disk:0", "disk1.vmdk")], [], "vc", 443)


def test_files_to_upload_refuses_a_path_outside_the_package():
    with pytest.raises(ConfigurationError):
        files_to_upload(
            [_item("/z/d:0", "../../etc/shadow")], [_url("/z/d:0", "https://*/nfc/x/d")], "vc", 1
        )


def test_files_to_upload_with_nothing_to_upload():
    assert files_to_upload([], [_url("/z/d:0", "https://*/nfc/x/d")], "vc", 443) == []


# -- packages -------------------------------------------------------------------------------
def test_ovf_package_from_a_folder():
    with OvfPackage(OVF) as package:
        assert package.descriptor_name == "zvm-appliance.ovf"
        assert set(package.manifest) == {"zvm-appliance.ovf", "zvm-appliance-disk1.vmdk"}
        disk = package.read("zvm-appliance-disk1.vmdk")
        assert package.size("zvm-appliance-disk1.vmdk") == len(disk)
        hasher = package.hasher("zvm-appliance-disk1.vmdk")
        hasher.update(disk)
        package.verify("zvm-appliance-disk1.vmdk", hasher)


def test_ova_package(tmp_path):
    builder = _builder()
    ova = tmp_path / "zvma.ova"
    builder.write_ova(builder.build(), ova)
    with tarfile.open(ova) as tar:
        assert tar.getnames()[0] == "zvm-appliance.ovf"
    with OvfPackage(ova) as package:
        assert package.descriptor.name == "zvm-appliance"
        with package.open("zvm-appliance-disk1.vmdk") as stream:
            data = stream.read()
        assert data == (APPLIANCE / "zvm-appliance-disk1.vmdk").read_bytes()
        assert package.manifest["zvm-appliance-disk1.vmdk"][1] == hashlib.sha256(data).hexdigest()


def _copy_package(tmp_path: Path) -> Path:
    for name in ("zvm-appliance.ovf", "zvm-appliance.mf", "zvm-appliance-disk1.vmdk"):
        (tmp_path / name).write_bytes((APPLIANCE / name).read_bytes())
    return tmp_path / "zvm-appliance.ovf"


def test_a_file_that_does_not_match_the_manifest_is_refused(tmp_path):
    ovf = _copy_package(tmp_path)
    disk = tmp_path / "zvm-appliance-disk1.vmdk"
    data = bytearray(disk.read_bytes())
    data[600] ^= 0xFF
    disk.write_bytes(bytes(data))
    with (
        OvfPackage(ovf) as package,
        pytest.raises(ConfigurationError, match="does not match its manifest"),
    ):
        package.verify("zvm-appliance-disk1.vmdk", bytes(data))
    # An edited descriptor is refused when the package is opened.
    ovf.write_text(ovf.read_text().replace("vmrepl lab</Vendor>", "someone</Vendor>"))
    with pytest.raises(ConfigurationError, match="does not match its manifest"):
        OvfPackage(ovf)


def test_a_missing_referenced_file_is_refused(tmp_path):
    ovf = _copy_package(tmp_path)
    (tmp_path / "zvm-appliance-disk1.vmdk").unlink()
    with pytest.raises(ConfigurationError, match="is not in"):
        OvfPackage(ovf)


def test_a_compressed_reference_is_refused(tmp_path):
    ovf = tmp_path / "x.ovf"
    ovf.write_text(
        _envelope(
            '<References><File ovf:href="d.vmdk.gz" ovf:id="f" ovf:compression="gzip"/>'
            "</References>"
        )
    )
    with pytest.raises(ConfigurationError, match="compressed"):
        OvfPackage(ovf)


def test_no_package_at_the_path(tmp_path):
    with pytest.raises(ConfigurationError, match="No OVF or OVA"):
        OvfPackage(tmp_path / "missing.ova")


def test_a_tar_without_a_descriptor_is_refused(tmp_path):
    ova = tmp_path / "empty.ova"
    with tarfile.open(ova, "w") as tar:
        tar.add(APPLIANCE / "zvm-appliance.mf", arcname="zvm-appliance.mf")
    with pytest.raises(ConfigurationError, match=r"without an \.ovf"):
        OvfPackage(ova)


# -- waiting --------------------------------------------------------------------------------------
def test_poll_until_returns_the_first_value():
    answers = iter([None, None, "10.0.0.5"])
    found = poll_until(lambda: next(answers), timeout=5, interval=0, timeout_error=None)
    assert found == "10.0.0.5"


def test_poll_until_raises_the_given_error_on_timeout():
    calls = []

    def never():
        calls.append(1)

    with pytest.raises(TaskTimeout, match="no address"):
        poll_until(never, timeout=0, interval=0, timeout_error=lambda: TaskTimeout("no address"))
    assert calls == [1]


def test_vcenter_faults_become_typed_errors():
    from ansible_collections.vmrepl.core.plugins.module_utils.appliance import (
        OvfVmSpec,
        ensure_ovf_vm,
    )
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import VmreplError
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import vim

    class Refusing:
        def find_by_name(self, *args):
            raise vim.fault.NoPermission(msg="Permission to perform this operation was denied.")

    spec = OvfVmSpec(name="zvma", datacenter="DC0", properties={"admin_password": "s3cr3t-x"})
    with pytest.raises(VmreplError, match="refused an operation for VM zvma") as raised:
        ensure_ovf_vm(Refusing(), spec)
    assert "Permission to perform this operation was denied" in str(raised.value)
    assert "NoPermission" in str(raised.value)
    assert "s3cr3t-x" not in str(raised.value) and "s3cr3t-x" not in repr(spec)
