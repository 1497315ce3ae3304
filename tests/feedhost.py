"""A local HTTP server that misbehaves like real feed hosts, for fetch tests."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import FIXTURES

GUARDIAN = (FIXTURES / "rssparser__guardian.rss").read_bytes()


class MisbehavingFeedHost(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        route = getattr(self, "route_" + self.path.strip("/").replace("-", "_").replace(".", "_"), None)
        if route is None:
            return self._send(404, b"not found")
        route()

    def _send(self, status: int, body: bytes = b"", **headers: str):
        self.send_response(status)
        headers.setdefault("Content-Type", "application/rss+xml; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_guardian_rss(self):
        if self.headers.get("If-None-Match") == '"v1"':
            return self._send(304, ETag='"v1"')
        self._send(200, GUARDIAN, ETag='"v1"')

    def route_server_error(self):
        self._send(500, b"Internal Server Error", Content_Type="text/plain")

    def route_gone(self):
        self._send(410, b"Gone", Content_Type="text/plain")

    def route_redirect_loop(self):
        self._send(302, Location="/redirect-loop")

    def route_moved(self):
        self._send(301, Location="/guardian.rss")

    def route_rate_limited(self):
        self._send(429, b"slow down", Retry_After="600", Content_Type="text/plain")

    def route_huge(self):
        self._send(200, b"<rss>" + b" " * (3 * 1024 * 1024) + b"</rss>")

    def route_gzip_bomb(self):
        self._send(200, gzip.compress(b"\0" * (50 * 1024 * 1024)), Content_Encoding="gzip")

    def route_slow_drip(self):
        # Each byte arrives well within the read timeout; the whole body never does.
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(1000):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.1)

    def log_message(self, format, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hanging up on the bomb and the drip are the point


def start_feed_host() -> tuple[ThreadingHTTPServer, str]:
    server = QuietServer(("127.0.0.1", 0), MisbehavingFeedHost)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
