"""Fitting the dedup pair model (``pipeline.verify.PairModel``) on labelled copies.

Every labelled file is replayed in published order with each copy placed in its *true*
story, so the evidence the model learns from (candidates, paragraph recurrence) is what
the engine sees when it decides right. Only the pairs the rules leave open are learned from.
"""

from __future__ import annotations

from dataclasses import astuple

from pipeline import embed
from pipeline.dedup import Deduper, items_from_records
from pipeline.dedup_index import MemoryIndex
from pipeline.fingerprint import Fingerprint
from pipeline.verify import PairFeatures, PairModel, Settings, by_rule, headline_and_lede


def open_pairs(records: list[dict], settings: Settings | None = None) -> list[tuple[PairFeatures, bool]]:
    """(features, same story?) for every candidate pair of the records that the rules do not settle."""
    deduper = Deduper(MemoryIndex(), settings or Settings())
    items = items_from_records(records)
    truth = {item.key: r["story"] for r, item in zip(records, items)}
    story_ids: dict[str, int] = {}
    pairs = []
    for item in sorted(items, key=lambda i: (i.published, i.key)):
        fingerprint = Fingerprint.of(item.title, item.text)
        for candidate, e in deduper.weigh(item, fingerprint, *deduper.window_of(item)):
            if by_rule(e, deduper.settings) is not None:
                continue
            cosine = embed.similarity(headline_and_lede(fingerprint), headline_and_lede(candidate.fingerprint))
            pairs.append((e.features(cosine), truth[candidate.key] == truth[item.key]))
        story_ids[truth[item.key]] = deduper.index.add(item, fingerprint, story_ids.get(truth[item.key]))
    return pairs


def fit_pair_model(pairs: list[tuple[PairFeatures, bool]], regularisation: float = 0.1) -> PairModel:
    """A logistic regression over the pairs, L2-regularised (``regularisation`` = 1/C in sklearn)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1 / regularisation, max_iter=1000)
    model.fit([astuple(f) for f, _ in pairs], [same for _, same in pairs])
    return PairModel(weights=PairFeatures(*(round(float(w), 2) for w in model.coef_[0])),
                     bias=round(float(model.intercept_[0]), 2))
