"""Hand-run scale check: one news_ingest run over 2,000 locally served feeds, under Airflow's
LocalExecutor, started the way `make airflow` starts it.

Not a test (pytest does not collect it). Run from the repo root (needs the trained model,
`make model`):

    .venv/bin/python bench/airflow_scale.py                  # 2,000 feeds on 250 hosts, 2 runs
    .venv/bin/python bench/airflow_scale.py --feeds 500 --hosts 50 --runs 1

Everything lives in a temporary folder removed at the end: a project-local PostgreSQL
(the news database and Airflow's metadata database), the Airflow services
(api-server, scheduler with LocalExecutor, dag-processor, triggerer; parallelism 4, the
`wiredesk_http` pool at 4 slots unless AIRFLOW__CORE__PARALLELISM / WIREDESK_HTTP_POOL_SLOTS
say otherwise), and a feed server child process. The feed server listens on HOSTS loopback
addresses (127.0.1.1, 127.0.1.2, ...; Linux routes all of 127/8 to lo), so the feeds
really are on HOSTS different hosts and news_ingest's host batching is exercised; the
feeds are the 8 real feed files of tests/fixtures and seeds/feeds, round-robin, each URL
with its own ETag (a second run gets 304s throughout).

Each run is triggered through the REST API, as a user would; the figures come from the
task instances' own timestamps:

* wall: the DAG run's start to end (Airflow's timestamps), and trigger to success seen;
* tasks: task instances created (mapped poll tasks counted one by one);
* busy: the union of the intervals in which at least one task was running; the
  scheduler overhead share is 1 - busy / wall, the part of the run in which no task
  ran at all (scheduling, queueing, task process start-up);
* queue delay: from queued to running, per task instance (median, max);
* the DAG files' parse times from `airflow dags report`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

from feedfarm import REPO, ServerProcess, feed_handler, feed_paths

sys.path.insert(0, str(REPO))


def host_address(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def serve(n: int, hosts: int) -> None:
    Handler = feed_handler(n)
    ThreadingHTTPServer.daemon_threads = True
    first = ThreadingHTTPServer((host_address(0), 0), Handler)
    port = first.server_address[1]
    servers = [first] + [ThreadingHTTPServer((host_address(i), port), Handler) for i in range(1, hosts)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(port, flush=True)
    sys.stdin.read()  # the parent closing our stdin (normally, or by dying) ends the server


# ---------------------------------------------------------------- measuring one run

def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def task_instances(running, token: str, run_id: str) -> list[dict]:
    from pipeline.airflow_local import api_request

    found, offset = [], 0
    while True:
        page = api_request(running.url, "GET", f"/api/v2/dags/news_ingest/dagRuns/{run_id}/taskInstances"
                           f"?limit=100&offset={offset}", token=token)
        found += page["task_instances"]
        offset += len(page["task_instances"])
        if not page["task_instances"] or offset >= page["total_entries"]:
            return found


def measure_run(running, news_db: str) -> dict:
    from pipeline import db
    from pipeline.airflow_local import api_request

    token = running.token()
    triggered = time.monotonic()
    run_id = api_request(running.url, "POST", "/api/v2/dags/news_ingest/dagRuns", {"logical_date": None},
                         token=token)["dag_run_id"]
    while True:
        run = api_request(running.url, "GET", f"/api/v2/dags/news_ingest/dagRuns/{run_id}", token=token)
        if run["state"] in ("success", "failed"):
            break
        if time.monotonic() - triggered > 3600:
            raise SystemExit("the run did not finish within an hour")
        time.sleep(1)
        token = running.token() if time.monotonic() - triggered > 600 else token
    seen_done = time.monotonic() - triggered
    tis = task_instances(running, token, run_id)
    start, end = _ts(run["start_date"]), _ts(run["end_date"])
    wall = (end - start).total_seconds()
    intervals = sorted((_ts(t["start_date"]), _ts(t["end_date"])) for t in tis if t["start_date"] and t["end_date"]
                       and t["state"] != "skipped")
    busy, cur_start, cur_end = 0.0, None, None
    for s, e in intervals:
        if cur_end is None or s > cur_end:
            if cur_end is not None:
                busy += (cur_end - cur_start).total_seconds()
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None:
        busy += (cur_end - cur_start).total_seconds()
    delays = [(_ts(t["start_date"]) - _ts(t["queued_when"])).total_seconds() for t in tis
              if t["queued_when"] and t["start_date"] and t["state"] != "skipped"]
    by_task: dict[str, list[float]] = {}
    for t in tis:
        if t["duration"] is not None and t["state"] != "skipped":
            by_task.setdefault(t["task_id"], []).append(t["duration"])
    with db.connect(news_db) as conn, conn.cursor() as cur:
        cur.execute("""SELECT count(*), count(*) FILTER (WHERE outcome = 'not_modified'),
                              count(*) FILTER (WHERE outcome = 'error'), COALESCE(sum(new_articles), 0)
                       FROM fetches WHERE started_at >= %s""", (start,))
        polled, not_modified, errors, new_articles = cur.fetchone()
        cur.execute("SELECT count(*) FROM stories WHERE created_at >= %s", (start,))
        new_stories = cur.fetchone()[0]
    return {
        "state": run["state"], "wall_s": round(wall, 1), "trigger_to_done_s": round(seen_done, 1),
        "tasks": len(tis), "poll_tasks": len(by_task.get("poll_feeds", [])),
        "busy_s": round(busy, 1), "overhead_share": round(1 - busy / wall, 3) if wall else None,
        "task_seconds_sum": round(sum(sum(v) for v in by_task.values()), 1),
        "queue_delay_median_s": round(statistics.median(delays), 2) if delays else None,
        "queue_delay_max_s": round(max(delays), 2) if delays else None,
        "task_seconds": {k: (round(sum(v), 1) if len(v) > 1 else round(v[0], 1)) for k, v in by_task.items()},
        "poll_task_median_s": round(statistics.median(by_task["poll_feeds"]), 2) if "poll_feeds" in by_task else None,
        "feeds_polled": polled, "not_modified": not_modified, "errors": errors,
        "new_articles": new_articles, "new_stories": new_stories,
    }


def dags_report(env: dict[str, str]) -> list[dict]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    done = subprocess.run([airflow, "dags", "report", "-o", "json"], env=env, capture_output=True, text=True,
                          check=True)
    # Log lines come first on stdout; the report is the JSON line.
    return json.loads(next(line for line in done.stdout.splitlines() if line.startswith("[{")))


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=250)
    parser.add_argument("--runs", type=int, default=2, help="runs in a row (the 2nd onwards get 304s)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.feeds, args.hosts)
        return
    if not 1 <= args.hosts <= min(args.feeds, 5000):
        raise SystemExit("--hosts must be between 1 and min(--feeds, 5000)")

    root = Path(tempfile.mkdtemp(prefix="wiredesk-airflow-scale-"))
    root.chmod(0o755)  # the local Postgres runs as the postgres OS user when we are root
    os.environ.update({"WIREDESK_HOME": str(root / "state"), "WIREDESK_INGEST_SCHEDULE": "none"})
    from pipeline import airflow_local, db
    from pipeline.localdb import LocalCluster

    cluster = LocalCluster(root / "postgres")
    server = None
    try:
        pg = cluster.start()
        news_db = airflow_local.ensure_database(pg, "news").replace("+psycopg2", "")
        db.migrate(news_db)
        server = ServerProcess(__file__, "--feeds", str(args.feeds), "--hosts", str(args.hosts))
        feeds_file = root / "feeds.yaml"
        feeds_file.write_text("feeds:\n" + "".join(
            f"  - name: feed {i:04d}\n    url: http://{host_address(i % args.hosts)}:{server.port}{path}\n"
            for i, (path, _) in enumerate(feed_paths(args.feeds))))
        started = time.monotonic()
        running = airflow_local.start(news_db, feeds_file, metadata=airflow_local.ensure_database(pg, "airflow"),
                                      unpaused=False, echo=lambda *_: None)
        startup = time.monotonic() - started
        airflow_local.api_request(running.url, "PATCH", "/api/v2/dags/news_ingest", {"is_paused": False},
                                  token=running.token())
        print(f"{args.feeds} feeds on {args.hosts} hosts; Airflow up and DAGs loaded in {startup:.1f} s; "
              f"parallelism {os.environ.get('AIRFLOW__CORE__PARALLELISM', '4')}, "
              f"wiredesk_http pool {os.environ.get('WIREDESK_HTTP_POOL_SLOTS', '4')} slots", flush=True)
        for i in range(args.runs):
            print(f"\nrun {i + 1}: {json.dumps(measure_run(running, news_db), indent=1)}", flush=True)
        env = airflow_local.service_env(news_db, feeds_file, 0, airflow_local.ensure_database(pg, "airflow"), False)
        report = dags_report(env)
    finally:
        airflow_local.stop()
        if server:
            server.close()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    print("\nairflow dags report:")
    for row in report:
        print(f"  {row['file']}: {row['duration']} ({row['dag_num']} DAG, {row['task_num']} tasks)")


if __name__ == "__main__":
    main()
