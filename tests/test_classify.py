"""The event-type classifier: the real trained model (`make model`), on stories and files."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, query
from typer.testing import CliRunner

from pipeline import db
from pipeline.classify import EventClassifier
from pipeline.cli import app
from pipeline.labelling import label_stories
from pipeline.taxonomy import labels, taxonomy

SEED_TITLE, SEED_STANDFIRST, *_ = (REPO / "seeds" / "seed-article.txt").read_text().split("\n")
runner = CliRunner()


@pytest.fixture(scope="module")
def classifier():
    return EventClassifier()


def test_taxonomy_gives_every_label_a_definition_and_an_iptc_code():
    assert len(labels()) == 14
    for name, entry in taxonomy().items():
        assert entry["iptc"].startswith("medtop:"), name
        assert len(entry["definition"]) > 40, name


def test_the_model_speaks_the_taxonomy(classifier):
    assert classifier.labels == labels()
    assert len(classifier.version) == 16


def test_the_seed_story_is_armed_conflict(classifier):
    [prediction] = classifier.predict([(SEED_TITLE, SEED_STANDFIRST)])
    assert prediction.label == "armed_conflict"
    assert prediction.confidence > 0.5
    assert set(prediction.scores) == set(labels())
    assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-3)


def test_the_primary_event_decides(classifier):
    stories = [
        ("EU adopts new sanctions on Russia over Ukraine war",
         "BRUSSELS (AFP) - European Union governments approved a 14th package of sanctions against Moscow on Monday, targeting LNG shipments and banks that help Russia evade earlier measures."),
        ("Dozens of migrants drown as boat capsizes off Libya",
         "TRIPOLI (Reuters) - At least 61 migrants, including women and children, drowned when their overcrowded rubber boat capsized off the Libyan coast, the UN migration agency IOM said on Saturday."),
        ("Striker's late goal sends Morocco into World Cup semi-final",
         "DOHA (AP) - Youssef En-Nesyri headed in the only goal as Morocco beat Portugal 1-0 on Saturday to become the first African team to reach a World Cup semi-final."),
    ]
    predicted = [p.label for p in classifier.predict(stories)]
    assert predicted == ["diplomacy_international", "humanitarian_migration", "sports"]


def test_int8_onnx_and_fp32_torch_agree(classifier):
    examples = [json.loads(line) for line in (REPO / "data" / "classifier" / "dev.jsonl").read_text().splitlines()[:60]]
    items = [(e["title"], e["summary"]) for e in examples]
    torch_backend = EventClassifier(backend="torch")
    assert classifier.backend == "onnx"
    agree = sum(a.label == b.label for a, b in zip(classifier.predict(items), torch_backend.predict(items)))
    assert agree / len(items) >= 0.95


def test_classify_cli_labels_a_jsonl_file(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(x) for x in [
        {"id": "a", "title": SEED_TITLE, "summary": SEED_STANDFIRST},
        {"id": "b", "title": "Central bank raises rates to 5.25%", "summary": "The Bank of England raised interest rates by a quarter point on Thursday to fight inflation."},
    ]))
    result = runner.invoke(app, ["classify", "--input", str(source), "--output", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["id"], r["label"]) for r in rows] == [("a", "armed_conflict"), ("b", "economy_business")]
    assert all(set(r["scores"]) == set(labels()) for r in rows)


def test_eval_classifier_prints_scores_and_draws_the_confusion_matrix(tmp_path):
    png = tmp_path / "confusion.png"
    dev = REPO / "data" / "classifier" / "dev.jsonl"
    result = runner.invoke(app, ["eval-classifier", str(dev), "--confusion-png", str(png)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output and "armed_conflict" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _story(url: str, title: str, summary: str) -> int:
    with db.connect(url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO feeds (name, url) VALUES (%s, 'http://x/f') ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url RETURNING id", ("f",))
        feed_id = cur.fetchone()[0]
        cur.execute("INSERT INTO stories (title, first_seen, last_seen) VALUES (%s, now(), now()) RETURNING id", (title,))
        story_id = cur.fetchone()[0]
        cur.execute("""INSERT INTO articles (feed_id, entry_key, title, summary, content, published_at, text_hash, story_id)
                       VALUES (%s, %s, %s, %s, '', now(), %s, %s) RETURNING id""",
                    (feed_id, title, title, summary, title, story_id))
        cur.execute("UPDATE stories SET representative_id = %s WHERE id = %s", (cur.fetchone()[0], story_id))
        return story_id


def test_stories_are_labelled_once_and_relabelled_only_for_a_new_model(news_db, classifier):
    story_id = _story(news_db, SEED_TITLE, SEED_STANDFIRST)
    with db.connect(news_db) as conn:
        assert label_stories(conn, classifier).stories == 1
        assert label_stories(conn, classifier).stories == 0
        assert label_stories(conn, classifier, stale_only=True).stories == 0
    assert query(news_db, "SELECT event_type, classified_by FROM stories") == [("armed_conflict", classifier.version)]

    # A label from an older model is stale: reclassify replaces it and keeps the history.
    query(news_db, "UPDATE classifications SET model_version = 'old' RETURNING story_id")
    query(news_db, "UPDATE stories SET classified_by = 'old' RETURNING id")
    result = runner.invoke(app, ["reclassify"], env={"WIREDESK_DATABASE_URL": news_db})
    assert result.exit_code == 0 and "1 stories relabelled" in result.output
    assert query(news_db, "SELECT model_version FROM classifications WHERE story_id = %s ORDER BY 1", (story_id,)) == [
        (classifier.version,), ("old",)]
    [(scores,)] = query(news_db, "SELECT scores FROM classifications WHERE model_version = %s", (classifier.version,))
    assert set(scores) == set(labels())
