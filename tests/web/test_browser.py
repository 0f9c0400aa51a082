"""The web chat in a real Chromium (Debian's package, driven by Playwright): a visitor checks
coverage and reserves, using the buttons and the browser's geolocation; what people type is
shown as text, never run as HTML; the session cookie is out of the page's reach."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from bot.i18n import Catalogs
from bot.ozmap.sandbox import RunningSandbox
from tests.web.support import app_for, channel_settings, running

pytestmark = pytest.mark.browser

t = Catalogs.load(strict=True).translator("pt_BR")


@pytest.fixture
async def chat_url(tmp_path: Path, sandbox: RunningSandbox) -> AsyncIterator[str]:
    settings = channel_settings(
        tmp_path,
        sandbox,
        public_base_url="http://127.0.0.1",  # the browser speaks plain http to loopback
        telegram_token="",
        twilio_account_sid="",
    )
    async with running(app_for(settings, sse_seconds=5)) as url:
        yield url + "/chat"


async def open_chat(browser: Browser, url: str, lat: float, lng: float) -> Page:
    context = await browser.new_context(
        locale="pt-BR",
        geolocation={"latitude": lat, "longitude": lng},
        permissions=["geolocation"],
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)  # a missing button fails in 10 s, not Playwright's 30
    await page.goto(url)
    await expect(page.locator("header")).to_have_text(t("webchat.title"))
    return page


async def type_message(page: Page, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.locator("#text").press("Enter")


async def test_visitor_checks_coverage_and_reserves(
    browser: Browser, chat_url: str, sandbox: RunningSandbox
) -> None:
    covered = sandbox.network.samples["covered"]
    page = await open_chat(browser, chat_url, covered["lat"], covered["lng"])
    log = page.locator("#log")

    await type_message(page, "oi")
    await page.get_by_role("button", name=t("menu.option.sales")).click()
    share = page.get_by_role("button", name=t("channel.share_location"))
    await share.click()  # the browser's geolocation, granted to this context
    await expect(log).to_contain_text("Rua Delminda Silveira, 900")
    await page.get_by_role("button", name=t("sales.button.right_address")).last.click()
    await expect(log).to_contain_text("a nossa fibra chega aí")
    await type_message(page, "<b>Ana</b> Souza")
    await expect(log).to_contain_text("• Nome: <b>Ana</b> Souza")  # shown as typed, as text
    await page.get_by_role("button", name=t("sales.button.reserve")).last.click()
    await expect(log).to_contain_text(re.compile(r"OZB-[A-Z2-9]{6}"))

    code = re.search(r"OZB-[A-Z2-9]{6}", await log.inner_text())
    assert code is not None
    client = sandbox.network.client_by_code(code.group(0))
    assert client is not None and client["implanted"] is False
    assert await log.locator("b").count() == 0
    # answered options cannot be tapped again
    assert await page.get_by_role(
        "button", name=t("sales.button.right_address")
    ).first.is_disabled()


async def test_message_text_is_never_html_and_the_cookie_is_out_of_reach(
    browser: Browser, chat_url: str
) -> None:
    page = await open_chat(browser, chat_url, -27.58, -48.53)
    attack = '<img src=x onerror="window.__pwned = 1">'
    await type_message(page, attack)
    mine = page.locator("#log .me .bubble").last
    await expect(mine).to_have_text(attack)
    await expect(page.locator("#log .bot .bubble").first).to_be_visible()  # the bot answered
    assert await page.locator("#log img").count() == 0
    assert await page.evaluate("window.__pwned") is None
    assert "ozbot_chat" not in await page.evaluate("document.cookie")
    cookies = await page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "ozbot_chat"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"


async def test_denied_geolocation_says_what_to_do_instead(browser: Browser, chat_url: str) -> None:
    context = await browser.new_context(locale="pt-BR")  # no geolocation permission
    page = await context.new_page()
    await page.goto(chat_url)
    await type_message(page, "quero contratar")
    await page.get_by_role("button", name=t("channel.share_location")).click()
    await expect(page.locator("#log .note").last).to_have_text(t("webchat.location_denied"))


async def test_page_speaks_the_visitors_language(browser: Browser, chat_url: str) -> None:
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(chat_url)
    english = Catalogs.load(strict=True).translator("en")
    await expect(page.locator("header")).to_have_text(english("webchat.title"))
    await expect(page.locator("#text")).to_have_attribute(
        "placeholder", english("webchat.placeholder")
    )
    async with httpx.AsyncClient() as http:  # the page's static parts are served
        assert (
            await http.get(chat_url.replace("/chat", "/chat/static/webchat.css"))
        ).status_code == 200
