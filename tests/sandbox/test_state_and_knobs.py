"""State file across restarts (in-process and as a separate process), latency and error knobs,
the command line, and the fixture's reset."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.ozmap.sandbox import BOX_900, Network, RunningSandbox, create_app, serve_in_thread
from bot.ozmap.sandbox.process import run_sandbox_process
from tests.sandbox.conftest import reservation


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with serve_in_thread(Network.load(), "t", state_file=state) as sb:
        created = httpx.post(
            sb.api_url + "/properties",
            json=reservation("kept", BOX_900),
            headers={"Authorization": "t"},
        )
        assert created.status_code == 201
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert "kept" in {c["code"] for c in saved["ftth-clients"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no temp files left

    with serve_in_thread(Network.load(state), "t") as sb:
        found = httpx.get(sb.api_url + "/properties/client/kept", headers={"Authorization": "t"})
    assert found.json()[0]["_id"] == created.json()["id"]
    assert found.json()[0]["connections"][0]["port"] == 4


def test_separate_process_with_state_restarts(tmp_path: Path) -> None:
    state = tmp_path / "sandbox-state.json"
    with run_sandbox_process(state=state) as sb:
        headers = {"Authorization": f"Bearer {sb.token}"}
        created = httpx.post(
            sb.api_url + "/properties", json=reservation("proc", BOX_900), headers=headers
        )
        assert created.status_code == 201
    with run_sandbox_process(state=state, token="fixed-token") as sb:
        found = httpx.get(
            sb.api_url + "/properties/client/proc", headers={"Authorization": "fixed-token"}
        )
        assert found.status_code == 200
        assert found.json()[0]["_id"] == created.json()["id"]
        again = httpx.post(
            sb.api_url + "/properties",
            json=reservation("proc2", BOX_900),
            headers={"Authorization": "fixed-token"},
        )
        port = httpx.get(
            sb.api_url + f"/properties/{again.json()['id']}",
            headers={"Authorization": "fixed-token"},
        ).json()["connections"][0]
        assert port["port"] == 5  # port 4 is still held by the first reservation


def test_latency_delays_every_answer() -> None:
    with serve_in_thread(latency=0.5) as sb:
        headers = {"Authorization": sb.token}
        # a client that will not wait for the added latency gives up; one that waits succeeds
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(sb.api_url + "/authenticated", headers=headers, timeout=0.05)
        assert (
            httpx.get(sb.api_url + "/authenticated", headers=headers, timeout=10).status_code == 200
        )


def test_error_rate_one_fails_everything_with_json() -> None:
    with serve_in_thread(error_rate=1.0) as sb:
        for method, path in (
            ("GET", "/boxes"),
            ("POST", "/users/login"),
            ("GET", "/ftth-viability/radius?lat=0&lng=0"),
        ):
            response = httpx.request(method, sb.api_url + path, headers={"Authorization": sb.token})
            assert response.status_code == 503
            assert response.json()["error"] == "SERVICE_UNAVAILABLE"
            assert response.json()["message"]


def test_error_rate_is_reproducible_with_a_seed() -> None:
    def statuses() -> list[int]:
        with (
            serve_in_thread(error_rate=0.5, seed=42) as sb,
            httpx.Client(base_url=sb.api_url, headers={"Authorization": sb.token}) as http,
        ):
            return [http.get("/authenticated").status_code for _ in range(30)]

    first, second = statuses(), statuses()

    assert first == second
    assert set(first) == {200, 503}


async def test_reset_restores_the_seed(api: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
    await api.post("/properties", json=reservation("temporary", BOX_900))
    assert sandbox.network.client_by_code("temporary") is not None

    sandbox.reset()

    assert sandbox.network.client_by_code("temporary") is None
    assert (await api.get("/properties/client/temporary")).json() == []


def test_cli_rejects_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--error-rate", "2"]) == 1
    assert "--error-rate" in capsys.readouterr().err
    broken = tmp_path / "net.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["sandbox", "--network", str(broken)]) == 1
    assert "make_network.py" in capsys.readouterr().err


def test_app_refuses_an_empty_token() -> None:
    with pytest.raises(ValueError, match="token"):
        create_app(Network.load(), "")
    with pytest.raises(ValueError, match="error_rate"):
        create_app(Network.load(), "t", error_rate=1.5)
