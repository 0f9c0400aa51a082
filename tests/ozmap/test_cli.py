"""``ozbot ozmap ...`` through bot.cli.main against the real sandbox: output lines, exit codes,
and one clear line (never a traceback) for each way it can fail."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.ozmap import OzmapClient
from bot.ozmap.sales import Booking, SalesDesk
from bot.ozmap.sandbox import BOX_900, RunningSandbox
from bot.settings import load_settings
from tests.support.fixtures import ozmap_fixture
from tests.support.net import free_port


@pytest.fixture
def env(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunningSandbox:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("OZMAP_URL", sandbox.url)
    monkeypatch.setenv("OZMAP_TOKEN", sandbox.token)
    for name in ("OZMAP_RADIUS", "OZMAP_AUTH", "OZMAP_FEASIBILITY_MODE", "OZMAP_CODE_TEMPLATE"):
        monkeypatch.delenv(name, raising=False)
    return sandbox


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["ozmap", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def client_doc(sandbox: RunningSandbox, code: str) -> dict[str, object]:
    doc = sandbox.network.client_by_code(code)
    assert doc is not None
    return doc


def test_activate_a_reservation(env: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert client_doc(env, "reservation_123")["implanted"] is False
    code, out, err = run(capsys, "activate", "reservation_123")
    client_id = client_doc(env, "reservation_123")["_id"]
    assert (code, out, err) == (0, [f"reservation_123: implanted (client {client_id})"], "")
    assert client_doc(env, "reservation_123")["implanted"] is True

    code, out, _ = run(capsys, "activate", "reservation_123")
    assert (code, out) == (0, [f"reservation_123: already implanted (client {client_id})"])


def test_status_of_one_and_of_many(env: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert client_doc(env, "cliente-erro")["status"] == 1
    code, out, _ = run(capsys, "status", "cliente-erro", "--ok")
    assert code == 0 and out == [
        f"cliente-erro: status OK (client {client_doc(env, 'cliente-erro')['_id']})"
    ]
    assert client_doc(env, "cliente-erro")["status"] == 0

    code, out, _ = run(capsys, "status", "cliente-lote-1", "cliente-lote-2", "--error")
    assert code == 0
    assert [line.split(" (")[0] for line in out] == [
        "cliente-lote-1: status ERROR",
        "cliente-lote-2: status ERROR",
    ]
    assert [client_doc(env, c)["status"] for c in ("cliente-lote-1", "cliente-lote-2")] == [1, 1]


def test_status_changes_nothing_when_a_code_is_unknown(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "status", "cliente-lote-1", "ninguem", "--error")
    assert (code, out) == (1, [])
    assert err.splitlines() == [
        "ozbot: no OZmap property has client code 'ninguem': check the code "
        "(`ozbot ozmap find CODE` shows what OZmap holds)"
    ]
    assert client_doc(env, "cliente-lote-1")["status"] == 0


def test_find(env: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "find", "reserva_123")
    assert code == 0
    assert out[0].startswith("property 63ed056e7112800014c1c731  box 5da752a411450e0006947fad")
    assert out[1] == (
        "  client 63ed056d7112800014c1c72e  code reserva_123  name Cliente teste  "
        "implanted yes  status OK"
    )
    assert out[2] == "  connected to Splitter Splitter 1 port 1"


def test_feasibility(env: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    covered = env.network.samples["covered"]
    code, out, _ = run(capsys, "feasibility", str(covered["lat"]), str(covered["lng"]))
    assert code == 0
    assert out[0] == "viable: yes (radius 250 m)"
    box_lines = [line for line in out if line.startswith("  box ")]
    assert box_lines and any(f"id {BOX_900}" in line for line in box_lines)
    assert "free port(s)" in box_lines[0]
    assert any(line.startswith("  building condominium Edifício Solar") for line in out)

    far = env.network.samples["not_covered"]
    code, out, _ = run(capsys, "feasibility", str(far["lat"]), str(far["lng"]), "--radius", "100")
    assert (code, out[0]) == (0, "viable: no (radius 100 m)")
    assert not [line for line in out if line.startswith("  box ")]


def test_unknown_code(env: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    for action, says in (
        ("activate", "no OZmap property has client code 'ninguem'"),
        ("find", "no OZmap property or prospect has code 'ninguem'"),
    ):
        code, out, err = run(capsys, action, "ninguem")
        assert (code, out) == (1, [])
        [line] = err.splitlines()
        assert line.startswith(f"ozbot: {says}: check the code")


def test_bad_token(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OZMAP_TOKEN", "wrong-key")
    code, out, err = run(capsys, "activate", "reservation_123")
    assert (code, out) == (1, [])
    [line] = err.splitlines()
    assert line.startswith("ozbot: OZmap refused the API key: check OZMAP_TOKEN")
    assert "wrong-key" not in err
    assert client_doc(env, "reservation_123")["implanted"] is False


def test_missing_token(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OZMAP_TOKEN", "")
    code, _, err = run(capsys, "find", "reserva_123")
    assert code == 1 and err.startswith("ozbot: OZMAP_TOKEN is not set")


def test_unreachable_server(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens on it
    monkeypatch.setenv("OZMAP_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OZMAP_RETRIES", "0")
    code, out, err = run(capsys, "find", "reserva_123")
    assert (code, out) == (1, [])
    [line] = err.splitlines()
    assert line.startswith(f"ozbot: OZmap at http://127.0.0.1:{port} is unreachable")
    assert "check OZMAP_URL" in line and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["feasibility", "-127.5", "-48.5"],
        ["feasibility", "abc", "-48.5"],
        ["status", "cliente-erro"],  # neither --ok nor --error
        ["status", "cliente-erro", "--ok", "--error"],
    ],
)
def test_usage_errors_exit_2(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ozmap", *argv])
    assert exited.value.code == 2
    assert "usage: ozbot ozmap" in capsys.readouterr().err


def test_feasibility_raw_is_the_answer_as_sent(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    covered = env.network.samples["covered"]
    for shape in ("full", "wrapped"):
        env.sandbox.feasibility_shape = shape
        code, out, _ = run(capsys, "feasibility", str(covered["lat"]), str(covered["lng"]), "--raw")
        expected = httpx.get(
            f"{env.api_url}/ftth-viability/radius",
            params={"lat": covered["lat"], "lng": covered["lng"], "radius": 250},
            headers={"Authorization": env.token},
        ).json()
        assert code == 0 and json.loads("\n".join(out)) == expected


def test_a_bare_answer_is_completed_from_boxes_and_splitters(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    env.sandbox.feasibility_shape = "bare"
    covered = env.network.samples["covered"]
    code, out, _ = run(capsys, "feasibility", str(covered["lat"]), str(covered["lng"]))
    assert code == 0 and out[0] == "viable: yes (radius 250 m)"
    assert "found from boxes and splitters" in out[1]
    assert f"id {BOX_900}" in out[2] and "4 free port(s)" in out[2]


def test_feasibility_by_poles(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OZMAP_FEASIBILITY_MODE", "poles")
    covered = env.network.samples["covered"]
    code, out, _ = run(capsys, "feasibility", str(covered["lat"]), str(covered["lng"]))
    assert code == 0 and out[0].startswith("poles: ") and "within 100 m" in out[0]
    assert f"id {BOX_900}" in out[1]


def test_find_raw_masks_credentials(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "find", "reserva_123", "--raw")
    assert code == 0
    assert json.loads("\n".join(out)) == ozmap_fixture("properties-client-by-code.implanted.json")
    doc = env.network.client_by_code("reserva_123")
    assert doc is not None
    doc["observation"] = f"token {env.token} in a note"  # as a careless integration might
    doc["onu"]["password"] = "pppoe-secret"
    _, out, _ = run(capsys, "find", "reserva_123", "--raw")
    shown = "\n".join(out)
    assert env.token not in shown and "pppoe-secret" not in shown
    client = json.loads(shown)[0]["client"]
    assert client["observation"].startswith("***") and client["onu"]["password"] == "***et"


def test_a_template_code_is_found_activated_and_cancelled_by_that_code(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OZMAP_CODE_TEMPLATE", "ISP-{date:%Y%m%d}-{random:8}")
    settings = load_settings()
    covered = env.network.samples["covered"]

    async def reserve() -> str:
        async with httpx.AsyncClient() as http:
            desk = SalesDesk.from_settings(settings, OzmapClient.from_settings(settings, http))
            code = await desk.new_code()
            booking = Booking(code, "Ana Souza", covered["lat"], covered["lng"], covered["address"])
            assert await desk.reserve(booking, [BOX_900]) is not None
            return code

    code = asyncio.run(reserve())
    assert re.fullmatch(r"ISP-\d{8}-[A-Z2-9]{8}", code)
    status, out, _ = run(capsys, "find", code)
    assert status == 0 and f"code {code}" in out[1] and "implanted no" in out[1]
    status, out, _ = run(capsys, "activate", code)
    assert status == 0 and out[0].startswith(f"{code}: implanted")
    assert client_doc(env, code)["implanted"] is True
    status, out, _ = run(capsys, "cancel", code)
    assert status == 0 and out[0].startswith(f"{code}: cancelled")
    assert env.network.client_by_code(code) is None
    status, _, err = run(capsys, "cancel", code)
    assert status == 1 and "no OZmap property has client code" in err


def test_login_instead_of_a_key(
    env: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OZMAP_TOKEN", "")
    monkeypatch.setenv("OZMAP_AUTH", "login")
    monkeypatch.setenv("OZMAP_LOGIN", "devoz")
    monkeypatch.setenv("OZMAP_PASSWORD", "devoz")
    code, out, _ = run(capsys, "find", "reserva_123")
    assert code == 0 and out[1].startswith("  client 63ed056d7112800014c1c72e")
    monkeypatch.setenv("OZMAP_PASSWORD", "wrong")
    code, _, err = run(capsys, "find", "reserva_123")
    assert code == 1 and "check OZMAP_LOGIN and OZMAP_PASSWORD" in err and "wrong" not in err
