"""The benchmarks' feed farm: N feed URLs over the repo's real feed files, with ETags.

Each URL is a distinct path onto one of the files in ``tests/fixtures/`` and
``seeds/feeds/`` (read where they are, never copied), round-robin so every size appears
throughout; a matching ``If-None-Match`` gets 304.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FEED_DIRS = (REPO / "tests" / "fixtures", REPO / "seeds" / "feeds")
CONTENT_TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def feed_files() -> list[Path]:
    files = [p for d in FEED_DIRS for p in sorted(d.iterdir()) if p.suffix in CONTENT_TYPES]
    if not files:
        raise SystemExit(f"no feed files found under {', '.join(map(str, FEED_DIRS))}")
    return files


def feed_paths(n: int) -> list[tuple[str, Path]]:
    """N URL paths, round-robin over the files."""
    files = feed_files()
    return [(f"/feeds/{i:04d}/{files[i % len(files)].name}", files[i % len(files)]) for i in range(n)]


def feed_handler(n: int) -> type[BaseHTTPRequestHandler]:
    """A request handler serving the N feeds (HTTP/1.0: one connection per request, as when
    every feed lives on a different host, so no client gains from keep-alive)."""
    routes = {}
    for path, file in feed_paths(n):
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(path.encode() + b"\0" + body).hexdigest()[:20] + '"'
        routes[path] = (body, CONTENT_TYPES[file.suffix], etag)

    class FeedFarmHandler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            route = routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            body, content_type, etag = route
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    return FeedFarmHandler


class ServerProcess:
    """A benchmark's feed server in a child process (``script --serve ARGS``): it prints its
    port on its first line and exits when our end of its stdin closes (also if we die)."""

    def __init__(self, script: str, *args: str):
        self.proc = subprocess.Popen([sys.executable, script, "--serve", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise SystemExit("the feed server did not start")
        self.port = int(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(timeout=5)
