"""``python -m vmrepl.lab.zvm``: run one simulated ZVM until SIGTERM or SIGINT.

Secrets come from the environment only: ``VMREPL_ZVM_PASSWORD`` (the ZVM user's password),
``VMREPL_VCENTER_PASSWORD`` and, optionally, ``VMREPL_ZVM_CLIENT_SECRET`` (the secret of the
``client_credentials`` client; the ZVM password when unset) and ``VMREPL_ZVM_LICENSE_KEY`` (the
licence key it accepts; a random one when unset). Once connected to vCenter, with its API and
pairing ports reserved, it prints one JSON line on stdout: ``{"url": "https://127.0.0.1:PORT",
"pid": N, "site_identifier": "...", "pairing_port": N}``. It answers on those ports only while
its appliance VM runs (see ``boot.py``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from vmrepl.lab.zvm.config import SimulatorConfig, VCenterConfig
from vmrepl.lab.zvm.runner import ZvmSimulator


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen wants HOST:PORT, not {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m vmrepl.lab.zvm", description="A simulated Zerto Virtual Manager."
    )
    parser.add_argument("--site-name", required=True)
    parser.add_argument("--listen", type=_listen, default=("127.0.0.1", 0), help="HOST:PORT")
    parser.add_argument(
        "--pairing-port", type=int, default=0, help="port of the peer endpoints (0: any free)"
    )
    parser.add_argument(
        "--boot-seconds",
        type=float,
        default=3.0,
        help="seconds the appliance VM runs before the ZVM answers",
    )
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate (without it: plain HTTP)")
    parser.add_argument("--tls-key", type=Path)
    parser.add_argument("--ca-file", type=Path, help="CA bundle for the peer sites' HTTPS")
    parser.add_argument("--vcenter-url", required=True, help="https://HOST:PORT/sdk")
    parser.add_argument("--vcenter-user", required=True)
    parser.add_argument("--vcenter-ca-file", type=Path)
    parser.add_argument("--username", default="admin", help="the ZVM user")
    parser.add_argument("--client-id", default="zerto-api", help="client_credentials client")
    parser.add_argument("--location", default="vmrepl lab")
    parser.add_argument("--task-seconds", type=float, default=2.0)
    parser.add_argument("--token-lifetime", type=int, default=3600, help="seconds")
    parser.add_argument("--session-idle-seconds", type=int, default=1800)
    parser.add_argument(
        "--history-time-scale",
        type=float,
        default=60.0,
        help="simulated journal-history seconds per real second",
    )
    parser.add_argument("--checkpoint-seconds", type=float, default=5.0)
    parser.add_argument("--settings-ttl", type=float, default=1800.0, help="seconds")
    parser.add_argument("--pairing-token-seconds", type=float, default=48 * 3600.0)
    parser.add_argument("--heartbeat-seconds", type=float, default=0.5)
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace, environ: dict[str, str]) -> SimulatorConfig:
    missing = [n for n in ("VMREPL_ZVM_PASSWORD", "VMREPL_VCENTER_PASSWORD") if not environ.get(n)]
    if missing:
        raise SystemExit(f"error: set {' and '.join(missing)} in the environment")
    host, port = args.listen
    key = environ.get("VMREPL_ZVM_LICENSE_KEY")
    config = SimulatorConfig(
        site_name=args.site_name,
        vcenter=VCenterConfig(
            url=args.vcenter_url,
            username=args.vcenter_user,
            password=environ["VMREPL_VCENTER_PASSWORD"],
            ca_file=args.vcenter_ca_file,
        ),
        username=args.username,
        password=environ["VMREPL_ZVM_PASSWORD"],
        listen_host=host,
        listen_port=port,
        pairing_port=args.pairing_port,
        boot_seconds=args.boot_seconds,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        ca_file=args.ca_file,
        task_seconds=args.task_seconds,
        token_lifetime=args.token_lifetime,
        session_idle_seconds=args.session_idle_seconds,
        client_id=args.client_id,
        client_secret=environ.get("VMREPL_ZVM_CLIENT_SECRET") or None,
        location=args.location,
        history_time_scale=args.history_time_scale,
        checkpoint_seconds=args.checkpoint_seconds,
        settings_ttl_seconds=args.settings_ttl,
        pairing_token_seconds=args.pairing_token_seconds,
        heartbeat_seconds=args.heartbeat_seconds,
    )
    if key:
        config.license_key = key
    return config


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = config_from(args, dict(os.environ))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        zvm = ZvmSimulator(config).start()
    except Exception as exc:
        logging.getLogger("vmrepl.lab.zvm").error("cannot start: %s", exc)
        return 1
    ready = {
        "url": zvm.url,
        "pid": os.getpid(),
        "site_identifier": zvm.site_identifier,
        "pairing_port": zvm.pairing_port,
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        zvm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
