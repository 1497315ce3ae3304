"""Shared test parts: a throwaway PostgreSQL, fresh news databases, a local feed server.

Airflow's settings must be in the environment before anything imports airflow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="wiredesk-airflow-")
os.environ.update({
    "AIRFLOW_HOME": _AIRFLOW_HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
})

import psycopg2  # noqa: E402

from pipeline import db  # noqa: E402
from pipeline.localdb import LocalCluster  # noqa: E402
from pipeline.seedserver import serve_directory  # noqa: E402


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL cluster for the whole test session, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="wiredesk-pg-"))
    root.chmod(0o755)  # the server runs as the postgres OS user when we are root
    cluster = LocalCluster(root)
    url = cluster.start()
    yield url
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def bare_db(pg_server):
    """An empty database of its own for one test, no migration applied."""
    name = f"news_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    yield pg_server.rsplit("/", 1)[0] + "/" + name
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def news_db(bare_db):
    """An empty, migrated news database of its own for one test."""
    db.migrate(bare_db)
    return bare_db


@pytest.fixture
def seed_server(monkeypatch):
    """The repo's seed feeds on a local HTTP server; $SEED_SERVER points at it."""
    server, base_url = serve_directory(REPO / "seeds" / "feeds")
    monkeypatch.setenv("SEED_SERVER", base_url)
    yield base_url
    server.shutdown()


@pytest.fixture(scope="session")
def airflow_metadata():
    """A migrated Airflow metadata database (SQLite), which dag.test() needs."""
    from airflow.utils.db import initdb

    initdb()
    yield
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


def query(url: str, sql: str, params=()) -> list[tuple]:
    with db.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()
