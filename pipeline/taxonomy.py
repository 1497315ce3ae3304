"""The event-type labels, read from taxonomy.yaml (their one source)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def taxonomy() -> dict[str, dict]:
    """Label name -> {iptc, definition, borderline}, in the file's order."""
    document = yaml.safe_load(resources.files("pipeline").joinpath("taxonomy.yaml").read_text())
    return document["labels"]


def labels() -> list[str]:
    return list(taxonomy())
