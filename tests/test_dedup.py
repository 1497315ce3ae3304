"""Story assignment: copies fold into one story, different stories stay apart, reruns are no-ops."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np

from conftest import REPO, query

from pipeline import db
from pipeline.dedup import DedupStats, assign_stories, dedup_records, parse_time
from pipeline.dedup_index import most_hits, most_hits_in_bulk
from pipeline.feeds import sync_feeds
from pipeline.fingerprint import Fingerprint
from pipeline.jsonl import read_jsonl
from pipeline.normalise import canonical_url, text_hash
from pipeline.records import Article, FeedSpec
from pipeline.store import store_articles
from pipeline.verify import Settings, evidence, verdict

SEED = (REPO / "seeds" / "seed-article.txt").read_text()
PARAS = [p.strip() for p in SEED.split("\n") if p.strip()][2:-1]
BACKGROUND = PARAS[4]  # "While IS has lost most of the terrain..."
DEV = {r["id"]: r for r in read_jsonl(REPO / "data" / "dedup" / "dev.jsonl")}
DAY = datetime(2018, 12, 4, 9, tzinfo=UTC)


def record(key: str, title: str, *paras: str, hours: float = 0, link: str | None = None) -> dict:
    return {"id": key, "title": title, "summary": "\n\n".join(paras), "link": link,
            "published": (DAY + timedelta(hours=hours)).isoformat()}


def together(records: list[dict]) -> bool:
    return len(set(dedup_records(records).values())) == 1


def test_a_trimmed_copy_and_a_teaser_join_the_full_story():
    full = record("full", "US-led strikes kill up to 150 IS fighters", *PARAS)
    assert together([full, record("trimmed", "Coalition strikes kill 150", *PARAS[:8], hours=2)])
    assert together([full, record("teaser", "150 IS fighters killed", *PARAS[:2], hours=3)])


def test_a_teaser_joins_its_story_although_its_footer_brings_other_numbers():
    # blind-j: a Xinhua original and an outlet's two-paragraph teaser of it, ending with the outlet's
    # "latest headlines 24/7": outside the paragraphs both carry, only 1 of the teaser's 3 numbers agrees.
    blind_j = {r["id"]: r for r in read_jsonl(REPO / "data" / "dedup" / "blind-j.jsonl")}
    original, teaser = blind_j["fj-0151"], blind_j["fj-0058"]
    e = evidence(Fingerprint.of(original["title"], original["summary"]),
                 Fingerprint.of(teaser["title"], teaser["summary"]), recurrence=lambda h: 0)

    assert e.numbers_compared == 3 and e.numbers < Settings().numbers_agree
    assert e.lede == 1.0  # its whole lede is the original's: a copy, not a template story's next figures
    assert together([original, teaser])


def test_a_shared_background_paragraph_is_not_enough():
    other = record(
        "next-day", "Kurdish-led forces retake villages",
        "BEIRUT (AFP) - Syrian Democratic Forces said Wednesday they had retaken two villages near Hajin.",
        "SDF spokesman Mustefa Bali said the alliance had pushed IS out of Al-Bahra and Gharanij.",
        BACKGROUND, hours=24)
    assert not together([record("full", "US-led strikes kill up to 150 IS fighters", *PARAS), other])


def test_sharing_much_of_the_text_is_not_enough_without_the_lede():
    # Two PTI Mumbai rain stories on consecutive days (holdout): one template sentence with other
    # figures and the same closing advisory paragraph, but different ledes and different days.
    holdout = {r["id"]: r for r in read_jsonl(REPO / "data" / "dedup" / "holdout.jsonl")}
    tuesday, wednesday = holdout["hold-0072"], holdout["hold-0048"]
    e = evidence(Fingerprint.of(tuesday["title"], tuesday["summary"]),
                 Fingerprint.of(wednesday["title"], wednesday["summary"]), recurrence=lambda h: 0)

    assert e.containment > 0.4 and e.lede < 0.1  # much of the text in common, but not the lede
    assert e.weekday_clash
    assert not together([tuesday, wednesday])


def test_a_lede_quoted_at_the_end_of_another_story_is_not_that_story():
    # blind-z: an outlet's teaser of a Kyodo Bank of Japan decision, and Kyodo's trade-data story of
    # the same day, whose last paragraph cites the decision in nearly the same words.
    blind_z = {r["id"]: r for r in read_jsonl(REPO / "data" / "dedup" / "blind-z.jsonl")}
    trade = Fingerprint.of(blind_z["fz-0086"]["title"], blind_z["fz-0086"]["summary"])
    teaser = Fingerprint.of(blind_z["fz-0125"]["title"], blind_z["fz-0125"]["summary"])
    teaser_lede = teaser.paragraphs[0].shingles

    assert len(teaser_lede & trade.shingles) > len(teaser_lede) / 2  # the teaser's lede is in the trade story...
    assert evidence(trade, teaser, recurrence=lambda h: 0).lede < Settings().lede  # ...but not at its top
    assert not together([blind_z["fz-0086"], blind_z["fz-0125"]])


def test_a_follow_up_does_not_join_a_story_whose_other_copies_tell_it_apart():
    # blind-af: markets reacting to Zambia's election result, and the result itself, the same day.
    # The currency story's copies resemble one short copy of the result (same names, the one figure
    # it cites), while the result's fuller copies cite other figures in shared wording.
    blind_af = {r["id"]: r for r in read_jsonl(REPO / "data" / "dedup" / "blind-af.jsonl")}
    records = [blind_af[k] for k in ("fp2-0011", "fp2-0056", "fp2-0050", "fp2-0064", "fp2-0115", "fp2-0147")]

    assert partition(dedup_records(records)) == partition({r["id"]: r["story"] for r in records})


def test_a_copy_with_a_rewritten_lede_joins_when_the_rest_is_the_story():
    rewritten = ("Coalition aircraft struck Islamic State positions near the Iraqi border at the weekend, "
                 "and the alliance now says as many as 150 of the group's fighters died.")
    assert together([record("full", "US-led strikes kill up to 150 IS fighters", *PARAS),
                     record("rewrite", "Up to 150 IS fighters killed", rewritten, *PARAS[1:], hours=2)])


def test_key_facts_are_read_the_way_outlets_vary_them():
    f = Fingerprint.of("M23 rebels take Goma", "Four soldiers and 1,000 civilians fled Perú's G20 border post, "
                       "where the Peru army said rates stood at 9.50 percent.")
    numbers, names = f.numbers_and_names
    assert numbers == {"#4", "#1000", "#9.5"}  # "four" is a count; M23 and G20 are names, not figures
    assert {"@peru", "@goma"} <= names and "@perú's" not in names


def test_a_paragraph_many_stories_carry_counts_for_little():
    footer = ("Sign up to the Northgate Herald World Briefing, delivered every weekday morning "
              "with the stories that matter most.")
    a = Fingerprint.of("Strikes", f"{PARAS[0]}\n\n{footer}")
    b = Fingerprint.of("Flood", f"Heavy rain flooded the old town of Valencia on Tuesday.\n\n{footer}")
    shared = Fingerprint.of("x", footer).paragraphs[0].hash

    alone = evidence(a, b, recurrence=lambda h: 1 if h == shared else 0)
    everywhere = evidence(a, b, recurrence=lambda h: 40 if h == shared else 0)

    assert alone.containment > Settings().containment
    assert everywhere.containment < 0.1
    assert verdict(everywhere, Settings()).score is None


MARKET_BACKGROUND = ("Investors are watching for signs that the Federal Reserve could begin cutting "
                     "interest rates later this year as inflation cools and the labour market softens.")


def test_one_template_on_consecutive_days_is_two_stories_because_the_figures_differ():
    tuesday = record(
        "tue", "Wall Street closes higher as tech rally resumes",
        "NEW YORK (AP) - Stocks closed higher on Wall Street on Tuesday, led by technology shares. "
        "The S&P 500 rose 0.8% to 5,214.08, the Dow Jones Industrial Average gained 0.3% to 38,883.67 "
        "and the Nasdaq composite climbed 1.2% to 16,399.52.",
        MARKET_BACKGROUND,
        "Treasury yields eased, with the 10-year yield slipping to 4.42% from 4.46% late on Monday.")
    wednesday = record(
        "wed", "Wall Street closes lower as tech rally fades",
        "NEW YORK (AP) - Stocks closed lower on Wall Street on Wednesday, dragged down by technology shares. "
        "The S&P 500 fell 0.5% to 5,187.70, the Dow Jones Industrial Average lost 0.2% to 38,804.65 "
        "and the Nasdaq composite slid 0.9% to 16,254.91.",
        MARKET_BACKGROUND,
        "Treasury yields rose, with the 10-year yield climbing to 4.49% from 4.42% late on Tuesday.", hours=24)
    assert not together([tuesday, wednesday])


def test_an_update_with_a_revised_toll_joins_its_story():
    first = record("first", "US-led strikes kill up to 150 IS fighters", *PARAS)
    update = record(
        "update", "Coalition raises toll from Syria strikes",
        "BEIRUT (AFP) - The US-led coalition said Wednesday that as many as 170 Islamic State fighters were "
        "killed in Saturday's air strikes near Al-Shafah, raising an earlier toll of 150.",
        *PARAS, hours=26)
    assert together([first, update])


def test_a_paraphrased_rewrite_is_found_through_key_facts_and_the_encoder():
    # dev-0115: Reuters on Etna; dev-0124: an outlet's own wording (almost no shared shingles).
    stats = DedupStats()
    stories = dedup_records([DEV["dev-0115"], DEV["dev-0124"]], stats=stats)
    assert stories["dev-0115"] == stories["dev-0124"]
    assert stats.pairs_encoded >= 1


def test_the_cheap_path_settles_plain_copies_without_the_encoder():
    stats = DedupStats()
    dedup_records([record("full", "US-led strikes", *PARAS), record("copy", "Strikes", *PARAS[:6], hours=1)],
                  stats=stats)
    assert (stats.near, stats.pairs_encoded) == (1, 0)


def test_the_same_template_next_month_is_a_new_story():
    text = "\n\n".join(PARAS)
    month = [record("m1", "Monthly", text), record("m2", "Monthly", text, hours=31 * 24)]
    assert not together(month)
    assert len(set(dedup_records(month, Settings(window=timedelta(days=40))).values())) == 1


def article(key: str, title: str, text: str, when: datetime, url: str | None = None,
            agency: str | None = None) -> Article:
    return Article(
        entry_key=key, guid=key, url=url, canonical_url=url, title=title, summary=text, content="",
        author=None, published_at=when, published_guessed=False, text_hash=text_hash(title, text),
        agency=agency, agency_evidence="dateline" if agency else None,
    )


def load(url: str, feed: str, articles: list[Article], agency: str | None = None) -> None:
    with db.connect(url) as conn:
        [feed_id] = sync_feeds(conn, [FeedSpec(feed, f"http://127.0.0.1/{feed}.xml", agency)])
        store_articles(conn, feed_id, None, articles)


def test_ranking_a_whole_batch_at_once_gives_each_copy_the_candidates_of_ranking_it_alone():
    # The Postgres backend ranks a batch's candidates in one sparse product (stored copies, and the batch's
    # own copies for the ones placed after them); it must be most_hits, copy by copy, ties and windows included.
    rng = random.Random(7)
    for _ in range(200):
        buckets = [rng.getrandbits(64) - (1 << 63) for _ in range(rng.randint(1, 30))]
        stored = {key: (rng.sample(buckets, rng.randint(0, len(buckets))), rng.randint(0, 100))
                  for key in rng.sample(range(1, 500), rng.randint(0, 20))}
        batch = [(key, rng.sample(buckets, rng.randint(0, len(buckets))), rng.randint(0, 100))
                 for key in rng.sample(range(500, 1000), rng.randint(1, 8))]
        window, limit = rng.randint(0, 60), rng.randint(1, 5)
        rows = np.array([(key, b, at, 0) for key, (bands, at) in stored.items() for b in bands]
                        + [(key, b, at, i + 1) for i, (key, bands, at) in enumerate(batch) for b in bands],
                        dtype=[("id", np.int64), ("bucket", np.int64), ("at", np.int64), ("first_copy", np.int64)])
        times = np.array([at for _, _, at in batch])
        in_bulk = most_hits_in_bulk([bands for _, bands, _ in batch], rows, times - window, times + window, limit)

        holders, published = defaultdict(list), {}
        for key, (bands, at) in stored.items():
            for b in bands:
                holders[b].append(key)
            published[key] = at
        for (key, bands, at), found in zip(batch, in_bulk):
            assert found == most_hits(bands, holders, published, at - window, at + window, limit)
            for b in bands:
                holders[b].append(key)
            published[key] = at


def test_copies_across_feeds_fold_and_a_rerun_changes_nothing(news_db):
    load(news_db, "wire", [article("a1", "US-led strikes kill up to 150 IS fighters", "\n\n".join(PARAS), DAY)])
    load(news_db, "site", [
        article("b1", "Coalition says 150 jihadists killed", "\n\n".join(PARAS[:6]), DAY + timedelta(hours=2)),
        article("b2", "Same link, other words", "Completely different words about nothing in particular here.",
                DAY + timedelta(hours=3), url="https://wire.example/story"),
    ])
    load(news_db, "aggregator", [
        article("c1", "Linked again", "Another unrelated sentence that only shares the link with b2.",
                DAY + timedelta(hours=4), url="https://wire.example/story"),
    ])
    with db.connect(news_db) as conn:
        first = assign_stories(conn)
    assert (first.assigned, len(first.new_story_ids), first.folded) == (4, 2, 2)
    assert query(news_db, "SELECT copies FROM stories ORDER BY id") == [(2,), (2,)]

    with db.connect(news_db) as conn:
        again = assign_stories(conn)
    assert again.assigned == 0
    assert query(news_db, "SELECT count(*) FROM stories") == [(2,)]


def test_a_copy_deleted_by_hand_leaves_band_rows_that_later_copies_step_over(news_db):
    # article_bands has no foreign key (migration 0006): the deleted copy's rows stay behind.
    text = "\n\n".join(PARAS)
    load(news_db, "wire", [article("a1", "US-led strikes kill up to 150 IS fighters", text, DAY)])
    load(news_db, "site", [article("b1", "Coalition says 150 jihadists killed", text, DAY + timedelta(hours=1))])
    with db.connect(news_db) as conn:
        assign_stories(conn)
    with db.connect(news_db) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM articles WHERE entry_key = 'b1' RETURNING id")
        [deleted] = cur.fetchone()
    assert query(news_db, "SELECT count(*) > 0 FROM article_bands WHERE article_id = %s", (deleted,)) == [(True,)]

    load(news_db, "aggregator", [article("c1", "150 IS fighters killed", "\n\n".join(PARAS[:6]),
                                         DAY + timedelta(hours=2))])
    with db.connect(news_db) as conn:
        result = assign_stories(conn)
    assert (result.assigned, result.stats.near) == (1, 1)
    assert query(news_db, "SELECT count(DISTINCT story_id) FROM articles") == [(1,)]


def test_a_stored_copy_keeps_the_fingerprint_dedup_would_compute_from_its_row(news_db):
    full = article("a1", "US-led strikes kill up to 150 IS fighters", "\n\n".join(PARAS[:2]), DAY)
    full.content = "\n\n".join(PARAS)  # a feed with full content: dedup compares that, not the summary
    load(news_db, "wire", [full, article("a2", "Teaser", PARAS[0], DAY)])
    load(news_db, "wire", [full])  # seen again: nothing new to store

    rows = query(news_db, """SELECT a.entry_key, a.title, f.fingerprint FROM articles a
                             JOIN article_fingerprints f ON f.article_id = a.id ORDER BY 1""")
    stored = [(key, Fingerprint.from_bytes(title, bytes(fingerprint))) for key, title, fingerprint in rows]
    computed = [("a1", Fingerprint.of(full.title, "\n\n".join(PARAS))), ("a2", Fingerprint.of("Teaser", PARAS[0]))]
    assert stored == computed
    assert [f.paragraphs for _, f in stored] == [f.paragraphs for _, f in computed]


def test_a_fingerprint_survives_storage_and_one_in_another_format_is_computed_again(news_db):
    # A lede may hold any character, the separators of the stored form included.
    title, text = "Strikes \x1fkill 150", "Beirut (AFP) - A lede\x1e with\x1f odd characters.\n\n" + PARAS[1]
    fingerprint = Fingerprint.of(title, text)
    stored = Fingerprint.from_bytes(title, fingerprint.to_bytes())
    assert (stored, stored.paragraphs) == (fingerprint, fingerprint.paragraphs)
    assert Fingerprint.from_bytes(title, b"\x02" + fingerprint.to_bytes()[1:]) is None

    load(news_db, "wire", [article("a1", "US-led strikes kill up to 150 IS fighters", "\n\n".join(PARAS), DAY)])
    with db.connect(news_db) as conn, conn.cursor() as cur:
        cur.execute("UPDATE article_fingerprints SET fingerprint = '\\x02'::bytea || substring(fingerprint from 2)")
    load(news_db, "site", [article("b1", "Coalition says 150 jihadists killed", "\n\n".join(PARAS[:6]),
                                   DAY + timedelta(hours=2))])
    with db.connect(news_db) as conn:
        result = assign_stories(conn)
    assert (result.assigned, result.stats.near) == (2, 1)
    assert query(news_db, "SELECT get_byte(fingerprint, 0) FROM article_fingerprints ORDER BY article_id") == [(1,), (1,)]


def test_the_band_index_has_a_partition_per_week_and_copies_fold_across_weeks(news_db):
    sunday_night = datetime(2018, 12, 9, 23, tzinfo=UTC)  # the copy two hours later is in the next week
    text = "\n\n".join(PARAS)
    load(news_db, "wire", [article("a1", "US-led strikes kill up to 150 IS fighters", text, sunday_night)])
    load(news_db, "site", [
        article("b1", "Coalition says 150 jihadists killed", "\n\n".join(PARAS[:6]), sunday_night + timedelta(hours=2)),
        article("x1", "A feed that dates its entries 1999", "Completely different words about nothing in particular.",
                datetime(1999, 1, 1, tzinfo=UTC)),
    ])
    with db.connect(news_db) as conn:
        assign_stories(conn)

    assert query(news_db, "SELECT count(DISTINCT story_id) FROM articles WHERE entry_key <> 'x1'") == [(1,)]
    # Only the weeks that hold copies get a partition (none for the years in between).
    assert query(news_db, """SELECT c.relname, count(b.*) > 0 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                             LEFT JOIN article_bands b ON b.tableoid = c.oid
                             WHERE i.inhparent = 'article_bands'::regclass GROUP BY c.relname ORDER BY 1""") == [
        ("article_bands_w19981228", True), ("article_bands_w20181203", True), ("article_bands_w20181210", True)]


def test_a_story_keeps_its_span_outlets_agencies_and_the_agency_original(news_db):
    load(news_db, "Levant Observer", [article("l1", "Coalition: 150 IS fighters killed", "\n\n".join(PARAS[:6]),
                                              DAY + timedelta(hours=1))])
    load(news_db, "AFP World", [article("w1", "US-led strikes kill up to 150 IS fighters in Syria",
                                        "\n\n".join(PARAS[:7]), DAY, agency="AFP")], agency="AFP")
    load(news_db, "Gulf Courier", [article("g1", "Strikes kill 150 IS fighters", "\n\n".join(PARAS),
                                           DAY + timedelta(hours=5))])
    with db.connect(news_db) as conn:
        assign_stories(conn)

    [(title, first, last, copies, outlets, agencies, agency)] = query(news_db, """
        SELECT title, first_seen, last_seen, copies, outlets, agencies, agency FROM stories""")
    # The agency's own copy represents the story even though another copy is longer.
    assert title == "US-led strikes kill up to 150 IS fighters in Syria"
    assert (first, last, copies) == (DAY, DAY + timedelta(hours=5), 3)
    assert (outlets, agencies, agency) == (["AFP World", "Gulf Courier", "Levant Observer"], ["AFP"], "AFP")
    assert query(news_db, "SELECT count(*), count(story_id) FROM articles") == [(3, 3)]


def test_the_database_and_the_memory_index_fold_the_dev_set_alike(news_db):
    records = list(DEV.values())
    with db.connect(news_db) as conn:
        feeds = dict(zip(sorted({r["outlet"] for r in records}), sync_feeds(
            conn, [FeedSpec(o, f"http://127.0.0.1/{i}.xml") for i, o in enumerate(sorted({r["outlet"] for r in records}))])))
        for r in records:  # one by one, so article ids follow the file order like the memory keys
            store_articles(conn, feeds[r["outlet"]], None, [Article(
                entry_key=r["id"], guid=r["id"], url=r["link"], canonical_url=canonical_url(r["link"]),
                title=r["title"], summary=r["summary"], content="", author=None,
                published_at=parse_time(r["published"]), published_guessed=False,
                text_hash=text_hash(r["title"], r["summary"]), agency=None, agency_evidence=None)])
    with db.connect(news_db) as conn:
        assign_stories(conn, batch_size=64)  # several batches: the overlay and the stored index must agree
    stored = dict(query(news_db, "SELECT entry_key, story_id FROM articles"))

    assert partition(stored) == partition(dedup_records(records))


def partition(stories: dict[str, int]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for key, story in stories.items():
        groups.setdefault(story, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_the_pair_model_in_the_code_is_the_one_the_labelled_sets_give():
    from pipeline.dedup_fit import fit_pair_model, open_pairs
    from pipeline.verify import FITTED

    # The newest blind sets stay out of the fit: they measure the engine on data it has not seen.
    held_out = {f"blind-{x}" for x in ("ag", "ah", "ai", "aj", "ak", "al", "am", "an", "ao", "ap", "aq", "ar")}
    files = [f for f in sorted((REPO / "data" / "dedup").glob("*.jsonl")) if f.stem not in held_out]
    pairs = [p for f in files for p in open_pairs(list(read_jsonl(f)))]

    assert fit_pair_model(pairs) == FITTED
    # What the model learnt reads as an editor would put it: similar headlines and ledes, shared
    # names and figures mean one story; figures the other lacks and another weekday mean two.
    w = FITTED.weights
    assert min(w.cosine, w.names + w.names_shared, w.numbers_shared) > 0
    assert max(w.numbers_missing, w.weekday_clash) < 0


def test_dedup_reads_and_writes_json_lines(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(DEV[k]) + "\n" for k in ("dev-0115", "dev-0124", "dev-0002")))
    out = tmp_path / "out.jsonl"

    result = CliRunner().invoke(app, ["dedup", "--input", str(source), "--output", str(out)])

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [set(line) for line in lines] == [{"id", "story"}] * 3
    assert lines[0]["story"] == lines[1]["story"] != lines[2]["story"]


def test_an_index_built_before_the_one_key_bands_migration_still_finds_its_copies(bare_db):
    # Migration 0005 folds each (band, bucket) row into one bucket the way the code now computes it.
    url = bare_db
    with db.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())")
        for version, migration, sql in db.available_migrations()[:4]:
            cur.execute(sql)
            cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, migration))
    title, text = "US-led strikes kill up to 150 IS fighters", "\n\n".join(PARAS)
    # (band, bucket) rows as the old layout stored them; band 0 is left out, its bucket is the same in both.
    old_rows = [(band, bucket ^ (band << 56)) for band, bucket in enumerate(Fingerprint.of(title, text).bands[:64])][1:]
    with db.connect(url) as conn, conn.cursor() as cur:
        # The copy as stored then: no fingerprint kept (migration 0008).
        [feed_id] = sync_feeds(conn, [FeedSpec("wire", "http://127.0.0.1/wire.xml")])
        cur.execute("""INSERT INTO articles (feed_id, entry_key, title, summary, content, published_at, text_hash)
                       VALUES (%s, 'a1', %s, %s, '', %s, %s)""", (feed_id, title, text, DAY, text_hash(title, text)))
        cur.execute("INSERT INTO stories (title, first_seen, last_seen) VALUES (%s, %s, %s) RETURNING id",
                    (title, DAY, DAY))
        [story] = cur.fetchone()
        cur.execute("UPDATE articles SET story_id = %s RETURNING id", (story,))
        [article_id] = cur.fetchone()
        cur.executemany("INSERT INTO article_bands (article_id, band, bucket, published_at) VALUES (%s, %s, %s, %s)",
                        [(article_id, band, bucket, DAY) for band, bucket in old_rows])

    assert db.migrate(url) == [f"{v:04d}_{n}" for v, n, _ in db.available_migrations()[4:]]
    load(url, "site", [article("b1", "Coalition says 150 jihadists killed", "\n\n".join(PARAS[:6]),
                               DAY + timedelta(hours=2))])
    with db.connect(url) as conn:
        result = assign_stories(conn)
    assert (result.assigned, result.new_story_ids, result.stats.near) == (1, [], 1)
    assert query(url, "SELECT DISTINCT story_id FROM articles") == [(story,)]
    # The old copy's fingerprint, computed to compare it, is kept for the next time.
    assert query(url, "SELECT article_id FROM article_fingerprints WHERE article_id = %s", (article_id,)) == [(article_id,)]


def test_the_evaluation_scores_pairs_and_names_each_wrong_merge_and_split():
    from pipeline.evaluate import clustering_errors, clustering_report

    gold = {"a": "s1", "b": "s1", "c": "s2", "d": "s3"}
    predicted = {"a": "x", "b": "y", "c": "x", "d": "z"}  # a joined c's story, and left b behind

    report = clustering_report(gold, predicted)
    assert (report.true_pairs, report.predicted_pairs) == (1, 1)
    assert (report.pairwise_precision, report.pairwise_recall) == (0.0, 0.0)
    assert clustering_errors(gold, predicted) == ([[["a"], ["c"]]], [[["a"], ["b"]]])
