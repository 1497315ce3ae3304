"""The project-local PostgreSQL that `make run` starts."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg2

from pipeline.localdb import LocalCluster


def test_a_cluster_in_a_private_folder_starts_is_reused_and_stops():
    private = Path(tempfile.mkdtemp())  # mode 0700, like /root or a mktemp -d clone
    cluster = LocalCluster(private / ".wiredesk" / "postgres")
    try:
        url = cluster.start()
        assert cluster.start() == url  # reused while it runs
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        if os.geteuid() == 0:
            # The server runs as the postgres user, who cannot enter the private folder.
            assert (cluster.root / "data").is_symlink()
            assert not cluster.data_dir.is_relative_to(private)
        assert cluster.stop() and not cluster.is_running()
    finally:
        cluster.stop()
        if (cluster.root / "data").is_symlink():
            shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
