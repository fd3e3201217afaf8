"""A loopback HTTP server that replays recorded answers, for download tests without internet.

The server listens on 127.0.0.1 on a free port, in a daemon thread, and answers every request
with a route's payload. It records each request (method, path, query, body) so a test can
count what a client downloaded, e.g. that a second, cached fetch asked for nothing.

Routes map a path prefix to a handler ``handler(request) -> Reply``. :func:`overpass_routes`
builds Overpass's two endpoints: ``/api/interpreter`` (POST or GET; the answer may depend
on the query, so one server can play the roads and the features queries) and
``/api/status`` (the rate-limit page osmnx reads when its rate limiting is on).

Use it as a pytest fixture through :func:`replay_server`::

    from overpass_replay import replay_server  # noqa: F401  (the fixture)

    def test_x(replay_server):
        server = replay_server({"/api/": overpass_routes(lambda q: payload)})
        ... server.url + "/api" ...
        assert server.count("/api/interpreter") == 1
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

__all__ = [
    "ReplayServer",
    "Reply",
    "Request",
    "closed_port_url",
    "file_reply",
    "json_reply",
    "overpass_routes",
    "replay_server",
]


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        """The body parsed as a URL-encoded form (Overpass POSTs ``data=<query>``)."""
        return parse_qs(self.body.decode("utf-8", "replace"))

    @property
    def overpass_query(self) -> str:
        """The Overpass QL query of a POST body or GET ``data`` parameter."""
        values = self.form.get("data") or self.query.get("data") or [""]
        return values[0]


@dataclass(frozen=True)
class Reply:
    """An answer: status, content type and body."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


Handler = Callable[[Request], Reply]


def json_reply(payload: object, status: int = 200) -> Reply:
    """Return a JSON reply."""
    return Reply(status=status, body=json.dumps(payload).encode("utf-8"))


def file_reply(path: Path, content_type: str = "application/octet-stream") -> Handler:
    """Return a handler that serves a file's bytes (read once)."""
    data = Path(path).read_bytes()
    return lambda _request: Reply(body=data, content_type=content_type)


#: What an idle Overpass server's /api/status page says (osmnx reads the fifth line).
STATUS_PAGE = (
    "Connected as: 2130706433\n"
    "Current time: 2024-10-06T03:30:00Z\n"
    "Announced endpoint: none\n"
    "Rate limit: 2\n"
    "2 slots available now.\n"
    "Currently running queries (pid, space limit, time limit, start time):\n"
)


def overpass_routes(answer: Callable[[str], Reply | bytes | dict]) -> Handler:
    """Return a handler for the Overpass API below some base path.

    Parameters
    ----------
    answer
        Called with the Overpass QL query of each ``interpreter`` request; returns a
        :class:`Reply`, raw JSON bytes or a dict to serialise.
    """

    def handle(request: Request) -> Reply:
        if request.path.endswith("/status"):
            return Reply(body=STATUS_PAGE.encode(), content_type="text/plain")
        if request.path.endswith("/interpreter"):
            out = answer(request.overpass_query)
            if isinstance(out, Reply):
                return out
            if isinstance(out, bytes):
                return Reply(body=out)
            return json_reply(out)
        return Reply(status=404, body=b"not found", content_type="text/plain")

    return handle


@dataclass
class ReplayServer:
    """A running replay server."""

    routes: dict[str, Handler]
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>``."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, prefix: str = "/") -> int:
        """Return how many requests asked for a path starting with ``prefix``."""
        return sum(r.path.startswith(prefix) for r in self.requests)

    def start(self) -> ReplayServer:
        """Start serving in a daemon thread."""
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, parsed.path, parse_qs(parsed.query), body)
                owner.requests.append(request)
                reply = owner._route(request)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = _serve  # noqa: N815 - http.server's naming
            do_POST = _serve  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest's output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _route(self, request: Request) -> Reply:
        for prefix in sorted(self.routes, key=len, reverse=True):
            if request.path.startswith(prefix):
                try:
                    return self.routes[prefix](request)
                except Exception as exc:  # a broken fixture should fail loudly, not hang
                    return Reply(500, f"replay handler failed: {exc!r}".encode(), "text/plain")
        return Reply(status=404, body=b"no route", content_type="text/plain")


@pytest.fixture
def replay_server() -> Iterator[Callable[[dict[str, Handler]], ReplayServer]]:
    """Start loopback replay servers for a test; stop them after it."""
    servers: list[ReplayServer] = []

    def start(routes: dict[str, Handler]) -> ReplayServer:
        server = ReplayServer(routes=dict(routes)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def closed_port_url() -> str:
    """Return a loopback URL on which nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
