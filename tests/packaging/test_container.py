"""The container files say what the README promises: a multi-stage build of the wheel with the
locked packages, a user without privileges, ``ozbot serve`` with a health check on /healthz;
compose runs PostgreSQL, the migrations, two replicas and the reverse proxy in front.

No Docker engine runs on the development machines: these read the files; the commands the
Dockerfile runs are run by tests/packaging/test_wheel.py (uv build, uv export --locked, the
install with hashes, ozbot serve as an unprivileged user, the HEALTHCHECK line)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def final_stage() -> str:
    return DOCKERFILE[DOCKERFILE.rindex("\nFROM ") :]


def test_the_image_is_built_in_stages_from_the_wheel_and_the_lock() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.MULTILINE)) == 2
    assert "uv build --wheel" in DOCKERFILE
    assert "uv export --locked --no-dev --no-emit-project" in DOCKERFILE
    assert "pip install --require-hashes -r /dist/requirements.txt" in DOCKERFILE
    assert "pip install --no-deps /dist/ozbot-*.whl" in DOCKERFILE
    makefile = (ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert uv_version and f"ARG UV_VERSION={uv_version.group(1)}" in DOCKERFILE
    assert "COPY --from=build /opt/ozbot /opt/ozbot" in final_stage()
    assert "uv" not in final_stage().split("COPY --from")[0]  # no build tools in the last stage


def test_the_image_runs_ozbot_serve_unprivileged_with_a_health_check() -> None:
    stage = final_stage()
    user = re.search(r"^USER (\d+):(\d+)$", stage, re.MULTILINE)
    assert user and int(user.group(1)) > 0 and int(user.group(2)) > 0
    assert "HEALTHCHECK" in stage and "/healthz" in stage
    assert 'CMD ["ozbot", "serve", "--host", "0.0.0.0", "--port", "8000"]' in stage
    assert "OZBOT_LOG_FORMAT=json" in stage


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_runs_postgres_migrations_two_replicas_and_a_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "ozbot", "proxy"}
    ozbot, migrate = services["ozbot"], services["migrate"]
    assert ozbot["deploy"]["replicas"] == 2
    assert "@postgres:5432/ozbot" in ozbot["environment"]["DATABASE_URL"]
    assert migrate["entrypoint"] == ["ozbot", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert ozbot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in ozbot  # only the proxy faces the network
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]


def test_the_proxy_spreads_requests_over_healthy_replicas_and_hides_metrics() -> None:
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "dynamic a ozbot 8000" in caddy
    assert "health_uri /healthz" in caddy
    assert "@internal path /metrics /readyz" in caddy and "respond @internal 404" in caddy
