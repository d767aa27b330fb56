"""moto's backends are not thread-safe: concurrent UpdateItem ADD calls from several Lambda environments lose updates
(real DynamoDB does not). Serialise the loopback server's requests; each takes about a millisecond."""
from __future__ import annotations

import threading

from . import require

_servers = []


def apply(server=None) -> None:
    if server is None or getattr(server._server.app, "_lambdalab_serialised", False):
        return
    app, lock = server._server.app, threading.Lock()

    def serialised(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    serialised._lambdalab_serialised = True
    server._server.app = serialised
    _servers.append(server)


def verify() -> None:
    for server in _servers:
        require(getattr(server._server.app, "_lambdalab_serialised", False), __name__,
                "the loopback moto server's WSGI app is not serialised")
