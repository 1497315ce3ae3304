"""Airflow 3 running locally as background services: what `make airflow` starts and `make stop` stops.

The components (api-server, scheduler, dag-processor, triggerer) run as separate
processes, each in its own process group with a pid file and a log under the
project-local state folder, so they outlive the command that started them and stop
cleanly by id. LocalExecutor with a small ``parallelism`` (2-core machines); the
metadata database is ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` when set, else a
database ``airflow`` in the project-local Postgres when it runs, else SQLite.

This module drives the ``airflow`` command and its REST API; it never imports Airflow.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from pipeline import config
from pipeline.demo import airflow_bin, airflow_env
from pipeline.localdb import free_port

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
DAG_IDS = ("news_ingest", "news_reclassify", "news_maintenance")
HTTP_POOL = "wiredesk_http"


class AirflowStartError(RuntimeError):
    """A component exited or did not become healthy in time (the message says which, with its log)."""


def _home() -> Path:
    return config.state_dir() / "airflow"


def _run_dir() -> Path:
    return _home() / "run"


def _log_dir() -> Path:
    return config.state_dir() / "logs"


@dataclass
class LocalAirflow:
    """A started (or found running) local Airflow: where its UI is and how to log in."""

    url: str
    username: str
    password: str
    password_file: Path
    log_dir: Path

    def token(self) -> str:
        """A REST API access token (`POST /auth/token`)."""
        answer = api_request(self.url, "POST", "/auth/token", {"username": self.username, "password": self.password})
        return answer["access_token"]


def api_request(base_url: str, method: str, path: str, body: dict | None = None, token: str | None = None,
                timeout: float = 10) -> dict:
    """One JSON request to the api-server; raises urllib.error.HTTPError on 4xx/5xx."""
    request = urllib.request.Request(base_url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else {}


def metadata_url() -> str:
    """Airflow's own database (see the module docstring)."""
    if url := os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return url
    cluster = config.local_cluster()
    if cluster.is_running():
        return ensure_database(cluster.url, "airflow")
    return f"sqlite:///{_home() / 'airflow.db'}"


def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url`` if missing; its SQLAlchemy URL."""
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if not cur.fetchone():
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    return "postgresql+psycopg2://" + server_url.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name


def _jwt_secret() -> str:
    # Shared by every component; >= 64 bytes (shorter ones draw InsecureKeyLengthWarning). Kept across restarts.
    path = _home() / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_hex(64))
        path.chmod(0o600)
    return path.read_text().strip()


def service_env(news_db_url: str, feeds_file: Path, port: int, metadata: str, unpaused: bool) -> dict[str, str]:
    env = airflow_env(news_db_url, feeds_file)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # LocalExecutor pre-forks `parallelism` workers (~140 MB each; default 32).
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": os.environ.get("AIRFLOW__API__WORKERS", "1"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": _jwt_secret(),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False" if unpaused else "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
                                                                   "admin:admin"),
    })
    return env


# ---------------------------------------------------------------- processes, by pid file

def _alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _pid_files() -> list[Path]:
    return sorted(_run_dir().glob("*.pid")) if _run_dir().exists() else []


def running_components() -> list[str]:
    return [p.stem for p in _pid_files() if _alive_group(int(p.read_text()))]


def _spawn(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    _log_dir().mkdir(parents=True, exist_ok=True)
    _run_dir().mkdir(parents=True, exist_ok=True)
    with (_log_dir() / f"airflow-{name}.log").open("ab") as log:
        # Own session = own process group: stopping it also stops the workers it forks.
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    (_run_dir() / f"{name}.pid").write_text(str(proc.pid))
    return proc


def stop(timeout: float = 30) -> list[str]:
    """Stop every component and the seed server started here (SIGTERM, then SIGKILL); return their names."""
    stopped = []
    files = _pid_files()
    for path in files:
        pgid = int(path.read_text())
        if _alive_group(pgid):
            os.killpg(pgid, signal.SIGTERM)
            stopped.append(path.stem)
    deadline = time.monotonic() + timeout
    for path in files:
        pgid = int(path.read_text())
        while _alive_group(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive_group(pgid):
            os.killpg(pgid, signal.SIGKILL)
        path.unlink(missing_ok=True)
    (_run_dir() / "url").unlink(missing_ok=True)
    return stopped


# ---------------------------------------------------------------- start

def _port() -> int:
    if wanted := os.environ.get("WIREDESK_AIRFLOW_PORT"):
        return int(wanted)
    try:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 8080))
        return 8080
    except OSError:
        return free_port()


def _login() -> tuple[str, Path]:
    path = _home() / "simple_auth_manager_passwords.json.generated"
    passwords = json.loads(path.read_text())
    return passwords["admin"], path


def _serve_seeds(env: dict[str, str]) -> str:
    """The demo feeds on a local HTTP server (a background process of its own); its base URL."""
    proc = _spawn("seedserver", [sys.executable, "-m", "pipeline.airflow_local", "serve-seeds", str(config.SEED_DIR)], env)
    log = _log_dir() / "airflow-seedserver.log"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        text = log.read_text()
        if "serving " in text:
            return text.rsplit("serving ", 1)[1].split()[0]
        time.sleep(0.1)
    raise AirflowStartError(f"the seed feed server did not start; see {log}")


def start(news_db_url: str, feeds_file: Path | None = None, metadata: str | None = None, unpaused: bool = True,
          timeout: float = 240, echo=print) -> LocalAirflow:
    """Start Airflow with the Wiredesk DAGs (reuse it when already running); wait until the
    components are healthy and the DAGs are loaded. Without ``feeds_file`` (and no
    WIREDESK_FEEDS) the seed feeds are served locally and polled."""
    url_file = _run_dir() / "url"
    if set(COMPONENTS) <= set(running_components()) and url_file.exists():
        password, password_file = _login()
        return LocalAirflow(url_file.read_text(), "admin", password, password_file, _log_dir())
    stop()  # whatever is left of a half-started or crashed set
    _home().mkdir(parents=True, exist_ok=True)
    port = _port()
    feeds_file = Path(feeds_file or os.environ.get("WIREDESK_FEEDS") or config.SEED_FEEDS)
    env = service_env(news_db_url, feeds_file, port, metadata or metadata_url(), unpaused)
    try:
        if feeds_file.resolve() == config.SEED_FEEDS.resolve() and "SEED_SERVER" not in env:
            env["SEED_SERVER"] = _serve_seeds(env)
            echo(f"serving the seed feeds at {env['SEED_SERVER']}")
        echo("migrating Airflow's metadata database...")
        _airflow(["db", "migrate"], env)
        _airflow(["pools", "set", HTTP_POOL, os.environ.get("WIREDESK_HTTP_POOL_SLOTS", "4"),
                  "Concurrent feed fetches (one slot per poll_feeds task)"], env)
        procs = {name: _spawn(name, [airflow_bin(), name], env) for name in COMPONENTS}
        base_url = f"http://127.0.0.1:{port}"
        echo(f"starting {', '.join(COMPONENTS)} (logs: {_log_dir()}/airflow-*.log)...")
        _wait_healthy(base_url, procs, timeout)
        password, password_file = _login()
        running = LocalAirflow(base_url, "admin", password, password_file, _log_dir())
        _wait_for_dags(running, procs, timeout)
    except BaseException:
        stop()
        raise
    url_file.write_text(base_url)
    return running


def _airflow(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([airflow_bin(), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise AirflowStartError(f"airflow {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _check_alive(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in procs.items():
        if proc.poll() is not None:
            log = _log_dir() / f"airflow-{name}.log"
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise AirflowStartError(f"airflow {name} exited with code {proc.returncode}; end of {log}:\n{tail}")


def _wait_healthy(base_url: str, procs: dict[str, subprocess.Popen], timeout: float) -> None:
    # /monitor/health answers 200 even when a component is down: read each status.
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        _check_alive(procs)
        try:
            status = api_request(base_url, "GET", "/api/v2/monitor/health", timeout=5)
            wanted = ("metadatabase", "scheduler", "dag_processor", "triggerer")
            if all((status.get(k) or {}).get("status") == "healthy" for k in wanted):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        time.sleep(1)
    raise AirflowStartError(f"Airflow not healthy after {timeout:.0f} s: {status}")


def _wait_for_dags(running: LocalAirflow, procs: dict[str, subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    token = running.token()
    found: set[str] = set()
    while time.monotonic() < deadline:
        _check_alive(procs)
        answer = api_request(running.url, "GET", "/api/v2/dags?tags=wiredesk", token=token)
        found = {d["dag_id"] for d in answer.get("dags", [])}
        if set(DAG_IDS) <= found:
            errors = api_request(running.url, "GET", "/api/v2/importErrors", token=token)
            if errors.get("total_entries"):
                raise AirflowStartError(f"DAG import errors: {errors['import_errors']}")
            return
        time.sleep(1)
    raise AirflowStartError(f"DAGs not loaded after {timeout:.0f} s (found {sorted(found)})")


def _serve_seeds_forever(directory: str) -> None:
    from pipeline.seedserver import serve_directory

    server, base_url = serve_directory(Path(directory))
    print(f"serving {base_url}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.shutdown()


if __name__ == "__main__" and sys.argv[1:2] == ["serve-seeds"]:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    _serve_seeds_forever(sys.argv[2])
