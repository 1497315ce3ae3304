"""A project-local PostgreSQL cluster for demos and tests.

PostgreSQL refuses to run as root, so when we are root the server runs as the
unprivileged ``postgres`` OS user. The server listens on 127.0.0.1 only (no
Unix socket, so long temporary paths are never a problem).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
# Server settings for the dedup index (README: PostgreSQL settings): its LSH buckets are random
# keys, so a batch's lookups and inserts land all over the index. On SSD-era storage the planner
# must know random reads are cheap (else it scans the whole table instead: 0.22 s against 0.14 s
# at 100k stories), and the index wants more cache than the 128 MB default (writes 0.23 -> 0.15 s).
SERVER_SETTINGS = {"random_page_cost": "1.1", "shared_buffers": "1GB"}


class PostgresNotInstalled(RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl) are not on this machine."""


def _pg_bin(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / tool).exists():
            return str(candidate / tool)
    raise PostgresNotInstalled(
        f"{tool} not found: install the PostgreSQL server (apt-get install -y postgresql)"
    )


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _server_user_can_enter(path: Path) -> bool:
    if os.geteuid() != 0:
        return True
    return subprocess.run(_as_server_user(["test", "-x", str(path)])).returncode == 0


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user="postgres", group="postgres")


# Where the data goes when the postgres OS user cannot reach ``root`` (a private parent
# folder such as /root or a mktemp -d): ``root/data`` is then a symlink to a folder here.
SHARED_DATA_PARENT = Path("/var/tmp")


@dataclass
class LocalCluster:
    """A PostgreSQL cluster kept in ``root``: ``root/port`` and ``root/data`` (the data folder,
    or a symlink to it when the server's OS user cannot enter ``root``)."""

    root: Path

    @property
    def data_dir(self) -> Path:
        # Resolved: the server user must not need to pass through a private ``root``.
        return (self.root / "data").resolve()

    @property
    def port(self) -> int:
        return int((self.root / "port").read_text())

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists() or not (self.root / "port").exists():
            return False
        status = subprocess.run(
            _as_server_user([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "status"]),
            capture_output=True,
        )
        return status.returncode == 0

    def start(self) -> str:
        """Start the cluster (creating it on first use) and return its URL; reuse it if running."""
        if self.is_running():
            return self.url
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "data").exists():
            self._make_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                _as_server_user([
                    _pg_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                ]),
                check=True, capture_output=True,
            )
        port = free_port()
        (self.root / "port").write_text(str(port))
        log = self.data_dir.parent / "postgres.log"  # next to the data: the server user writes it
        log.touch()
        _give_to_server_user(log)
        settings = "".join(f" -c {name}={value}" for name, value in SERVER_SETTINGS.items())
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''{settings}"
        subprocess.run(
            _as_server_user([
                _pg_bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(log),
                "-o", options, "-w", "start",
            ]),
            check=True, capture_output=True,
        )
        return self.url

    def _make_data_dir(self) -> None:
        link = self.root / "data"
        if _server_user_can_enter(self.root):
            link.mkdir()
        else:
            digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:12]
            outside = SHARED_DATA_PARENT / f"wiredesk-postgres-{digest}" / "data"
            outside.mkdir(parents=True, exist_ok=True)
            link.symlink_to(outside, target_is_directory=True)
        _give_to_server_user(self.data_dir)

    def stop(self) -> bool:
        """Stop the cluster if it runs; return whether it was running."""
        if not self.is_running():
            return False
        subprocess.run(
            _as_server_user([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
            check=True, capture_output=True,
        )
        return True
