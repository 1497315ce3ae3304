"""A project-local PostgreSQL cluster for demos and tests.

PostgreSQL refuses to run as root, so when we are root the server runs as the
unprivileged ``postgres`` OS user. The server listens on 127.0.0.1 only (no
Unix socket, so long temporary paths are never a problem).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


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


@dataclass
class LocalCluster:
    """A PostgreSQL cluster whose data lives in ``root`` (``root/data``, ``root/port``)."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

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
        if not _server_user_can_enter(self.root):
            raise PermissionError(
                f"the postgres OS user cannot reach {self.root}: a parent folder is private "
                "(e.g. mode 0700). Clone the repo somewhere world-traversable, or set "
                "WIREDESK_DATABASE_URL to a server of your own."
            )
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(exist_ok=True)
            _give_to_server_user(self.data_dir)
            subprocess.run(
                _as_server_user([
                    _pg_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                ]),
                check=True, capture_output=True,
            )
        port = free_port()
        (self.root / "port").write_text(str(port))
        log = self.root / "postgres.log"
        log.touch()
        _give_to_server_user(log)
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        subprocess.run(
            _as_server_user([
                _pg_bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(log),
                "-o", options, "-w", "start",
            ]),
            check=True, capture_output=True,
        )
        return self.url

    def stop(self) -> bool:
        """Stop the cluster if it runs; return whether it was running."""
        if not self.is_running():
            return False
        subprocess.run(
            _as_server_user([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
            check=True, capture_output=True,
        )
        return True
