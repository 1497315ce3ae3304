"""Where things are: the news database and the project-local state folder.

Settings come from the environment (inside Airflow, the DAGs pass the
``wiredesk_db`` connection's URL in explicitly).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.localdb import LocalCluster

REPO_ROOT = Path(__file__).resolve().parent.parent
# The demo's feed list and the folder a local server publishes as its ${SEED_SERVER}.
SEED_FEEDS = REPO_ROOT / "seeds" / "feeds.yaml"
SEED_DIR = REPO_ROOT / "seeds" / "feeds"


class NoDatabase(RuntimeError):
    """No news database is configured or running."""


def state_dir() -> Path:
    """Project-local, git-ignored state: the local Postgres, Airflow's metadata, logs."""
    return Path(os.environ.get("WIREDESK_HOME", REPO_ROOT / ".wiredesk")).resolve()


def local_cluster() -> LocalCluster:
    return LocalCluster(state_dir() / "postgres")


def database_url() -> str:
    """``WIREDESK_DATABASE_URL`` when set, else the running project-local cluster."""
    if url := os.environ.get("WIREDESK_DATABASE_URL"):
        return url
    cluster = local_cluster()
    if cluster.is_running():
        return cluster.url
    raise NoDatabase(
        "no news database: set WIREDESK_DATABASE_URL, or start the local one with `wiredesk db start`"
    )
