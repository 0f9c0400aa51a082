"""The agent console in a real Chromium (Debian's package, driven by Playwright), against the
real app: customers write through the real Telegram and Twilio webhooks (the messenger fakes
record what reaches them), the engine queues them, and an agent works the queue in the page.

Screenshots of the queue and of a conversation are taken on the way; with
``OZBOT_CONSOLE_SCREENSHOTS=1`` they are written to ``docs/console-queue.png`` and
``docs/console-conversation.png`` (the README shows them), otherwise to a temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from bot.ozmap.sandbox import RunningSandbox
from tests.console.support import (
    PASSWORD,
    Served,
    TelegramCustomer,
    WhatsappCustomer,
    reserve_then_ask_for_a_person,
    serve_console,
)

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
XSS = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'


@pytest.fixture
async def served(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[Served]:
    # the browser speaks plain http to loopback: the public URL says so
    async with serve_console(tmp_path, sandbox, public_base_url="http://127.0.0.1") as s:
        await s.add_agent("maria")
        yield s


def shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("OZBOT_CONSOLE_SCREENSHOTS") == "1" else tmp_path


async def log_in(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    await page.goto(url + "/console/")
    await expect(page).to_have_url(url + "/console/login")
    await page.get_by_label("Nome").fill("maria")
    await page.get_by_label("Senha").fill(PASSWORD)
    await page.get_by_role("button", name="Entrar").click()
    await expect(page).to_have_url(url + "/console/")
    return page


async def test_an_agent_works_the_queue_across_channels(
    browser: Browser, served: Served, tmp_path: Path
) -> None:
    url = served.url
    context = await browser.new_context(locale="pt-BR", viewport={"width": 1280, "height": 800})
    page = await log_in(context, url)
    await expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    await expect(page.locator("#waiting-empty")).to_be_visible()

    # two customers ask for a person while the agent watches: they appear live
    ana = TelegramCustomer(served, 552201)
    await ana.says("quero falar com um atendente")
    waiting = page.locator("#waiting tbody tr")
    await expect(waiting).to_have_count(1)
    await expect(waiting.first).to_have_class(re.compile(r"\bnew\b"))  # highlighted arrival
    await expect(page).to_have_title(re.compile(r"^\(1\) "))  # the title's badge
    code = await reserve_then_ask_for_a_person(served, "5548991234567")
    await expect(waiting).to_have_count(2)
    await expect(page).to_have_title(re.compile(r"^\(2\) "))
    await ana.says(XSS)  # while waiting: shown as her last message, as text
    telegram_row = page.locator("#waiting tr.telegram")
    await expect(telegram_row.locator("td.last")).to_have_text(XSS)
    await expect(page.locator("#waiting tr.whatsapp td.customer")).to_have_text("Bruno Lima")
    await page.screenshot(path=str(shots(tmp_path) / "console-queue.png"))

    # Ana (Telegram): claim, read, answer, hear back live, hand back to the bot
    await telegram_row.get_by_role("button", name="Assumir").click()
    await expect(page).to_have_url(re.compile(r"/console/tickets/\d+$"))
    transcript = page.locator("#transcript")
    await expect(transcript.locator("li.customer .bubble").last).to_have_text(XSS)
    await expect(page.locator("#transcript img, #transcript script")).to_have_count(0)
    assert await page.evaluate("window.__pwned") is None
    await page.locator("#reply-text").fill("Olá Ana, aqui é a Maria. Como posso ajudar?")
    await page.get_by_role("button", name="Enviar").click()
    await expect(transcript.locator("li.agent .bubble").last).to_have_text(
        "Olá Ana, aqui é a Maria. Como posso ajudar?"
    )
    assert ana.received[-1] == "Olá Ana, aqui é a Maria. Como posso ajudar?"
    await ana.says("minha internet caiu desde ontem")
    await expect(transcript.locator("li.customer .bubble").last).to_have_text(
        "minha internet caiu desde ontem"
    )
    await page.get_by_role("button", name="Devolver ao bot").click()
    await page.get_by_role("button", name="Confirmar").click()
    await expect(page).to_have_url(url + "/console/")
    told = len(ana.received)
    await ana.says("oi")
    assert len(ana.received) > told  # the bot answers her again
    assert "Olá Ana" not in ana.received[-1]

    # Bruno (WhatsApp): claim, answer, activate his reservation in OZmap, close
    await page.locator("#waiting tr.whatsapp").get_by_role("button", name="Assumir").click()
    await expect(page.locator("#context")).to_contain_text(code)
    await expect(page.locator("#context")).to_contain_text("Rua Delminda Silveira, 900")
    await page.locator("#reply-text").fill("Oi Bruno! Sua instalação foi concluída?")
    await page.locator("#reply-text").press("Enter")
    await expect(transcript.locator("li.agent .bubble").last).to_have_text(
        "Oi Bruno! Sua instalação foi concluída?"
    )
    bruno = WhatsappCustomer(served, "5548991234567")
    assert bruno.received[-1] == "Oi Bruno! Sua instalação foi concluída?"
    await bruno.says("Sim, o técnico acabou de sair")
    await expect(transcript.locator("li.customer .bubble").last).to_have_text(
        "Sim, o técnico acabou de sair"
    )
    client = served.sandbox.network.client_by_code(code)
    assert client is not None and client["implanted"] is False
    await page.get_by_role("button", name="Ativar reserva").click()
    await expect(page.locator("#confirm-text")).to_contain_text(code)
    await page.get_by_role("button", name="Confirmar").click()
    await expect(transcript.locator("li.system .bubble").last).to_have_text(
        f"[maria] reserva {code} ativada no OZmap (implantada)"
    )
    client = served.sandbox.network.client_by_code(code)
    assert client is not None and client["implanted"] is True
    await page.screenshot(path=str(shots(tmp_path) / "console-conversation.png"))
    await page.get_by_role("button", name="Encerrar atendimento").click()
    await page.get_by_role("button", name="Confirmar").click()
    await expect(page).to_have_url(url + "/console/")
    await expect(page.locator("#claimed-empty")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    await expect(page.locator("#waiting-empty")).to_be_visible()
    assert not (await page.title()).startswith("(")

    # the session cookie is out of the page's reach
    assert "ozbot_console" not in await page.evaluate("document.cookie")
    await context.close()


async def test_pages_without_a_login_go_to_the_login(browser: Browser, served: Served) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    for path in ("/console/", "/console/tickets/1"):
        await page.goto(served.url + path)
        await expect(page).to_have_url(served.url + "/console/login")
        await expect(page.get_by_role("button", name="Entrar")).to_be_visible()
    await page.get_by_label("Nome").fill("maria")
    await page.get_by_label("Senha").fill("not the password")
    await page.get_by_role("button", name="Entrar").click()
    await expect(page.get_by_role("alert")).to_have_text("Nome ou senha incorretos.")
    await context.close()
