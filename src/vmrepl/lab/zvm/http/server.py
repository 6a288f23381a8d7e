"""HTTP(S) transport: a ThreadingHTTPServer whose handler turns each request into a
:class:`~vmrepl.lab.zvm.http.routing.Request` for the simulator and writes its response back.

TLS handshakes happen in the per-connection thread, so a slow client cannot stall accept().
Connections are kept alive (HTTP/1.1, every response has a Content-Length).

A :class:`Listener` is one port of the simulator (the API port or the pairing port) through
the appliance's life: *reserved* (bound, not listening: connections are refused at once, and
the port number is known), *open* (listening and serving), and back to reserved when the
appliance goes down (the listening socket closed, open connections dropped, the port bound
again).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from vmrepl.lab.zvm.http.routing import Request, Response

LOG = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024
HANDSHAKE_TIMEOUT = 30.0
#: a kept-alive connection is closed after this many idle seconds
IDLE_TIMEOUT = 300.0


class Application(Protocol):
    """What a listener serves: the simulator's request pipeline (``app.Simulator``)."""

    def handle(self, request: Request) -> Response: ...


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        simulator: Application,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        *,
        listener: str = "api",
        bind_and_activate: bool = True,
    ) -> None:
        self.simulator = simulator
        #: which of the simulator's ports this is: "api" or "pairing"
        self.listener = listener
        self.tls: ssl.SSLContext | None = None
        if tls_cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(str(tls_cert), str(tls_key) if tls_key else None)
            self.tls = context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler, bind_and_activate=bind_and_activate)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host!s}:{port}"

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = self.socket.accept()
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        with self._connections_lock:
            self._connections.add(conn)
        return conn, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut every open (kept-alive) connection: their handler threads end on the error."""
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                LOG.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
        request.settimeout(IDLE_TIMEOUT)
        super().finish_request(request, client_address)


class Listener:
    """One port of the simulator: reserved from the start, served while the appliance runs."""

    def __init__(
        self,
        address: tuple[str, int],
        simulator: Application,
        tls_cert: Path | None,
        tls_key: Path | None,
        kind: str,
    ) -> None:
        self._args = (simulator, tls_cert, tls_key)
        self.kind = kind
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._server = self._reserve(address)
        self.address: tuple[str, int] = self._server.server_address[:2]  # type: ignore[assignment]
        self.url = self._server.url

    def _reserve(self, address: tuple[str, int]) -> ApiServer:
        simulator, cert, key = self._args
        server = ApiServer(
            address, simulator, cert, key, listener=self.kind, bind_and_activate=False
        )
        try:
            server.server_bind()
        except BaseException:
            server.server_close()
            raise
        return server

    @property
    def port(self) -> int:
        return int(self.address[1])

    @property
    def serving(self) -> bool:
        return self._thread is not None

    def open(self) -> None:
        """Listen and serve (on the reserved port)."""
        with self._lock:
            if self._thread is not None:
                return
            self._server.server_activate()
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"zvm-{self.kind}",
                daemon=True,
            )
            self._thread.start()

    def close(self, *, reserve: bool = True) -> None:
        """Stop serving: no more accepts, open connections cut, and (unless ``reserve`` is
        false) the port bound again without listening."""
        with self._lock:
            server, thread = self._server, self._thread
            if thread is not None:
                server.shutdown()
                thread.join(timeout=10)
                self._thread = None
            server.server_close()
            server.drop_connections()
            if reserve:
                self._server = self._reserve(self.address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    #: and the client's delayed ACK would add ~40 ms to every response
    disable_nagle_algorithm = True
    server_version = "ZVM-lab-simulator"
    sys_version = ""
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        request = Request.build(self.command, self.path, self.headers, body)
        request.listener = self.server.listener
        response = self.server.simulator.handle(request)
        payload = response.encoded()
        self.send_response(response.status)
        if response.has_body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve
