"""Dedup assignment throughput against the Postgres story index at growing sizes, and a brute-force baseline.

Hand-run (see bench/README.md). Starts a throwaway PostgreSQL unless --db-url is given.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import db, embed  # noqa: E402
from pipeline.dedup import DedupStats, assign_stories  # noqa: E402
from pipeline.dedup_pg import save_fingerprints  # noqa: E402
from pipeline.fingerprint import Fingerprint  # noqa: E402
from pipeline.localdb import LocalCluster  # noqa: E402
from pipeline.normalise import text_hash  # noqa: E402
from pipeline.verify import Settings, evidence, verdict  # noqa: E402

STREAM_START = datetime(2025, 6, 1, tzinfo=UTC)
OUTLETS = 40
BANDS_PER_ARTICLE = 72


class Newsroom:
    """Synthetic wire copy: Zipf-distributed words, names, numbers, outlet footers, stock background
    paragraphs, and copies made the way outlets make them (trim, reorder, teaser, new headline)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        syllables = ["ka", "lo", "mi", "ter", "an", "sol", "ve", "ri", "do", "pen", "gra", "tus", "el", "nor", "bi"]
        self.words = sorted({"".join(self.rng.choices(syllables, k=self.rng.randint(1, 4))) for _ in range(30000)})
        self.names = [w.capitalize() for w in self.rng.sample(self.words, 3000)]
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.footers = [self.sentence(12) for _ in range(OUTLETS)]
        self.background = [self.paragraph() for _ in range(300)]  # stock paragraphs shared by a topic's stories

    def sentence(self, n: int | None = None) -> str:
        words = self.rng.choices(self.words, self.weights, k=n or self.rng.randint(14, 28))
        for i in self.rng.sample(range(len(words)), 3):
            words[i] = self.rng.choice(self.names) if i % 2 else str(self.rng.randint(2, 5000))
        return " ".join(words).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(1, 3)))

    def original(self) -> tuple[str, list[str]]:
        paras = [self.paragraph() for _ in range(self.rng.randint(3, 7))]
        if self.rng.random() < 0.3:
            paras.insert(self.rng.randint(1, len(paras)), self.rng.choice(self.background))
        return self.sentence(9), paras

    def copy(self, story: tuple[str, list[str]]) -> tuple[str, list[str]]:
        title, paras = story
        kind = self.rng.random()
        if kind < 0.15:  # RSS teaser: the first paragraph or two
            paras = paras[:self.rng.randint(1, 2)]
        elif kind < 0.6:  # trimmed
            paras = paras[:max(2, len(paras) - self.rng.randint(0, 2))]
        elif kind < 0.75:  # reordered lower paragraphs
            paras = paras[:1] + self.rng.sample(paras[1:], len(paras) - 1)
        if self.rng.random() < 0.7:
            title = self.sentence(9)
        return title, paras + [self.rng.choice(self.footers)]

    def copies(self) -> int:
        """Copies per story, as in the dev set: about 1.5 on average, few with none."""
        return self.rng.choices([0, 1, 2, 3, 4], [0.05, 0.5, 0.3, 0.1, 0.05])[0]

    def stream(self, stories: int, start: datetime, span: timedelta) -> list[tuple[str, str, datetime]]:
        """(title, text, published) for the stories and their copies, in publication order."""
        out = []
        for _ in range(stories):
            story, when = self.original(), start + span * self.rng.random()
            out.append((story[0], "\n\n".join(story[1]), when))
            for _ in range(self.copies()):
                title, paras = self.copy(story)
                out.append((title, "\n\n".join(paras), when + timedelta(minutes=self.rng.randint(15, 28 * 60))))
        return sorted(out, key=lambda a: a[2])


def on_server(server_url: str, sql: str, args: tuple = ()) -> list[tuple]:
    """Run one statement outside a transaction (CREATE, DROP, ALTER DATABASE); return its rows, if any."""
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []
    finally:
        admin.close()


def fresh_database(server_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    on_server(server_url, f"CREATE DATABASE {name}")
    url = server_url.rsplit("/", 1)[0] + "/" + name
    db.migrate(url)
    return url


def drop_database(server_url: str, url: str) -> None:
    on_server(server_url, f"DROP DATABASE {url.rsplit('/', 1)[1]} WITH (FORCE)")


def fill_old_stories(url: str, stories: int) -> float:
    """Stories from the year before the window, one indexed copy each, bands with random buckets
    (unrelated text collides by chance only). Bulk SQL: building these through dedup would take hours."""
    started = time.perf_counter()
    with db.connect(url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO feeds (name, url) SELECT 'outlet ' || g, 'http://127.0.0.1/' || g "
                    "FROM generate_series(1, %s) g", (OUTLETS,))
        cur.execute(
            """INSERT INTO stories (id, title, first_seen, last_seen, copies)
               SELECT g, 'old story ' || g, t, t, 1 FROM generate_series(1, %(n)s) g,
                      LATERAL (SELECT %(start)s::timestamptz - interval '8 days' - g * interval '1 second' * (31536000.0 / greatest(%(n)s, 1))) AS x(t);
               INSERT INTO articles (id, feed_id, entry_key, title, summary, content, published_at, text_hash, story_id)
               SELECT id, 1 + id %% %(outlets)s, 'old-' || id, title, '', '', first_seen, md5(id::text), id FROM stories;
               SELECT add_article_band_weeks(ARRAY(SELECT first_seen FROM stories));
               INSERT INTO article_bands (article_id, bucket, published_at)
               SELECT a.id, (random() * 9.2e18)::bigint * (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END), a.published_at
               FROM articles a, generate_series(0, %(bands)s - 1) b;
               SELECT setval(pg_get_serial_sequence('stories', 'id'), greatest(%(n)s, 1), %(n)s > 0);
               SELECT setval(pg_get_serial_sequence('articles', 'id'), greatest(%(n)s, 1), %(n)s > 0);""",
            {"n": stories, "start": STREAM_START, "outlets": OUTLETS, "bands": BANDS_PER_ARTICLE},
        )
    conn = psycopg2.connect(url)
    conn.autocommit = True  # VACUUM runs outside a transaction
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.close()
    return time.perf_counter() - started


def fill_index(url: str, old_stories: int, recent: list[tuple[str, str, datetime]]) -> tuple[float, float]:
    """Fill a fresh database: ``old_stories`` in bulk, then ``recent`` (copies of the week before the stream)
    stored and placed by dedup; return (seconds of the bulk fill, seconds placing the recent copies)."""
    fill_s = fill_old_stories(url, old_stories)
    store(url, recent, "recent-")
    started = time.perf_counter()
    with db.connect(url) as conn:
        assign_stories(conn)
    return fill_s, time.perf_counter() - started


def store(url: str, articles: list[tuple[str, str, datetime]], tag: str) -> float:
    """Store the copies with their fingerprints, as the poll tasks do; return the seconds fingerprinting took."""
    with db.connect(url) as conn, conn.cursor() as cur:
        return store_with(cur, articles, tag)


def store_with(cur, articles: list[tuple[str, str, datetime]], tag: str) -> float:
    """``store`` in the cursor's transaction."""
    cur.execute(
        """INSERT INTO articles (feed_id, entry_key, title, summary, content, published_at, text_hash)
           SELECT 1 + (ord %% %s), %s || ord, title, text, '', at, digest
           FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[]) WITH ORDINALITY
                AS q(title, text, at, digest, ord)
           RETURNING id, title, summary""",
        (OUTLETS, tag, [a[0] for a in articles], [a[1] for a in articles], [a[2] for a in articles],
         [text_hash(a[0], a[1]) for a in articles]),
    )
    started = time.perf_counter()
    fingerprints = {key: Fingerprint.of(title, text) for key, title, text in cur.fetchall()}
    seconds = time.perf_counter() - started
    save_fingerprints(cur, fingerprints)
    return seconds


def measure(url: str, newsroom: Newsroom, stories_per_run: int, runs: int) -> list[dict]:
    """Each run: a fresh slice of the stream (new stories and their copies) stored, then assigned."""
    results = []
    for run in range(runs):
        start = STREAM_START + timedelta(hours=6 * run)
        articles = newsroom.stream(stories_per_run, start, timedelta(hours=6))
        fingerprint_s = store(url, articles, f"run{run}-")
        seconds_before, texts_before = embed.CLOCK.seconds, embed.CLOCK.texts
        started = time.perf_counter()
        with db.connect(url) as conn:
            result = assign_stories(conn, batch_size=1000)
        total = time.perf_counter() - started
        encoder = embed.CLOCK.seconds - seconds_before
        results.append({"articles": result.assigned, "seconds": total, "encoder_s": encoder, "fingerprint_s": fingerprint_s,
                        "encoded_texts": embed.CLOCK.texts - texts_before, "stats": result.stats})
    return results


def brute_force(newsroom: Newsroom, stored: int, probes: int) -> float:
    """Articles/s when every new copy is verified against every stored story (no index)."""
    window = newsroom.stream(stored, STREAM_START - timedelta(days=6), timedelta(days=6))
    index = [Fingerprint.of(t, x) for t, x, _ in window[:stored]]
    settings = Settings()
    probe = newsroom.stream(probes, STREAM_START, timedelta(hours=1))[:probes]
    started = time.perf_counter()
    for title, text, _ in probe:
        f = Fingerprint.of(title, text)
        for other in index:
            verdict(evidence(f, other, lambda h: 0), settings)
    return len(probe) / (time.perf_counter() - started)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="comma-separated index sizes in stories (default 10000,100000,1000000)")
    ap.add_argument("--recent", type=int, default=5000,
                    help="stories (plus copies) in the week before the stream, built by dedup itself (default 5000)")
    ap.add_argument("--stream", type=int, default=1000, help="new stories per measured run, plus their copies")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per size (default 3)")
    ap.add_argument("--baseline", type=int, default=10000, help="stories for the brute-force baseline (0: skip)")
    ap.add_argument("--probes", type=int, default=20, help="articles the brute-force baseline places")
    ap.add_argument("--db-url", help="a PostgreSQL server URL to use instead of a throwaway one")
    args = ap.parse_args(argv)

    cluster, root = None, None
    server = args.db_url
    if not server:
        root = Path(tempfile.mkdtemp(prefix="wiredesk-bench-"))
        root.chmod(0o755)  # the server runs as the postgres OS user when we are root
        cluster = LocalCluster(root)
        server = cluster.start()
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            newsroom = Newsroom(seed=size)
            url = fresh_database(server)
            try:
                recent = newsroom.stream(min(size, args.recent), STREAM_START - timedelta(days=7), timedelta(days=7))
                fill_s, recent_s = fill_index(url, max(0, size - args.recent), recent)
                runs = measure(url, newsroom, args.stream, args.runs)
                rates = [r["articles"] / r["seconds"] for r in runs]
                cheap = [r["articles"] / (r["seconds"] - r["encoder_s"]) for r in runs]
                with_fingerprints = [r["articles"] / (r["seconds"] - r["encoder_s"] + r["fingerprint_s"]) for r in runs]
                shares = [r["encoder_s"] / r["seconds"] for r in runs]
                stats: DedupStats = runs[-1]["stats"]
                print(f"index {size:>9,} stories (bulk fill {fill_s:.0f} s, recent {len(recent)} copies placed "
                      f"in {recent_s:.0f} s): articles/s median {statistics.median(rates):,.0f} "
                      f"(runs: {', '.join(f'{r:,.0f}' for r in rates)}); exact+LSH path without the encoder "
                      f"{statistics.median(cheap):,.0f}/s ({statistics.median(with_fingerprints):,.0f}/s counting the "
                      f"fingerprints computed when the copies were stored); encoder share {statistics.median(shares):.1%} "
                      f"({runs[-1]['encoded_texts']} texts, {stats.pairs_encoded} of {stats.pairs_verified} pairs) "
                      f"[{runs[-1]['articles']} articles per run: {stats.exact} exact, {stats.near} near, "
                      f"{stats.new} new]; time per stage in the last run: "
                      + ", ".join(f"{stage} {seconds / runs[-1]['seconds']:.0%}"
                                  for stage, seconds in stats.seconds.items()),
                      flush=True)
            finally:
                drop_database(server, url)
        if args.baseline:
            rate = brute_force(Newsroom(seed=1), args.baseline, args.probes)
            print(f"brute force, all pairs against {args.baseline:,} stories: {rate:,.1f} articles/s", flush=True)
    finally:
        if cluster:
            cluster.stop()
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
