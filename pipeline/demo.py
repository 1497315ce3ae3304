"""The `make run` demo: the news_ingest DAG run once by Airflow itself over locally served feeds.

Airflow's metadata (SQLite) lives in the project-local state folder; the news
database reaches the DAG as the ``wiredesk_db`` Airflow connection.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from pipeline import config
from pipeline.seedserver import serve_directory

DAG_ID = "news_ingest"


def airflow_bin() -> str:
    """The `airflow` command of the environment Wiredesk runs in."""
    return str(Path(sys.executable).with_name("airflow"))


def airflow_env(db_url: str, feeds_file: Path) -> dict[str, str]:
    """The environment for Airflow commands: local metadata, our DAGs, the news DB connection."""
    home = config.state_dir() / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config.REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_WIREDESK_DB": db_url,
        "WIREDESK_FEEDS": str(feeds_file.resolve()),
    }


def run_dag_once(db_url: str, feeds_file: Path, served_dir: Path, console: Console) -> bool:
    """Run ``airflow dags test news_ingest`` with ``served_dir`` served as $SEED_SERVER; True on success."""
    airflow = airflow_bin()
    server, base_url = serve_directory(served_dir)
    env = airflow_env(db_url, feeds_file) | {"SEED_SERVER": base_url}
    log_dir = config.state_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "news_ingest-dags-test.log"
    try:
        marker = Path(env["AIRFLOW_HOME"]) / ".metadata-migrated"
        if not marker.exists():
            console.print("preparing Airflow's metadata database (first run only)...")
            subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
            marker.touch()
        console.print(f"running DAG {DAG_ID} through Airflow (feeds served at {base_url}; log: {log_path})")
        with log_path.open("w") as log:
            done = subprocess.run([airflow, "dags", "test", DAG_ID], env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        server.shutdown()
    if done.returncode != 0:
        console.print(f"[red]the DAG run failed[/red]; last lines of {log_path}:")
        console.print("\n".join(log_path.read_text().splitlines()[-30:]), markup=False)
        return False
    return True
