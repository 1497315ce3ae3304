"""The pair decision: is a new copy the same story as a candidate already indexed?

Cheap evidence first (shingle containment with recurring paragraphs down-weighted, key-fact
agreement, time apart); the MiniLM headline+lede similarity is computed only when that
evidence cannot settle the pair on its own. Thresholds were tuned on data/dedup/dev.jsonl.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pipeline.fingerprint import Fingerprint


@dataclass(frozen=True)
class Settings:
    """Every knob of the decision, with the values tuned on the dev set."""

    window: timedelta = timedelta(days=7)
    # Containment of the rarer text's shingles at which two copies are the same story outright.
    containment: float = 0.5
    # Undecided pairs: cosine + number_weight * numbers + name_weight * names - penalty per day apart.
    number_weight: float = 0.6
    name_weight: float = 0.6
    day_penalty: float = 0.2
    accept: float = 1.13
    # Both sides citing at least this many numbers, of which fewer than this share agree: different stories.
    numbers_needed: int = 3
    numbers_agree: float = 0.34
    max_candidates: int = 30


@dataclass(frozen=True)
class Evidence:
    """What the cheap path measured for one pair."""

    containment: float  # weighted share of the smaller text's shingles found in the other
    numbers: float  # share of the smaller set of numbers found in the other
    numbers_compared: int  # size of that smaller set (0: one side has no numbers)
    names: float  # same, for named people, places and organisations (and quoted words)
    days: float  # days between the two publications

    def fact_score(self, settings: Settings) -> float:
        """The part of the undecided-pair score that needs no encoder."""
        return (settings.number_weight * self.numbers + settings.name_weight * self.names
                - settings.day_penalty * self.days)


def evidence(a: Fingerprint, b: Fingerprint, days: float, recurrence: dict[int, int]) -> Evidence:
    """Measure a pair; ``recurrence`` counts, per paragraph hash, the stories that already carry it."""
    shared_paragraphs = {p.hash for p in a.paragraphs} & {p.hash for p in b.paragraphs}
    full_a, partial_a = _shingle_weights(a, recurrence, shared_paragraphs)
    full_b, partial_b = _shingle_weights(b, recurrence, shared_paragraphs)
    # Full-weight shingles meet as plain sets (fast); the few down-weighted ones one by one.
    common = (len(full_a & full_b)
              + sum(min(w, partial_b.get(s, 1.0 if s in full_b else 0.0)) for s, w in partial_a.items())
              + sum(w for s, w in partial_b.items() if s in full_a))
    smaller = min(len(full_a) + sum(partial_a.values()), len(full_b) + sum(partial_b.values()))
    numbers_a, names_a = _split_facts(a)
    numbers_b, names_b = _split_facts(b)
    return Evidence(
        containment=common / smaller if smaller else 0.0,
        numbers=_overlap(numbers_a, numbers_b),
        numbers_compared=min(len(numbers_a), len(numbers_b)),
        names=_overlap(names_a, names_b),
        days=days,
    )


@dataclass(frozen=True)
class Verdict:
    """The cheap path's answer: settled (a score for "same", None for "different") or not."""

    settled: bool
    score: float | None = None


def verdict(e: Evidence, settings: Settings) -> Verdict:
    """Decide a pair from the cheap evidence when it can; higher scores are surer matches."""
    # Copies keep their figures (a teaser's, a trim's, a paraphrase's and an update's are mostly
    # the other's); two template stories (yesterday's market close, a second mine accident)
    # share wording and background but not their numbers.
    if e.numbers_compared >= settings.numbers_needed and e.numbers < settings.numbers_agree:
        return Verdict(True, None)
    if e.containment >= settings.containment:
        return Verdict(True, 2.0 + e.containment)  # above any encoder-based score: the surest evidence
    facts = e.fact_score(settings)
    if facts + 1.0 < settings.accept:  # even identical headlines and ledes would not reach the bar
        return Verdict(True, None)
    if facts >= settings.accept:  # the facts alone clear it, whatever the wording
        return Verdict(True, facts)
    return Verdict(False)


def encoder_score(e: Evidence, cosine: float, settings: Settings) -> float | None:
    """The score of an undecided pair once its headline+lede cosine is known; None below the bar."""
    score = cosine + e.fact_score(settings)
    return score if score >= settings.accept else None


def headline_and_lede(f: Fingerprint) -> str:
    """What the encoder compares: the headline and the first paragraph (dateline removed)."""
    return f"{f.title}. {f.lede}"


def _shingle_weights(f: Fingerprint, recurrence: dict[int, int],
                     shared: set[int]) -> tuple[frozenset[int], dict[int, float]]:
    """(full-weight shingles, {down-weighted shingle: weight}): a shingle weighs 1/(1 + other
    stories carrying its paragraph), so boilerplate counts for little. A paragraph both sides
    carry is already counted once in the candidate's own story."""
    weights = {p.hash: 1.0 / (1 + max(0, recurrence.get(p.hash, 0) - (p.hash in shared))) for p in f.paragraphs}
    if all(w == 1.0 for w in weights.values()):
        return f.shingles, {}
    full = frozenset().union(*(p.shingles for p in f.paragraphs if weights[p.hash] == 1.0))
    partial: dict[int, float] = {}
    for p in f.paragraphs:
        if weights[p.hash] < 1.0:
            for s in p.shingles - full:
                partial[s] = max(weights[p.hash], partial.get(s, 0.0))
    return full, partial


def _split_facts(f: Fingerprint) -> tuple[set[str], set[str]]:
    numbers = {x for x in f.facts if x.startswith("#")}
    return numbers, set(f.facts) - numbers


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
