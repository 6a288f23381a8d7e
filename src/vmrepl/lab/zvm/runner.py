"""Run a simulator: in this process on background threads (tests), or as the
``python -m vmrepl.lab.zvm`` process the lab starts (see ``__main__.py``).

Starting connects to vCenter and reserves the API and pairing ports; the ZVM answers on them
only while its appliance VM runs (``boot.py``)."""

from __future__ import annotations

import threading
from types import TracebackType

from vmrepl.lab.zvm.app import Simulator
from vmrepl.lab.zvm.boot import Boot, BootWatcher
from vmrepl.lab.zvm.config import SimulatorConfig
from vmrepl.lab.zvm.http.server import Listener


class ZvmSimulator:
    """A simulator serving HTTPS on background threads once its appliance boots::

    with ZvmSimulator(config).start() as zvm:
        ...  # deploy and power on the appliance VM, then
        zvm.wait_answering(30)
        requests.get(zvm.url + "/v1/localsite", ...)
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.simulator = Simulator(config)
        self._listeners: list[Listener] = []
        self._watcher: BootWatcher | None = None
        self._answering = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.simulator.url

    @property
    def pairing_url(self) -> str:
        return self.simulator.pairing_url

    @property
    def pairing_port(self) -> int:
        return self._listeners[1].port

    @property
    def site_identifier(self) -> str:
        return self.simulator.site_identifier

    @property
    def answering(self) -> bool:
        return self._answering.is_set()

    def wait_answering(self, timeout: float) -> bool:
        return self._answering.wait(timeout)

    def start(self) -> ZvmSimulator:
        """Connect to vCenter, reserve the ports, and watch for the appliance."""
        config = self.config
        self.simulator.open()
        try:
            for port, kind in ((config.listen_port, "api"), (config.pairing_port, "pairing")):
                self._listeners.append(
                    Listener(
                        (config.listen_host, port),
                        self.simulator,
                        config.tls_cert,
                        config.tls_key,
                        kind,
                    )
                )
        except Exception:
            self._close_listeners()
            self.simulator.close()
            raise
        self.simulator.url = self._listeners[0].url
        self.simulator.pairing_url = self._listeners[1].url
        self.simulator.start_background()
        self._watcher = BootWatcher(
            self.simulator.backend,
            config.listen_host,
            config.boot_seconds,
            config.appliance_poll_seconds,
            self._boot,
            self._shutdown,
        )
        self._watcher.start()
        return self

    def _boot(self, boot: Boot) -> None:
        with self._lock:
            self.simulator.boot_password = boot.admin_password
            for listener in self._listeners:
                listener.open()
            self.simulator.answering = True
            self._answering.set()

    def _shutdown(self) -> None:
        with self._lock:
            self._answering.clear()
            self.simulator.answering = False
            for listener in self._listeners:
                listener.close()

    def _close_listeners(self) -> None:
        for listener in self._listeners:
            listener.close(reserve=False)
        self._listeners = []

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        with self._lock:
            self._answering.clear()
            self._close_listeners()
        self.simulator.close()

    def __enter__(self) -> ZvmSimulator:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
