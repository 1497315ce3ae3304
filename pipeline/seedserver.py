"""A local HTTP server for feed files, so demos and tests exercise the real fetch path.

It answers conditional GETs (ETag and Last-Modified) with 304 like a real feed host.
"""

from __future__ import annotations

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FeedFileHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        ".xml": "application/xml", ".rss": "application/rss+xml",
        ".atom": "application/atom+xml", ".json": "application/feed+json", "": "application/octet-stream",
    }

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = Path(self.translate_path(self.path))
        if path.is_file():
            etag = '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:20] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._etag = etag
        super().do_GET()

    def end_headers(self):
        if etag := getattr(self, "_etag", None):
            self.send_header("ETag", etag)
        super().end_headers()

    def log_message(self, format, *args):  # quiet: the fetch rows are the log
        pass


def serve_directory(directory: Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``directory`` on 127.0.0.1 from a background thread; return (server, base URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(FeedFileHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
