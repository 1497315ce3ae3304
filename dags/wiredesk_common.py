"""What the Wiredesk DAGs share: the news database, the tunables, the pool and the Asset.

Not a DAG file (listed in .airflowignore); the DAG files import it as a sibling module.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta

from airflow.sdk import Asset, Connection, Variable
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException, AirflowRuntimeError

log = logging.getLogger("wiredesk")

# Every poll task takes one slot: the pool's size is how many feeds are fetched at once
# across all runs and workers (`airflow pools set wiredesk_http 4 ...`; editable in the UI).
HTTP_POOL = "wiredesk_http"

# Emitted by news_ingest when a run created stories; news_reclassify is scheduled on it.
NEW_STORIES = Asset(name="wiredesk_new_stories", uri="wiredesk://news-db/stories")

# name -> (default, meaning). Each is the Airflow Variable `wiredesk_<name>` when set,
# else the environment variable `WIREDESK_<NAME>`, else the default (README: Configuration).
TUNABLES: dict[str, tuple[str, str]] = {
    "ingest_schedule": ("*/5 * * * *", "news_ingest's schedule: cron or preset; `none` = on demand"),
    "feeds": ("", "feeds.yaml synced into `feeds` before each run (empty: poll the registered feeds)"),
    "poll_batches": ("64", "at most this many mapped poll tasks per run (host batches)"),
    "dedup_window_days": ("7", "a copy is matched against stories seen this many days before it"),
    "dedup_batch": ("1000", "copies folded per transaction"),
    "model": ("", "the event-type classifier's directory (empty: `models/event-type` in the repo)"),
    "classify_batch": ("256", "stories labelled per transaction"),
    "reclassify_schedule": ("asset", "news_reclassify: `asset` (after each run with new stories), cron, or `none`"),
    "reclassify_max_stories": ("2000", "stories news_reclassify relabels per run at most"),
    "maintenance_schedule": ("@daily", "news_maintenance's schedule"),
    "failing_after": ("3", "consecutive failed polls that make an active feed `failing`"),
    "silent_days": ("3", "an active feed with no new article for this many days is `silent`"),
    "fetch_retention_days": ("30", "`fetches` rows older than this are deleted"),
    "band_retention_days": ("90", "weeks of the dedup index older than this are dropped, with their copies' fingerprints (stories stay)"),
}


def setting(name: str) -> str:
    """A tunable: Variable `wiredesk_<name>`, else env `WIREDESK_<NAME>`, else its default."""
    try:
        # No `default=` here: Variable.get masks a default in the logs as if it were a secret.
        return str(Variable.get(f"wiredesk_{name}"))
    except (AirflowRuntimeError, KeyError):
        pass
    return os.environ.get(f"WIREDESK_{name.upper()}", TUNABLES[name][0])


def int_setting(name: str) -> int:
    value = setting(name)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"wiredesk_{name} must be a whole number, got {value!r}") from None


def schedule_setting(name: str):
    """A schedule tunable as the `schedule=` of a DAG: None for `none`."""
    value = setting(name).strip()
    return None if value.lower() in ("", "none") else value


def news_db_url() -> str:
    """The news database: the `wiredesk_db` connection, else WIREDESK_DATABASE_URL."""
    try:
        return Connection.get("wiredesk_db").get_uri()
    except AirflowNotFoundException:
        return os.environ["WIREDESK_DATABASE_URL"]


def model_directory():
    from pathlib import Path

    from pipeline.classify import model_dir

    return Path(setting("model") or model_dir())


def load_classifier():
    """The event classifier of `wiredesk_model`; a missing model fails the task at once (no retries)."""
    from pipeline.classify import EventClassifier

    try:
        return EventClassifier(model_directory())
    except FileNotFoundError as exc:
        # Retrying cannot make a model appear: fail now, naming the folder and the fix.
        raise AirflowFailException(f"{exc} (make model builds it)") from exc


def current_model_version() -> str:
    """The version (hash of the files) of the model `load_classifier` would load, without loading it."""
    from pipeline.classify import model_version

    directory = model_directory()
    if not (directory / "config.json").exists():
        raise AirflowFailException(f"no model in {directory} (make model builds it)")
    return model_version(directory)


DEFAULT_ARGS = {
    # A failed task (database restart, worker lost) is retried after 30 s, 60 s, 120 s...;
    # every write is idempotent, so a retry never stores anything twice.
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}

# What every Wiredesk DAG shares: no backfill, and one run at a time, so a slow run delays
# the next one instead of racing it for the same rows.
DAG_DEFAULTS = {
    "start_date": datetime(2026, 1, 1),
    "catchup": False,
    "max_active_runs": 1,
    "tags": ["wiredesk"],
    "default_args": DEFAULT_ARGS,
}


class Stopwatch:
    """Seconds since the task started, for the one-line summaries."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __str__(self) -> str:
        return f"{time.monotonic() - self.start:.1f} s"
