"""The loopback moto server keeps connections open between requests (HTTP/1.1 keep-alive), as AWS's endpoints do.

Werkzeug's development server, which moto's ``ThreadedMotoServer`` runs, ends every response with
``Connection: close``, so a Lambda handler's SDK opens a new TCP connection (and the server a new thread) for every
call: a few milliseconds of each S3 GET or PUT. This handler keeps the connection when it is safe to: the response is
framed (Content-Length, chunked, or a HEAD / 204 / 304 without a body) and the request body was read to its end (what
the app left unread is drained first). Otherwise it closes the connection, as werkzeug always does.

After each response werkzeug also reads whatever else the client sent, assuming the connection is closing; on a
kept connection that would swallow the next request, so the read it makes directly on the socket's stream answers
"nothing more" then.
"""
from __future__ import annotations

import socket

from werkzeug.wsgi import LimitedStream

from . import require

_servers = []


class _NextRequestGuard:
    """The connection's input stream as werkzeug's handler sees it: reads find nothing while the connection is being
    kept (the request body itself is read through its own LimitedStream), so the next request stays unread."""

    def __init__(self, raw, keeping):
        self.raw, self._keeping = raw, keeping

    def read(self, size=-1):
        return b"" if self._keeping() else self.raw.read(size)

    def __getattr__(self, name):
        return getattr(self.raw, name)


def _handler_class(base):
    class KeepAliveHandler(base):
        """moto's request handler, without werkzeug's ``Connection: close`` where keep-alive is safe."""

        lambdalab_keepalive = True  # no idle timeout: a worker's connections end with its process
        # Headers and body go out in separate writes; on a kept connection Nagle's algorithm would hold the body
        # back until the client's delayed ACK of the headers (40 ms). The SDK's side already sets TCP_NODELAY.
        disable_nagle_algorithm = True

        def make_environ(self):
            environ = super().make_environ()
            length = environ.get("CONTENT_LENGTH")
            self._unframed = environ.get("wsgi.input_terminated", False)  # a chunked request body
            if length and not self._unframed:
                self._body = LimitedStream(self.rfile, int(length))
                environ["wsgi.input"] = self._body
            self.rfile = _NextRequestGuard(self.rfile, self._keep)
            return environ

        def send_response(self, code, message=None):
            self._framed = code in (204, 304) or 100 <= code < 200 or self.command == "HEAD"
            super().send_response(code, message)

        def send_error(self, code, message=None, explain=None):
            self._unframed = True  # a request the server could not read: close after answering, as http.server does
            super().send_error(code, message, explain)

        def send_header(self, keyword, value):
            name = keyword.lower()
            if name in ("content-length", "transfer-encoding"):
                self._framed = True
            if name == "connection" and value.lower() == "close" and self._keep():
                return  # werkzeug's blanket close
            super().send_header(keyword, value)

        def _keep(self) -> bool:
            return (self._framed and not self._unframed and self.request_version == "HTTP/1.1"
                    and self.headers.get("Connection", "").lower() != "close")

        def handle_one_request(self):
            self._body, self._framed, self._unframed = None, False, False
            try:
                super().handle_one_request()
            finally:
                if isinstance(self.rfile, _NextRequestGuard):
                    self.rfile = self.rfile.raw
            if not self.close_connection and self._body is not None:
                try:
                    self._body.exhaust()  # what the app did not read must not be taken for the next request
                except (OSError, socket.timeout, ValueError):
                    self.close_connection = True

    return KeepAliveHandler


def apply(server=None) -> None:
    if server is None or getattr(server._server.RequestHandlerClass, "lambdalab_keepalive", False):
        return
    server._server.RequestHandlerClass = _handler_class(server._server.RequestHandlerClass)
    _servers.append(server)


def verify() -> None:
    for server in _servers:
        require(getattr(server._server.RequestHandlerClass, "lambdalab_keepalive", False), __name__,
                "the loopback moto server's request handler does not keep connections alive")
        require(_two_requests_on_one_connection(server), __name__,
                "the loopback moto server closed the connection after one request")


def _two_requests_on_one_connection(server) -> bool:
    """Send two HEAD requests over one socket; True when both are answered."""
    import http.client

    host, port = server.get_host_and_port()
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        for _ in range(2):
            connection.request("HEAD", "/lambdalab-keepalive-check", headers={"Host": f"{host}:{port}"})
            response = connection.getresponse()
            response.read()
            if response.will_close:
                return False
        return connection.sock is not None
    finally:
        connection.close()
