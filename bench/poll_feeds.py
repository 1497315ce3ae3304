"""Hand-run benchmark: Wiredesk's poll + parse + normalise path against a plain feedparser loop.

Not a test (pytest does not collect it). Run from the repo root:

    .venv/bin/python bench/poll_feeds.py                 # 500 feeds, 5 repeats per side
    .venv/bin/python bench/poll_feeds.py --feeds 100 --repeats 3

A local threaded HTTP server (a child process, 127.0.0.1 only) serves N feed URLs built
from the real feed files in ``tests/fixtures/`` and ``seeds/feeds/`` (the files are read,
never copied; each URL is a distinct path onto one of them). Feeds whose index falls in the
not-modified set answer 304 to a matching ``If-None-Match``.

Two sides, alternated repeat by repeat, each over the same N URLs in the same order:

* wiredesk: ``pipeline.fetch.poll_feed`` with one shared ``http_client()``, then
  ``pipeline.parse.parse_feed`` (parse + normalise + attribution) on every 200 body; the
  ETag of the not-modified feeds is known (taken from an unmeasured priming pass), so
  those polls come back 304 and are not parsed.
* baseline: ``feedparser.parse(url)`` for every URL, feedparser's own urllib fetcher,
  no conditional-GET state (a plain loop).

Every loop has a fixed count and the whole run stops by itself; the server process
is terminated at the end (and exits by itself if this process dies: it watches its stdin).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from feedfarm import REPO, ServerProcess, feed_handler, feed_paths



# ---------------------------------------------------------------- the feed set (shared by both processes)

def not_modified(i: int, fraction: float) -> bool:
    """Whether feed i is in the 304 set: an even spread of ``fraction`` of the indexes."""
    return int((i + 1) * fraction) > int(i * fraction)


# ---------------------------------------------------------------- the server (child process)

def serve(n: int) -> None:
    Handler = feed_handler(n)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # The parent closing our stdin (normally, or by dying) shuts the server down.
    threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


# ---------------------------------------------------------------- the two sides

@dataclass
class Run:
    seconds: float
    feeds: int
    entries: int
    not_modified: int = 0
    errors: int = 0
    parse_seconds: float = 0.0  # wiredesk only: time inside parse_feed


def run_wiredesk(feeds, client) -> Run:
    from pipeline.fetch import poll_feed
    from pipeline.parse import parse_feed

    entries = unmodified = errors = 0
    parse_seconds = 0.0
    start = time.perf_counter()
    for feed in feeds:
        fetch = poll_feed(feed, client)
        if fetch.outcome == "ok":
            t = time.perf_counter()
            parsed = parse_feed(fetch.body, feed.url, fetch.started_at, fetch.headers, feed.agency_hint)
            parse_seconds += time.perf_counter() - t
            entries += len(parsed.articles)
        elif fetch.outcome == "not_modified":
            unmodified += 1
        else:
            errors += 1
    return Run(time.perf_counter() - start, len(feeds), entries, unmodified, errors, parse_seconds)


def run_baseline(urls) -> Run:
    import feedparser

    entries = errors = 0
    start = time.perf_counter()
    for url in urls:
        d = feedparser.parse(url)
        if d.get("status") != 200:
            errors += 1
        entries += len(d.entries)
    return Run(time.perf_counter() - start, len(urls), entries, 0, errors)


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=500, help="number of feed URLs (default 500)")
    ap.add_argument("--repeats", type=int, default=5, help="measured passes per side (default 5)")
    ap.add_argument("--not-modified", type=float, default=0.3, metavar="FRACTION",
                    help="fraction of feeds answering 304 to Wiredesk's conditional GET (default 0.3)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.feeds)
        return 0
    if not (1 <= args.feeds <= 5000 and 1 <= args.repeats <= 20 and 0 <= args.not_modified <= 1):
        ap.error("--feeds must be 1..5000, --repeats 1..20, --not-modified 0..1")

    # Loopback only: never let an environment proxy carry the requests.
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"]))
    socket.setdefaulttimeout(30)  # feedparser's urllib fetch has no timeout of its own

    sys.path.insert(0, str(REPO))
    import feedparser
    import httpx
    from rich.console import Console
    from rich.table import Table

    from pipeline.fetch import http_client, poll_feed
    from pipeline.records import Feed

    console = Console(width=None if sys.stdout.isatty() else 110)
    paths = feed_paths(args.feeds)
    files = sorted({file for _, file in paths})
    sizes = sorted(p.stat().st_size for p in files)
    console.print(f"{args.feeds} feeds over {len(files)} files ({sizes[0]:,}–{sizes[-1]:,} bytes), "
                  f"{args.not_modified:.0%} answer 304 to Wiredesk, {args.repeats} repeats per side; "
                  f"python {sys.version.split()[0]}, feedparser {feedparser.__version__}, "
                  f"httpx {httpx.__version__}, {os.cpu_count()} CPUs")

    server = ServerProcess(__file__, "--feeds", str(args.feeds))
    try:
        urls = [f"http://127.0.0.1:{server.port}{path}" for path, _ in paths]
        feeds = [Feed(id=i, name=f"feed-{i}", url=url) for i, url in enumerate(urls)]
        with http_client() as client:
            # Priming pass (unmeasured, also the warm-up): learn the ETags the way the
            # pipeline does, and keep them for the feeds in the 304 set.
            for i, feed in enumerate(feeds):
                fetch = poll_feed(feed, client)
                if fetch.outcome != "ok":
                    raise SystemExit(f"priming poll of {feed.url} failed: {fetch.error_class} {fetch.error_message}")
                if not_modified(i, args.not_modified):
                    feed.etag = fetch.headers.get("etag")
            feedparser.parse(urls[0])  # warm feedparser's fetch path too

            wiredesk, baseline = [], []
            for r in range(args.repeats):  # alternate, so drift on a shared machine hits both sides
                wiredesk.append(run_wiredesk(feeds, client))
                baseline.append(run_baseline(urls))
                console.print(f"  repeat {r + 1}/{args.repeats}: wiredesk {wiredesk[-1].seconds:.2f} s, "
                              f"baseline {baseline[-1].seconds:.2f} s")
    finally:
        server.close()

    for name, runs in (("wiredesk", wiredesk), ("baseline", baseline)):
        bad = [r.errors for r in runs if r.errors]
        if bad:
            console.print(f"[red]{name}: {sum(bad)} failed polls; the figures are not comparable[/red]")

    def med(runs, f):
        return statistics.median(f(r) for r in runs)

    w_fps, b_fps = med(wiredesk, lambda r: r.feeds / r.seconds), med(baseline, lambda r: r.feeds / r.seconds)
    w_eps, b_eps = med(wiredesk, lambda r: r.entries / r.seconds), med(baseline, lambda r: r.entries / r.seconds)
    w_parse_eps = med(wiredesk, lambda r: r.entries / r.parse_seconds if r.parse_seconds else 0.0)

    table = Table(title=f"{args.feeds} feeds, medians of {args.repeats} repeats")
    for col in ("side", "wall s", "feeds/s", "entries", "304s", "entries/s", "parse s", "parse entries/s"):
        table.add_column(col, justify="left" if col == "side" else "right")
    table.add_row("wiredesk", f"{med(wiredesk, lambda r: r.seconds):.2f}", f"{w_fps:.0f}",
                  f"{wiredesk[0].entries}", f"{wiredesk[0].not_modified}", f"{w_eps:.0f}",
                  f"{med(wiredesk, lambda r: r.parse_seconds):.2f}", f"{w_parse_eps:.0f}")
    table.add_row("baseline", f"{med(baseline, lambda r: r.seconds):.2f}", f"{b_fps:.0f}",
                  f"{baseline[0].entries}", "0", f"{b_eps:.0f}", "-", "-")
    table.add_row("ratio", "", f"{w_fps / b_fps:.2f}x", "", "", f"{w_eps / b_eps:.2f}x", "", "")
    console.print(table)
    paired = sorted(b.seconds / w.seconds for w, b in zip(wiredesk, baseline))  # feeds/s ratio per repeat
    console.print(f"paired: median of the per-repeat feeds/s ratios wiredesk/baseline {statistics.median(paired):.2f}x "
                  f"(range {paired[0]:.2f}x-{paired[-1]:.2f}x over {len(paired)} repeats)")
    console.print("wiredesk = poll_feed (one shared http_client, ETags known for the 304 set) + parse_feed; "
                  "baseline = feedparser.parse(url). feeds/s and entries/s are over the whole loop "
                  "(fetch + parse); parse s / parse entries/s are the time inside parse_feed "
                  "(parse + normalise). Ratios are of the medians. Entry counts differ: 304 feeds "
                  "yield none, and parse_feed drops entries with no title or text.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
