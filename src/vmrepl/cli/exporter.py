"""``vmrepl exporter``: Prometheus metrics of every site of the inventory, read from the sites'
ZVMs on each scrape (``vmrepl.operate.exporter``)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

import click

from vmrepl.cli.direct import SiteOptions, inventory_options

DEFAULT_LISTEN = "127.0.0.1:9810"
log = logging.getLogger(__name__)


def _listen(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(
            f"{value!r}: give HOST:PORT, e.g. 127.0.0.1:9810 or 0.0.0.0:9810 (port 0: a free "
            "port, printed at start).",
            param_hint="'--listen'",
        )
    return host or "127.0.0.1", int(port)


@click.command()
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    callback=_listen,
    help="Where to serve /metrics, /probe?target=SITE and the landing page /.",
)
@inventory_options
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log on stderr (never a secret, at any level).",
)
def exporter(listen: tuple[str, int], sites: SiteOptions, log_level: str) -> None:
    """Serve Prometheus metrics of every site's ZVM (scrape /metrics, or /probe?target=SITE).

    Each scrape reads every site's ZVM with a fixed number of list calls (VPGs, VMs, VRAs,
    peers, alerts, licence), whatever the number of VPGs and VMs. A site whose ZVM cannot be
    read has vmrepl_zvm_up 0 and no other series. Secrets come from the inventory's vault or
    the environment (ZVM_PASSWORD ...); TLS to the ZVMs is verified (vmrepl_zvm_ca_file).
    SIGHUP reads the inventory and its vault again (a password rotated, a site added or gone);
    when they cannot be read, the sites read before stay served. Metric names and alerts:
    docs/monitoring.md."""
    from vmrepl.cli.direct import ReadRefused, load, vault_password
    from vmrepl.cli.execute import refuse
    from vmrepl.operate.sites import prepare_ansible

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # urllib3 logs request URLs at debug, never headers or bodies; keep it at info anyway.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, logging.getLogger().level))
    # Ansible's collection loader first: the clients (vmrepl.operate.exporter) come after it.
    prepare_ansible()
    try:
        password = vault_password(sites)
        readers = _readers(load(sites, password))
    except ReadRefused as exc:
        refuse(str(exc))

    from vmrepl.operate.exporter import ZvmCollector, make_server

    collector = ZvmCollector(readers)
    host, port = listen
    try:
        server = make_server(host, port, collector)
    except OSError as exc:
        refuse(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.")
    bound_host, bound_port = server.server_address[:2]
    click.echo(
        f"vmrepl exporter: serving http://{bound_host}:{bound_port}/metrics for "
        f"{_names(readers)} (/probe?target=SITE for one)",
        err=True,
    )
    reloading = threading.Lock()

    def reload() -> None:
        """The inventory and its vault read anew (a ZVM password rotated, a site added): the
        new sites from the next scrape on; when they cannot be read, the old ones stay."""
        if not reloading.acquire(blocking=False):
            return
        try:
            fresh = _readers(load(sites, password))
        except ReadRefused as exc:
            log.error("reload refused, still serving %s: %s", _names(collector.readers), exc)
            return
        except Exception as exc:  # unexpected: the exporter goes on with what it has
            log.error(
                "reload failed, still serving %s: %s", _names(collector.readers), type(exc).__name__
            )
            return
        finally:
            reloading.release()
        old = collector.replace(fresh)
        log.info("reloaded the inventory: serving %s", _names(fresh))
        # a scrape under way may still use them: closed once it has had its time
        closer = threading.Timer(30.0, _close, args=(old,))
        closer.daemon = True
        closer.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(
        signal.SIGHUP, lambda _s, _f: threading.Thread(target=reload, daemon=True).start()
    )
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        _close(collector.readers)
    sys.exit(0)


def _close(readers: list[Any]) -> None:
    for reader in readers:
        reader.close()


def _names(readers: list[Any]) -> str:
    return ", ".join(r.name for r in readers)


def _readers(loaded: list[Any]) -> list[Any]:
    """A reader of each site (``vmrepl.operate.exporter.SiteReader``); raises ReadRefused for a
    site whose connection is refused (a cleartext URL), before anything is read."""
    from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import VmreplError
    from vmrepl.cli.direct import ReadRefused
    from vmrepl.operate.exporter import SiteReader

    readers = []
    try:
        for site in loaded:
            readers.append(SiteReader(site))
    except VmreplError as exc:
        for reader in readers:
            reader.close()
        raise ReadRefused(str(exc)) from None
    for reader in readers:
        if not reader.client.params.validate_certs:
            log.warning(
                "site %s: the ZVM's certificate is not checked (validate_certs false)",
                reader.name,
            )
    return readers
