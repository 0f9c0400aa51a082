"""Reservation codes an ERP can match, end to end: the sales flow makes them from the provider's
template (a prefix, the date, the store's sequence, the CPF's digits), and ``ozbot ozmap`` finds,
activates and cancels the reservation by that code."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.ozmap.sandbox import RunningSandbox
from tests.engine.support import Chat
from tests.flows.conftest import FIXED_NOW, MakeChat

CODE = re.compile(r"Código da reserva: (\S+)")

#: ``ozbot ozmap ARGS...`` against the sandbox: its exit status, and what it printed
OzmapCli = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def ozmap_cli(
    sandbox: RunningSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> OzmapCli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OZMAP_URL", sandbox.url)
    monkeypatch.setenv("OZMAP_TOKEN", sandbox.token)

    async def run(*argv: str) -> tuple[int, str, str]:
        # the command runs its own event loop, as from a shell: in a thread of its own
        status = await asyncio.to_thread(main, ["ozmap", *argv])
        printed = capsys.readouterr()
        return status, printed.out, printed.err

    return run


async def reserve(chat: Chat, address: str, cpf: str | None = None) -> str:
    await chat.says("oi")
    await chat.says("1")
    await chat.says(address)
    await chat.says("sim")
    await chat.says("Gabriel Marioto")
    if cpf is not None:
        await chat.says(cpf)
    await chat.says(str(chat.option("yes")))
    found = CODE.search(chat.last_reply.text)
    assert found, chat.text
    return found.group(1).rstrip(".")


async def test_codes_follow_the_template_and_the_sequence(
    make_chat: MakeChat, sandbox: RunningSandbox
) -> None:
    template = "ISP-{date:%Y%m%d}-{seq:05d}"
    day = FIXED_NOW.astimezone(ZoneInfo("America/Sao_Paulo")).strftime("%Y%m%d")
    first = await reserve(
        await make_chat("5548999990001", code_template=template), "R. Delminda Silveira, 900"
    )
    second = await reserve(
        await make_chat("5548999990002", code_template=template), "R. Delminda Silveira, 1400"
    )
    assert (first, second) == (f"ISP-{day}-00001", f"ISP-{day}-00002")
    for code in (first, second):
        client = sandbox.network.client_by_code(code)
        assert client is not None and client["implanted"] is False


async def test_a_cpf_code(make_chat: MakeChat, sandbox: RunningSandbox) -> None:
    chat = await make_chat(require_cpf=True, code_template="C{cpf:6}-{seq}")
    code = await reserve(chat, "R. Delminda Silveira, 900", cpf="529.982.247-25")
    assert code == "C224725-1"
    assert sandbox.network.client_by_code(code) is not None


async def test_found_activated_and_cancelled_by_that_code(
    make_chat: MakeChat, sandbox: RunningSandbox, ozmap_cli: OzmapCli
) -> None:
    code = await reserve(await make_chat(code_template="ERP{seq:06d}"), "R. Delminda Silveira, 900")
    assert code == "ERP000001"

    async def ozmap(*argv: str) -> list[str]:
        status, out, _ = await ozmap_cli(*argv)
        assert status == 0
        return out.splitlines()

    assert f"code {code}" in (await ozmap("find", code))[1]
    assert (await ozmap("activate", code))[0].startswith(f"{code}: implanted")
    assert sandbox.network.client_by_code(code)["implanted"] is True  # type: ignore[index]
    assert (await ozmap("cancel", code))[0].startswith(f"{code}: cancelled")
    assert sandbox.network.client_by_code(code) is None


async def test_a_prospect_is_found_by_its_code(
    make_chat: MakeChat, sandbox: RunningSandbox, ozmap_cli: OzmapCli
) -> None:
    chat = await make_chat(code_template="LEAD{seq:04d}")
    await chat.says("oi")
    await chat.says("1")
    await chat.says("Av. Madre Benvenuta, 1500")
    await chat.says("sim")
    await chat.says("Carla Dias")
    [prospect] = [p for p in sandbox.network.docs("prospects") if p.get("code") == "LEAD0001"]
    assert prospect["external_id"] == "LEAD0001"
    status, out, _ = await ozmap_cli("find", "LEAD0001")
    assert status == 0
    [line] = out.splitlines()
    assert line.startswith(f"prospect {prospect['_id']}  code LEAD0001  external_id LEAD0001")
    assert "Carla Dias" in line and "5548999990001" not in line  # the phone masked
    status, _, err = await ozmap_cli("find", "LEAD9999")
    assert status == 1 and "no OZmap property or prospect" in err
