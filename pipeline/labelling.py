"""Labelling stories in the database with the event classifier: new ones, and those an
older model labelled. Stories, not copies: each story is read through its representative."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pipeline.classify import EventClassifier


@dataclass
class LabelCounts:
    stories: int = 0
    by_label: dict[str, int] | None = None


def label_stories(conn, classifier: EventClassifier, stale_only: bool = False,
                  batch_size: int = 256, max_stories: int | None = None) -> LabelCounts:
    """Label the stories with no label (or, with ``stale_only``, a label from another model
    version), batch by batch, committing each; safe to run from several workers at once."""
    counts = LabelCounts(by_label={})
    condition = "s.classified_by IS DISTINCT FROM %(version)s AND s.event_type IS NOT NULL" if stale_only \
        else "s.event_type IS NULL"
    while max_stories is None or counts.stories < max_stories:
        limit = batch_size if max_stories is None else min(batch_size, max_stories - counts.stories)
        with conn.cursor() as cur:
            # SKIP LOCKED: a parallel worker takes other stories instead of waiting for these.
            cur.execute(
                f"""SELECT s.id, a.title, CASE WHEN a.content <> '' THEN a.content ELSE a.summary END
                    FROM stories s JOIN articles a ON a.id = s.representative_id
                    WHERE {condition} ORDER BY s.id LIMIT %(limit)s FOR UPDATE OF s SKIP LOCKED""",
                {"version": classifier.version, "limit": limit},
            )
            rows = cur.fetchall()
            if not rows:
                conn.commit()
                break
            predictions = classifier.predict([(title, text) for _, title, text in rows])
            for (story_id, _, _), p in zip(rows, predictions):
                cur.execute(
                    """INSERT INTO classifications (story_id, model_version, label, confidence, scores)
                       VALUES (%s, %s, %s, %s, %s)
                       ON CONFLICT (story_id, model_version) DO UPDATE
                       SET label = EXCLUDED.label, confidence = EXCLUDED.confidence,
                           scores = EXCLUDED.scores, classified_at = now()""",
                    (story_id, classifier.version, p.label, p.confidence, json.dumps(p.scores)),
                )
                cur.execute(
                    """UPDATE stories SET event_type = %s, event_confidence = %s, classified_by = %s
                       WHERE id = %s""",
                    (p.label, p.confidence, classifier.version, story_id),
                )
                counts.by_label[p.label] = counts.by_label.get(p.label, 0) + 1
            counts.stories += len(rows)
        conn.commit()
    return counts
