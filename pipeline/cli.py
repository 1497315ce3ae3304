"""The ``wiredesk`` command: the pipeline's stages from a shell, no scheduler needed."""

from __future__ import annotations

import os
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from pipeline import config, db
from pipeline.feeds import feed_health, import_opml, load_feed_specs, sync_feeds
from pipeline.ingest import run_cycle
from pipeline.jsonl import read_jsonl
from pipeline.records import FeedSpec
from pipeline.report import RunSummary, summarise_since, tally
from pipeline.train import TrainingConfig

app = typer.Typer(
    help="Wiredesk: poll RSS/Atom feeds, fold republished wire copies into stories, load them into PostgreSQL.\n\n"
    "The news database is WIREDESK_DATABASE_URL, or the project-local server `wiredesk db start` runs.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The project-local PostgreSQL server and the schema.", no_args_is_help=True)
feeds_app = typer.Typer(help="The feed registry (the `feeds` table).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")
console = Console()

FeedsOption = Annotated[
    Optional[Path],
    typer.Option("--feeds", help="A feeds.yaml to sync before polling (default: poll the feeds already registered).",
                 exists=True, dir_okay=False),
]


def _database_url() -> str:
    try:
        return config.database_url()
    except config.NoDatabase as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@db_app.command("start")
def db_start() -> None:
    """Start the project-local PostgreSQL (created on first use, reused while it runs) and print its URL.

    Does nothing when WIREDESK_DATABASE_URL points at a server of your own.
    """
    if url := os.environ.get("WIREDESK_DATABASE_URL"):
        console.print(f"using WIREDESK_DATABASE_URL, no local server needed: {url}")
        return
    cluster = config.local_cluster()
    was_running = cluster.is_running()
    url = cluster.start()
    console.print(f"local PostgreSQL {'already running' if was_running else 'started'}: {url}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the project-local PostgreSQL (its data stays in .wiredesk/postgres)."""
    stopped = config.local_cluster().stop()
    console.print("local PostgreSQL stopped" if stopped else "local PostgreSQL was not running")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the schema migrations the news database lacks."""
    applied = db.migrate(_database_url())
    console.print(f"applied migrations: {', '.join(applied)}" if applied else "schema up to date")


@app.command("db-url")
def db_url() -> None:
    """Print the news database's URL, for psql, DBeaver, pandas or any SQL tool."""
    print(_database_url())


@app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def psql(ctx: typer.Context) -> None:
    """Open psql on the news database; extra arguments go to psql (e.g. -c 'SELECT ...')."""
    url = _database_url()
    os.execvp("psql", ["psql", url, *ctx.args])


@feeds_app.command("sync")
def feeds_sync(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="feeds.yaml")]) -> None:
    """Add or update the feeds listed in FILE (matched by name)."""
    _register(load_feed_specs(file), "synced")


@feeds_app.command("import-opml")
def feeds_import_opml(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An OPML export")]) -> None:
    """Add the feeds of an OPML export (from any feed reader) to the registry."""
    _register(import_opml(file), "imported")


def _register(specs: list[FeedSpec], done: str) -> None:
    with db.connect(_database_url()) as conn:
        sync_feeds(conn, specs)
    console.print(f"{len(specs)} feeds {done}")


@feeds_app.command("list")
def feeds_list() -> None:
    """Each feed's health: last status, last success, consecutive failures, next poll, entries per day."""
    with db.connect(_database_url()) as conn:
        rows = feed_health(conn)
    table = Table("feed", "status", "last success", "failures", "next poll", "entries/day")
    for row in rows:
        status = str(row["last_status"] or "-") if row["active"] else f"[red]inactive[/red]: {row['deactivated_reason']}"
        table.add_row(
            row["name"], status, _when(row["last_success_at"]), str(row["consecutive_failures"]),
            _when(row["next_poll_at"]) if row["active"] else "-", f"{row['entries_per_day']:.1f}",
        )
    console.print(table)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@app.command("ingest")
def ingest(
    feeds: FeedsOption = None,
    classify: Annotated[bool, typer.Option(help="Label the new stories' event type (needs the model: `wiredesk train`).")] = True,
) -> None:
    """Run one ingest cycle (poll due feeds -> parse -> store -> dedup -> classify), as the news_ingest DAG does."""
    url = _database_url()
    started = _db_now(url)
    run_cycle(url, feeds)
    with db.connect(url) as conn:
        if classify:
            from pipeline.classify import EventClassifier
            from pipeline.labelling import label_stories

            label_stories(conn, EventClassifier())
        print_summary(summarise_since(conn, started))


@app.command("demo")
def demo(
    feeds: Annotated[Path, typer.Option(help="The feed list to ingest.", exists=True)] = config.SEED_FEEDS,
    serve: Annotated[Path, typer.Option(help="The folder served as ${SEED_SERVER}.", exists=True, file_okay=False)] = config.SEED_DIR,
) -> None:
    """Serve the seed feeds locally and run the news_ingest DAG once through Airflow (what `make run` does)."""
    from pipeline.demo import run_dag_once

    url = _database_url()
    started = _db_now(url)
    if not run_dag_once(url, feeds, serve, console):
        raise typer.Exit(1)
    with db.connect(url) as conn:
        print_summary(summarise_since(conn, started))


@app.command("train")
def train_model(
    data: Annotated[list[Path], typer.Option("--data", help="Labelled JSONL files or folders.", exists=True)] = [config.REPO_ROOT / "data" / "classifier" / "train"],
    output: Annotated[Optional[Path], typer.Option(help="Model directory (default: WIREDESK_MODEL or models/event-type).")] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the training data.")] = TrainingConfig.epochs,
    seed: Annotated[int, typer.Option(help="Random seed: same data + seed, same model.")] = TrainingConfig.seed,
) -> None:
    """Fine-tune the event-type classifier (MiniLM-L6, offline) on the labelled corpus."""
    from pipeline.classify import model_dir, model_version
    from pipeline.train import train

    dev = config.REPO_ROOT / "data" / "classifier" / "dev.jsonl"
    directory = train(data, output or model_dir(), TrainingConfig(epochs=epochs, seed=seed),
                      agreement_paths=[dev] if dev.exists() else [], log=console.print)
    console.print(f"model written to {directory} (version {model_version(directory)})")


@app.command("eval-classifier")
def eval_classifier(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL with title, summary, label")],
    confusion_png: Annotated[Path, typer.Option(help="Where to write the confusion matrix.")] = Path("confusion-matrix.png"),
) -> None:
    """Accuracy, macro-F1 and per-label precision/recall/F1 of the classifier on FILE."""
    from pipeline.classify import EventClassifier
    from pipeline.evaluate import classifier_report, plot_confusion
    from pipeline.train import read_examples

    examples = read_examples([file])
    classifier = EventClassifier()
    predicted = [p.label for p in classifier.predict([(e["title"], e["summary"]) for e in examples])]
    report = classifier_report([e["label"] for e in examples], predicted, classifier.labels)
    table = Table("label", "precision", "recall", "F1", "support", title=f"model {classifier.version} ({classifier.backend})")
    for label, (p, r, f, n) in report.per_label.items():
        table.add_row(label, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", str(n))
    console.print(table)
    console.print(f"accuracy {report.accuracy:.3f}  macro-F1 {report.macro_f1:.3f}  ({len(examples)} examples)")
    console.print(f"confusion matrix: {plot_confusion(report, confusion_png)}")


@app.command("classify")
def classify(
    input: Annotated[Path, typer.Option("--input", exists=True, dir_okay=False, help="JSONL with id, title, summary")],
    output: Annotated[Path, typer.Option("--output", help="JSONL with id, label, confidence, scores")],
) -> None:
    """Label the event type of every line of a JSONL file, without a database."""
    from pipeline.classify import EventClassifier

    items = list(read_jsonl(input))
    predictions = EventClassifier().predict([(i.get("title", ""), i.get("summary", "")) for i in items])
    with output.open("w") as out:
        for item, p in zip(items, predictions):
            out.write(json.dumps({"id": item.get("id"), "label": p.label, "confidence": round(p.confidence, 5),
                                  "scores": p.scores}) + "\n")
    console.print(f"{len(items)} items labelled -> {output}")


@app.command("reclassify")
def reclassify(
    batch_size: Annotated[int, typer.Option(help="Stories per batch (one transaction each).")] = 256,
    limit: Annotated[Optional[int], typer.Option(help="Stop after this many stories.")] = None,
) -> None:
    """Relabel the stories an older model version labelled (idempotent: rerun it any time)."""
    from pipeline.classify import EventClassifier
    from pipeline.labelling import label_stories

    classifier = EventClassifier()
    with db.connect(_database_url()) as conn:
        counts = label_stories(conn, classifier, stale_only=True, batch_size=batch_size, max_stories=limit)
    console.print(f"{counts.stories} stories relabelled with model {classifier.version}")


maintenance_app = typer.Typer(help="Upkeep of the news database (what the news_maintenance DAG runs daily).",
                                no_args_is_help=True)
app.add_typer(maintenance_app, name="maintenance")
airflow_app = typer.Typer(help="Airflow 3 as local background services, with the Wiredesk DAGs.", no_args_is_help=True)
app.add_typer(airflow_app, name="airflow")


@maintenance_app.command("feed-health")
def maintenance_feed_health(
    failing_after: Annotated[int, typer.Option(help="Failed polls in a row that make a feed failing.")] = 3,
    silent_days: Annotated[int, typer.Option(help="Days without a new article that make a feed silent.")] = 3,
) -> None:
    """The dead, failing and silent feeds, each with its reason."""
    from pipeline.maintenance import feed_health_report

    with db.connect(_database_url()) as conn:
        health = feed_health_report(conn, failing_after, silent_days)
    table = Table("state", "feed", "why", "since")
    for kind in ("dead", "failing", "silent"):
        for feed in getattr(health, kind):
            table.add_row(kind, feed.name, feed.detail, _when(feed.since))
    if table.rows:
        console.print(table)
    console.print(health.line())


@maintenance_app.command("prune-fetches")
def maintenance_prune_fetches(
    older_than_days: Annotated[int, typer.Option(help="Delete poll records older than this.")] = 30,
) -> None:
    """Delete the poll records (`fetches`) older than the retention age; articles stay."""
    from datetime import timedelta

    from pipeline.maintenance import prune_fetches

    with db.connect(_database_url()) as conn:
        deleted = prune_fetches(conn, timedelta(days=older_than_days))
    console.print(f"{deleted} fetch records older than {older_than_days} days deleted")


@maintenance_app.command("drop-band-weeks")
def maintenance_drop_band_weeks(
    older_than_days: Annotated[int, typer.Option(help="Drop the weeks that ended longer ago than this.")] = 90,
) -> None:
    """Drop the dedup index's weekly partitions (`article_bands_wYYYYMMDD`) older than the retention age,
    with the stored fingerprints of their copies.

    Stories and articles stay; older copies can still join stories through the exact layer.
    """
    from datetime import timedelta

    from pipeline.maintenance import drop_old_band_weeks

    with db.connect(_database_url()) as conn:
        dropped = drop_old_band_weeks(conn, timedelta(days=older_than_days))
    console.print(f"{len(dropped)} weeks of the dedup index older than {older_than_days} days dropped"
                  + (f": {', '.join(dropped)}" if dropped else ""))


@maintenance_app.command("analyze")
def maintenance_analyze() -> None:
    """ANALYZE the news tables, largest first (planner statistics)."""
    from pipeline.maintenance import analyze_tables

    with db.connect(_database_url()) as conn:
        done = analyze_tables(conn)
    for table, (rows, seconds) in done.items():
        console.print(f"{table}: ~{rows} rows, {seconds:.2f} s")


@airflow_app.command("start")
def airflow_start(feeds: FeedsOption = None) -> None:
    """Start Airflow (api-server, scheduler, dag-processor, triggerer; LocalExecutor) in the background.

    The DAGs run on their schedules against the news database. Without --feeds (or WIREDESK_FEEDS)
    the seed feeds are served locally and polled. `wiredesk airflow stop` (or `make stop`) stops it.
    """
    from pipeline.airflow_local import AirflowStartError, start

    url = _database_url()
    try:
        running = start(url, feeds, echo=console.print)
    except AirflowStartError as exc:
        console.print(f"[red]{exc}[/red]", markup=False)
        raise typer.Exit(1) from exc
    console.print(
        f"Airflow UI: [bold]{running.url}[/bold]\n"
        f"log in as [bold]{running.username}[/bold] with password [bold]{running.password}[/bold] "
        f"(kept in {running.password_file})\n"
        f"component logs: {running.log_dir}/airflow-*.log; stop with `make stop` or `wiredesk airflow stop`"
    )


@airflow_app.command("stop")
def airflow_stop() -> None:
    """Stop the local Airflow services `wiredesk airflow start` started."""
    from pipeline.airflow_local import stop

    stopped = stop()
    console.print(f"Airflow stopped ({', '.join(stopped)})" if stopped else "Airflow was not running")


@app.command("dedup")
def dedup(
    input: Annotated[Path, typer.Option("--input", exists=True, dir_okay=False,
                                        help="JSONL with id, title, summary, link, outlet, published (ISO 8601).")],
    output: Annotated[Path, typer.Option("--output", help="JSONL written with one {id, story} per input line.")],
    window_days: Annotated[float, typer.Option(help="Copies further apart than this are never the same story.")] = 7.0,
) -> None:
    """Fold the copies in a JSONL file into stories, without a database.

    The same engine as the news database's dedup, with an in-memory index: exact URL/text
    matches, then MinHash/LSH candidates verified on shingles, key facts and (when those
    cannot tell) MiniLM headline+lede similarity. Items with equal `story` are one story.
    """
    from datetime import timedelta

    from pipeline.dedup import dedup_records
    from pipeline.verify import Settings

    records = list(read_jsonl(input))
    stories = dedup_records(records, Settings(window=timedelta(days=window_days)))
    with output.open("w") as out:
        for record in records:
            out.write(json.dumps({"id": record["id"], "story": stories[str(record["id"])]}) + "\n")
    console.print(f"{len(records)} items -> {len(set(stories.values()))} stories -> {output}")


@app.command("fit-dedup")
def fit_dedup(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False,
                                                help="Labelled JSONL files, as for `eval-dedup`.")],
) -> None:
    """Fit the dedup pair model on labelled files and print it, ready for `pipeline/verify.py`.

    The model judges the candidate pairs that the two rules (template numbers disagree; one
    text contains the other and its lede) leave open. Check it with `eval-dedup` on a file
    it was not fitted on before adopting it.
    """
    from pipeline.dedup_fit import fit_pair_model, open_pairs

    pairs = [pair for file in files for pair in open_pairs(list(read_jsonl(file)))]
    model = fit_pair_model(pairs)
    console.print(f"{len(pairs)} open pairs ({sum(same for _, same in pairs)} same story) from {len(files)} files")
    print(model)


@app.command("eval-dedup")
def eval_dedup(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="JSONL as for `dedup`, plus the ground-truth `story` key.")],
    errors: Annotated[bool, typer.Option("--errors", help="Also list the wrong merges and the split stories.")] = False,
) -> None:
    """Score the dedup against FILE's `story` labels: pairwise precision/recall/F1 and B-cubed.

    Pairwise: over all pairs of items, is "same story" predicted where the labels say so.
    B-cubed: per item, how much of its predicted story is its true story, and vice versa.
    The pair model in the code is fitted on the files in data/dedup/ (see its README): a fair
    score needs a file it was not fitted on.
    """
    from pipeline import embed
    from pipeline.dedup import DedupStats, dedup_records
    from pipeline.evaluate import clustering_errors, clustering_report

    records = list(read_jsonl(file))
    stats = DedupStats()
    predicted = {k: str(v) for k, v in dedup_records(records, stats=stats).items()}
    gold = {str(r["id"]): r["story"] for r in records}
    report = clustering_report(gold, predicted)
    console.print(
        f"{len(records)} items, {len(set(r['story'] for r in records))} true stories, "
        f"{len(set(predicted.values()))} predicted\n"
        f"pairwise  precision {report.pairwise_precision:.3f}  recall {report.pairwise_recall:.3f}  "
        f"F1 {report.pairwise_f1:.3f}  ({report.predicted_pairs} predicted pairs, {report.true_pairs} true)\n"
        f"B-cubed   precision {report.bcubed_precision:.3f}  recall {report.bcubed_recall:.3f}  "
        f"F1 {report.bcubed_f1:.3f}\n"
        f"decisions: {stats.exact} exact, {stats.near} near-duplicate, {stats.new} new stories; "
        f"{stats.pairs_verified} pairs verified, {stats.pairs_encoded} needed the encoder "
        f"({embed.CLOCK.texts} texts embedded in {embed.CLOCK.seconds:.1f} s)"
    )
    if errors:
        titles = {str(r["id"]): r.get("title") or "" for r in records}
        merged, split = clustering_errors(gold, predicted)
        for heading, cases, by in (("Merged: one predicted story, several true ones", merged, "true story"),
                                   ("Split: one true story, several predicted ones", split, "predicted story")):
            console.print(f"\n[bold]{heading}[/bold] ({len(cases)})")
            for parts in cases:
                for n, part in enumerate(parts, start=1):
                    for item in part:
                        console.print(f"  {by} {n}: {item}  {titles[item]}", highlight=False)
                console.print()


def _db_now(url: str) -> datetime:
    # The database's clock, so the summary window matches the rows' timestamps.
    with db.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT now()")
        return cur.fetchone()[0]


def print_summary(s: RunSummary) -> None:
    console.print(
        f"feeds polled: {s.feeds_polled} ({s.not_modified} not modified, {s.errors} errors)\n"
        f"entries seen: {s.entries_seen}\n"
        f"new articles: {s.new_articles}\n"
        f"new stories:  {s.new_stories}\n"
        f"copies folded into stories: {s.copies_folded}"
    )
    if s.event_types:
        console.print("event types: " + tally(s.event_types))
    for story_id, title, agency, copies in s.largest_stories:
        console.print(f"  story {story_id} [{agency or 'no agency'}] {copies} copies: {title}")
    if s.new_articles == 0:
        console.print("[bold]nothing new[/bold]: every entry was already stored" +
                      (f" ({s.not_modified} feeds answered 304 Not Modified)" if s.not_modified else ""))
