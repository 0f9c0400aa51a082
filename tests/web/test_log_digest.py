"""Customers are named in logs by a keyed digest (issue 10, item 9): an unsalted sha256 of
``"whatsapp:<number>"`` could be reversed by trying every Brazilian mobile number in about an
hour and a half on one core; an HMAC keyed by ``OZBOT_LOG_KEY`` (or, unset, by a secret the
processes keep in the store) cannot be tried without the key."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import httpx
import pytest

from bot.compose import compose
from bot.conversation import ref
from bot.logsafe import configure_logging, customer_ref, use_log_key
from bot.storage.sqlite import SqliteStore
from tests.fakes.payloads import tg_text
from tests.support.settings import offline_settings
from tests.web.support import TG_SECRET, Echo, app_for, channel_settings, make_fakes, running

KEY = "whatsapp:5511987654321"


def test_the_digest_is_keyed_stable_and_not_the_plain_sha256() -> None:
    use_log_key("first-key-for-the-test")
    first = customer_ref(KEY)
    assert first == customer_ref(KEY) == ref(KEY)  # one helper for every use
    assert first != hashlib.sha256(KEY.encode()).hexdigest()[: len(first)]
    assert len(first) == 12 and first != customer_ref("whatsapp:5511987654322")
    use_log_key("another-key")
    assert customer_ref(KEY) != first


def test_a_kept_digest_is_the_keyed_one_and_the_key_changes_it() -> None:
    """Digests are kept (a turn names its conversation several times): a kept one must be what
    the HMAC gives, also once more keys were seen than are kept, and never outlive its key."""
    import base64
    import hmac

    use_log_key("kept-digests")
    key = hashlib.sha256(b"ozbot.log-digest\0kept-digests").digest()

    def expected(name: str) -> str:
        mac = hmac.new(key, name.encode(), hashlib.sha256).digest()
        return base64.b32encode(mac).decode()[:12].lower()

    names = [f"telegram:{n}" for n in range(9000)]  # more than the 8192 kept
    assert [customer_ref(n) for n in names] == [expected(n) for n in names]
    assert [customer_ref(n) for n in names[:50]] == [expected(n) for n in names[:50]]
    use_log_key("kept-digests, another")
    assert customer_ref(names[-1]) != expected(names[-1])


async def test_without_a_log_key_the_processes_share_one_from_the_store(tmp_path: Path) -> None:
    settings = offline_settings(tmp_path, log_key="")
    digests = []
    for _ in range(2):  # two processes' composition roots on one database, one after the other
        store = SqliteStore(str(tmp_path / "shared.db"))
        await store.open()
        async with compose(settings, store=store, background=False):
            digests.append(customer_ref(KEY))
        use_log_key("something else, in between")
        await store.close()
    assert digests[0] == digests[1]
    async with compose(offline_settings(tmp_path, log_key="the-settings-key"), background=False):
        use_log_key("the-settings-key")
        expected = customer_ref(KEY)
    async with compose(offline_settings(tmp_path, log_key="the-settings-key"), background=False):
        assert customer_ref(KEY) == expected  # the setting wins


async def test_webhook_logs_name_the_customer_by_the_keyed_digest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # an accepted message is logged at DEBUG, a duplicate at INFO
    fakes, echo = make_fakes(), Echo()
    app = app_for(channel_settings(tmp_path, log_key="log-key-for-tests"), **echo.options(fakes))
    async with running(app) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.post(
            "/webhooks/telegram",
            json=tg_text(1, 123456789, "oi"),
            headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
        )
        assert response.status_code == 200
        await app.state.ozbot.dispatcher.join()
    plain = hashlib.sha256(b"telegram:123456789").hexdigest()[:12]
    assert plain not in caplog.text
    use_log_key("log-key-for-tests")
    assert customer_ref("telegram:123456789") in caplog.text


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_numbers_in_a_traceback_are_masked_in_the_log(log_format: str) -> None:
    """Our own lines name customers by digest, but a library's error chained under ours
    (Twilio's "The 'To' number whatsapp:+5511987654321 is not valid", PostgreSQL's DETAIL)
    is printed whole with the traceback: the log's formatter masks phone numbers and CPFs in
    everything it writes, message and traceback alike."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    configure_logging(log_format=log_format, stream=out)
    log = logging.getLogger("ozbot.test.mask")
    try:
        try:
            raise ValueError("The 'To' number whatsapp:+5511987654321 is not a valid phone number")
        except ValueError as exc:
            raise RuntimeError("could not send; CPF 529.982.247-25 or 52998224725") from exc
    except RuntimeError:
        log.exception("could not deliver replies to conversation %s", "abc123def456")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    written = out.getvalue()
    assert "abc123def456" in written and "could not deliver" in written
    for secret in ("5511987654321", "987654321", "529.982.247-25", "52998224725"):
        assert secret not in written
    assert "***21" in written  # what is left says a number was there
