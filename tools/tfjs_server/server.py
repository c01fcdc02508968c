"""The HTTP side: GET and HEAD of the site's table, CORS, nothing else."""

from __future__ import annotations

import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tfjs_server.site import Site

# Any origin may fetch the models: a web app under development on another
# port (webpack, vite) loads them from here.
_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "600",
}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "tfjs_model_server"
    sys_version = ""

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        for name, value in _CORS_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Models change with every build: the browser must ask again.
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        found = self.server.site.lookup(self.path)
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
            return
        content_type, content = found
        try:
            body = content.read_bytes() if isinstance(content, Path) else content
        except OSError:  # removed since the lookup: a rebuild is writing the model
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
            return
        self._send(HTTPStatus.OK, content_type, body)

    do_HEAD = do_GET

    def do_OPTIONS(self) -> None:
        self._send(HTTPStatus.NO_CONTENT, "text/plain; charset=utf-8", b"")

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: Site, verbose: bool) -> None:
        self.site = site
        self.verbose = verbose
        super().__init__(address, _Handler)


def make_server(site: Site, host: str, port: int, verbose: bool = True) -> ThreadingHTTPServer:
    """A server bound to host:port (0: any free port), not yet serving."""
    return _Server((host, port), site, verbose)
