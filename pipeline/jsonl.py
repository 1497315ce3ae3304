"""JSON Lines: the format of every file the CLI reads and writes (corpora, dedup and classify input)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    with open(path, encoding="utf-8") as f:
        yield from (json.loads(line) for line in f if line.strip())
