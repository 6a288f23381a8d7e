"""HTTP(S) transport: a ThreadingHTTPServer whose handler turns each request into a
:class:`~vmrepl.lab.zvm.routing.Request` for the simulator and writes its response back.

TLS handshakes happen in the per-connection thread, so a slow client cannot stall accept().
Connections are kept alive (HTTP/1.1, every response has a Content-Length).
"""

from __future__ import annotations

import logging
import socket
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from vmrepl.lab.zvm.app import Simulator
from vmrepl.lab.zvm.routing import Request

LOG = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024
HANDSHAKE_TIMEOUT = 30.0
#: a kept-alive connection is closed after this many idle seconds
IDLE_TIMEOUT = 300.0


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        simulator: Simulator,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
    ) -> None:
        self.simulator = simulator
        self.tls: ssl.SSLContext | None = None
        if tls_cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(str(tls_cert), str(tls_key) if tls_key else None)
            self.tls = context
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host!s}:{port}"

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = self.socket.accept()
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

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
