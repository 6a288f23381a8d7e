"""Run a simulator: in this process on a thread (tests), or as the ``python -m vmrepl.lab.zvm``
process the lab starts (see ``__main__.py``)."""

from __future__ import annotations

import threading
from types import TracebackType

from vmrepl.lab.zvm.app import Simulator
from vmrepl.lab.zvm.config import SimulatorConfig
from vmrepl.lab.zvm.server import ApiServer


class ZvmSimulator:
    """A simulator serving HTTPS on a background thread::

    with ZvmSimulator(config).start() as zvm:
        requests.get(zvm.url + "/v1/localsite", ...)
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.simulator = Simulator(config)
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.simulator.url

    @property
    def site_identifier(self) -> str:
        return self.simulator.site_identifier

    def start(self) -> ZvmSimulator:
        """Connect to vCenter, listen, and serve until :meth:`stop`."""
        self.simulator.open()
        try:
            server = ApiServer(
                (self.config.listen_host, self.config.listen_port),
                self.simulator,
                self.config.tls_cert,
                self.config.tls_key,
            )
        except Exception:
            self.simulator.close()
            raise
        self._server = server
        self.simulator.url = server.url
        self.simulator.start_background()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="zvm-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
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
