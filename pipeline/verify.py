"""The pair decision: is a new copy the same story as a candidate already indexed?

Two rules settle most pairs without a model: different figures in a shared template mean two
stories, and a copy that contains most of the other's words *and* its lede (or nearly all of
its words) is the same story.
Every other pair is judged by a small logistic model over the pair's evidence (``PairModel``,
fitted with ``wiredesk fit-dedup`` on the labelled sets in data/dedup/); the MiniLM headline+lede
similarity, its costliest input, is computed only when the cheap inputs cannot settle the pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from operator import attrgetter, mul

from pipeline.fingerprint import Fingerprint, split_numbers


@dataclass(frozen=True)
class PairFeatures:
    """What the pair model weighs; every value is in [0, 1]."""

    cosine: float  # MiniLM headline+lede similarity
    numbers_shared: float  # how many numbers agree, up to 5, over 5
    numbers_missing: float  # how many of the smaller set of numbers the other lacks, up to 5, over 5
    names: float  # share of the smaller set of names (people, places, organisations, quoted words) in the other
    names_shared: float  # how many names agree, up to 5, over 5 (all of two names is weak evidence)
    containment: float  # weighted share of the smaller text's shingles found in the other
    lede: float  # share of either text's lede found in the top of the other
    weekday_clash: float  # 1 when both name weekdays and none in common (next day's story), else 0


# A PairFeatures' values in field order (dataclasses.astuple deep-copies them: 5 µs, for every pair).
_values = attrgetter(*(f.name for f in fields(PairFeatures)))


@dataclass(frozen=True)
class PairModel:
    """Logistic regression over ``PairFeatures``: P(same story) = sigmoid(weights . features + bias)."""

    weights: PairFeatures
    bias: float

    def probability(self, features: PairFeatures) -> float:
        z = self.bias + sum(map(mul, _values(self.weights), _values(features)))
        return 1.0 / (1.0 + math.exp(-z))


# `wiredesk fit-dedup data/dedup/*.jsonl`: every labelled set up to blind-af (3,332 open pairs).
# Containment and lede weigh against: an open pair with much shared text is one the rules turned
# down, so its shared text is background.
FITTED = PairModel(
    weights=PairFeatures(cosine=12.56, numbers_shared=3.63, numbers_missing=-3.72, names=3.91, names_shared=-0.4,
                         containment=-11.48, lede=-1.67, weekday_clash=-2.07),
    bias=-8.21,
)


@dataclass(frozen=True)
class Settings:
    """Every knob of the decision."""

    window: timedelta = timedelta(days=7)
    # Containment of the rarer text's shingles at which two copies are the same story outright...
    containment: float = 0.5
    # ...provided one text's lede is found in the top of the other (its first paragraphs) at least this
    # much: copies keep (or, in a write-through, push down) the lede, while stories sharing background
    # paragraphs do not, and a story citing another near its end does not carry it there...
    lede: float = 0.5
    # ...or so much is shared that it cannot be background alone (an outlet rewrote the lede).
    rewritten_lede: float = 0.8
    # Both sides citing at least this many numbers, of which fewer than this share agree: different stories,
    # unless one text is nearly all in the other (a template's new figures cut its shared shingles well below),
    # or its lede whole with the containment above: a teaser whose few numbers of its own are the title's and
    # its footer's ("24/7"), while a template's next figures change its lede.
    numbers_needed: int = 3
    numbers_agree: float = 0.34
    numbers_overruled: float = 0.9
    whole_lede: float = 0.9
    # The containment from which a pair vetoed by its numbers shares a template's wording.
    template_wording: float = 0.1
    # Pairs the rules leave open: the same story when the model is at least this sure.
    model: PairModel = field(default=FITTED)
    accept: float = 0.75
    # The most LSH hits first. 4, 5, 6 and 10 fold every labelled set, pooled into one window with 2,240
    # other stories, into the very same stories (bench/dedup_volume.py), 3 splits two: more only adds
    # chance collisions, each read, decoded and weighed for nothing.
    max_candidates: int = 4


@dataclass(frozen=True)
class Evidence:
    """What the cheap path measured for one pair."""

    containment: float
    lede: float
    numbers: float
    numbers_compared: int  # size of the smaller set of numbers (0: one side has none)
    numbers_shared: int
    names: float
    names_shared: int
    weekday_clash: bool

    def features(self, cosine: float) -> PairFeatures:
        return PairFeatures(
            cosine=cosine, numbers_shared=min(self.numbers_shared, 5) / 5,
            numbers_missing=min(self.numbers_compared - self.numbers_shared, 5) / 5,
            names=self.names, names_shared=min(self.names_shared, 5) / 5,
            containment=self.containment, lede=self.lede, weekday_clash=float(self.weekday_clash),
        )


def evidence(a: Fingerprint, b: Fingerprint, recurrence: Callable[[int], int]) -> Evidence:
    """Measure a pair; ``recurrence(hash)``: how many stories already carry the paragraph with that hash."""
    containment = lede = 0.0
    shared_paragraphs: frozenset[int] = frozenset()
    # Most candidates are chance LSH collisions sharing no shingle: no text of theirs to weigh.
    if common := a.shingles & b.shingles:
        shared_paragraphs = a.all_paragraph_hashes & b.all_paragraph_hashes
        found_a, size_a = _weighted_overlap(a, common, recurrence, shared_paragraphs)
        found_b, size_b = _weighted_overlap(b, common, recurrence, shared_paragraphs)
        found, smaller = (found_a, size_a) if size_a <= size_b else (found_b, size_b)
        containment = found / smaller if smaller else 0.0
        lede = max(_contained(a.paragraphs[0].shingles, b.lead_shingles),
                   _contained(b.paragraphs[0].shingles, a.lead_shingles))
    # Facts of a paragraph both texts carry word for word (background, boilerplate) prove nothing.
    numbers_a, names_a = _split_facts(a, shared_paragraphs)
    numbers_b, names_b = _split_facts(b, shared_paragraphs)
    numbers_compared, numbers_shared = min(len(numbers_a), len(numbers_b)), len(numbers_a & numbers_b)
    names_compared, names_shared = min(len(names_a), len(names_b)), len(names_a & names_b)
    return Evidence(
        containment=containment,
        lede=lede,
        numbers=numbers_shared / numbers_compared if numbers_compared else 0.0,
        numbers_compared=numbers_compared,
        numbers_shared=numbers_shared,
        names=names_shared / names_compared if names_compared else 0.0,
        names_shared=names_shared,
        weekday_clash=bool(a.weekdays and b.weekdays and not a.weekdays & b.weekdays),
    )


@dataclass(frozen=True)
class Verdict:
    """The cheap path's answer: settled (a score for "same", None for "different") or not."""

    settled: bool
    score: float | None = None
    # Whether the answer holds for the candidate's whole story, not only for this copy of it: a rule's
    # "same", or a "different" that no copy of that story could overturn (see ``Deduper``).
    for_story: bool = False


def by_rule(e: Evidence, settings: Settings) -> Verdict | None:
    """The two rules that settle a pair without the model, or None when neither applies."""
    # Copies keep their figures (a teaser's, a trim's, a paraphrase's and an update's are mostly
    # the other's); two template stories (yesterday's market close, a second mine accident)
    # share wording and background but not their numbers.
    if (e.numbers_compared >= settings.numbers_needed and e.numbers < settings.numbers_agree
            and e.containment < settings.numbers_overruled
            and not (e.lede >= settings.whole_lede and e.containment >= settings.containment)):
        # Other figures in shared wording are a template's next story; without it, they may be this
        # story's revised toll, which another copy of the story (the first version) may yet match.
        return Verdict(True, None, for_story=e.containment >= settings.template_wording)
    if e.containment >= settings.containment and (e.lede >= settings.lede or e.containment >= settings.rewritten_lede):
        # Above any model probability: the surest evidence.
        return Verdict(True, 1.0 + e.containment, for_story=True)
    return None


def verdict(e: Evidence, settings: Settings) -> Verdict:
    """Decide a pair from the cheap evidence when it can; higher scores are surer matches."""
    if (ruled := by_rule(e, settings)) is not None:
        return ruled
    # The model rises with the cosine: its value at the extremes may already decide.
    if settings.model.probability(e.features(cosine=1.0)) < settings.accept:
        return Verdict(True, None, for_story=True)
    if (low := settings.model.probability(e.features(cosine=0.0))) >= settings.accept:
        return Verdict(True, low)
    return Verdict(False)


def encoder_score(e: Evidence, cosine: float, settings: Settings) -> float | None:
    """The model's probability for an undecided pair once its headline+lede cosine is known; None below the bar."""
    p = settings.model.probability(e.features(cosine))
    return p if p >= settings.accept else None


def headline_and_lede(f: Fingerprint) -> str:
    """What the encoder compares: the headline and the first paragraph (dateline removed)."""
    return f"{f.title}. {f.lede}"


def _weighted_overlap(f: Fingerprint, common: frozenset[int], recurrence: Callable[[int], int],
                      shared: frozenset[int]) -> tuple[float, float]:
    """(weight of f's shingles among the ``common`` ones, weight of all f's shingles): a paragraph's
    shingles weigh 1/(1 + other stories carrying it), so boilerplate counts for little. A paragraph
    both texts carry is already counted once in the other's own story."""
    found = size = 0.0
    for p in f.paragraphs:
        weight = 1.0 / (1 + max(0, recurrence(p.hash) - (p.hash in shared)))
        found += weight * len(p.shingles & common)
        size += weight * len(p.shingles)
    return found, size


def _split_facts(f: Fingerprint, skip: frozenset[int]) -> tuple[frozenset[str], frozenset[str]]:
    if not skip:
        return f.numbers_and_names
    return split_numbers(f.title_facts.union(*(p.facts for p in f.paragraphs if p.hash not in skip)))


def _contained(part: frozenset[int], whole: frozenset[int]) -> float:
    return len(part & whole) / len(part) if part else 0.0
