"""Replay one assignment batch on one database state: the exact+LSH path's rate, comparable across commits.

Each replay stores the same slice of the synthetic stream and assigns it in one transaction that is
then rolled back (and the touched tables vacuumed), so every replay starts from the same state. The
first replay fills the encoder's memo; the later ones time the exact+LSH path alone, with nothing
able to hide behind the encoder. Hand-run (see bench/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg2
import psycopg2.extensions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_index import STREAM_START, Newsroom, fill_index, fresh_database, on_server, store_with  # noqa: E402

from pipeline.dedup import assign_stories  # noqa: E402
from pipeline.localdb import LocalCluster  # noqa: E402


class RolledBack(psycopg2.extensions.connection):
    """A connection whose commits do nothing, so that the caller can roll a whole assignment back."""

    def commit(self) -> None:
        pass


def database(server: str, stories: int, recent_stories: int, recent: list) -> str:
    """The URL of the database holding ``stories`` stories, ``recent_stories`` of them in the week before the
    batch (``recent``: their copies), built on first use and kept in the cluster."""
    name = f"replay_{stories}_{recent_stories}"
    if not on_server(server, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
        built = fresh_database(server)
        fill_index(built, max(0, stories - recent_stories), recent)
        on_server(server, f"ALTER DATABASE {built.rsplit('/', 1)[1]} RENAME TO {name}")
    return server.rsplit("/", 1)[0] + "/" + name


def replay(url: str, articles: list, tag: str) -> tuple[int, float]:
    """Store and assign the articles, roll it all back; return (copies assigned, seconds assigning took)."""
    conn = psycopg2.connect(url, connection_factory=RolledBack)
    try:
        with conn.cursor() as cur:
            store_with(cur, articles, tag)
        started = time.perf_counter()
        assigned = assign_stories(conn).assigned
        seconds = time.perf_counter() - started
    finally:
        conn.rollback()
        conn.close()
    vacuum_touched(url)
    return assigned, seconds


def vacuum_touched(url: str) -> None:
    """Vacuum what a rolled-back batch leaves dead rows in, so the next replay reads the same index."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT tableoid::regclass::text FROM article_bands WHERE published_at >= %s",
                    (STREAM_START - timedelta(days=8),))
        weeks = [row[0] for row in cur.fetchall()]
        cur.execute("VACUUM (ANALYZE) articles, article_fingerprints, stories, story_paragraphs, "
                    "paragraph_recurrence" + "".join(f", {w}" for w in weeks))
    conn.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cluster", type=Path, required=True,
                    help="folder of a PostgreSQL cluster kept between calls (created on first use); "
                         "pass the same folder from a worktree of another commit to compare")
    ap.add_argument("--stories", type=int, default=1_000_000, help="stories in the index (default 1,000,000)")
    ap.add_argument("--recent", type=int, default=2000,
                    help="of which in the week before the batch, plus their copies (default 2000)")
    ap.add_argument("--stream", type=int, default=300, help="new stories in the replayed batch, plus their copies")
    ap.add_argument("--replays", type=int, default=5, help="timed replays after the one that fills the encoder's memo")
    args = ap.parse_args(argv)

    args.cluster.mkdir(parents=True, exist_ok=True)
    args.cluster.chmod(0o755)  # the server runs as the postgres OS user when we are root
    cluster = LocalCluster(args.cluster)
    try:
        # As in dedup_index.py: the recent week, then the batch, from one newsroom.
        newsroom = Newsroom(seed=args.stories)
        recent_stories = min(args.stories, args.recent)
        recent = newsroom.stream(recent_stories, STREAM_START - timedelta(days=7), timedelta(days=7))
        url = database(cluster.start(), args.stories, recent_stories, recent)
        articles = newsroom.stream(args.stream, STREAM_START, timedelta(hours=6))
        assigned, _ = replay(url, articles, "replay-")  # fills the encoder's memo
        rates = []
        for _ in range(args.replays):
            copies, seconds = replay(url, articles, "replay-")
            rates.append(copies / seconds)
        print(f"index {args.stories:,} stories, batch of {assigned} copies replayed {args.replays} times, exact+LSH "
              f"path (encoder memoised): median {statistics.median(rates):,.0f} articles/s "
              f"(replays: {', '.join(f'{r:,.0f}' for r in rates)})", flush=True)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
