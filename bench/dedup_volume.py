"""Dedup at volume on real-style text: every labelled set of data/dedup/ and the classifier corpus in one window.

The labelled sets are small (~175 copies each), so a copy there rarely has more than one or two
LSH candidates. Pooled into one window, shifted to a common start, with the 2,240 stories of
data/classifier/ as distractors at random times over 10 days, every copy competes with thousands
of others, as in a real week of feeds. Prints, per candidate cap, pairwise precision and recall on
the labelled copies, whether the stories formed are the same as with the first cap, the pairs
verified and the encoder's share (on this text, unlike the synthetic stream of dedup_index.py, many
chance candidates are pairs the cheap path leaves open).

Hand-run: .venv/bin/python bench/dedup_volume.py [--caps 6,4,3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import embed  # noqa: E402
from pipeline.dedup import DedupStats, dedup_records, parse_time  # noqa: E402
from pipeline.evaluate import clustering_errors, clustering_report  # noqa: E402
from pipeline.jsonl import read_jsonl  # noqa: E402
from pipeline.verify import Settings  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"
START = parse_time("2024-01-01T00:00:00Z")


def labelled_copies() -> list[dict]:
    """Every labelled set, each shifted so that its first copy is published at START; ids and stories prefixed."""
    copies = []
    for path in sorted((DATA / "dedup").glob("*.jsonl")):
        records = list(read_jsonl(path))
        first = min(parse_time(r["published"]) for r in records)
        copies += [dict(r, id=f"{path.stem}:{r['id']}", story=f"{path.stem}:{r['story']}",
                        published=(START + (parse_time(r["published"]) - first)).isoformat()) for r in records]
    return copies


def distractors(seed: int = 7) -> list[dict]:
    """The classifier corpus's stories, one copy each, at random times over the 10 days from START."""
    rng = random.Random(seed)
    files = sorted((DATA / "classifier" / "train").glob("*.jsonl")) + [DATA / "classifier" / "dev.jsonl"]
    return [{"id": f"{path.stem}:{i}", "title": r["title"], "summary": r["summary"], "link": None,
             "published": (START + timedelta(days=10) * rng.random()).isoformat()}
            for path in files for i, r in enumerate(read_jsonl(path))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caps", default="6,4,3", help="candidate caps to compare (Settings.max_candidates)")
    args = parser.parse_args()
    labelled, others = labelled_copies(), distractors()
    keys = {r["id"] for r in labelled}
    print(f"{len(labelled)} labelled copies, {len(others)} distractors, one window")
    first = None
    for cap in map(int, args.caps.split(",")):
        embed.embed.cache_clear()  # each cap pays for its own embeddings
        stats, clock = DedupStats(), (embed.CLOCK.texts, embed.CLOCK.seconds)
        started = time.perf_counter()
        assignment = dedup_records(labelled + others, Settings(max_candidates=cap), stats)
        seconds = time.perf_counter() - started
        encoder = embed.CLOCK.seconds - clock[1]
        stories = {key: str(assignment[key]) for key in keys}
        report = clustering_report({r["id"]: r["story"] for r in labelled}, stories)
        first = first or stories
        merged, split = clustering_errors(first, stories)
        print(f"cap {cap}: P {report.pairwise_precision:.4f} R {report.pairwise_recall:.4f}; "
              f"{'the same stories as' if not merged + split else f'{len(merged)} merged, {len(split)} split against'} "
              f"cap {args.caps.split(',')[0]}; {stats.pairs_verified} pairs verified, {stats.pairs_encoded} needed "
              f"the encoder ({embed.CLOCK.texts - clock[0]} texts embedded, {encoder:.0f} of {seconds:.0f} s)")


if __name__ == "__main__":
    main()
