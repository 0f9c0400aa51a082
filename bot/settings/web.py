"""The web server block (``ozbot serve``): its public address, the keys of cookies and logs,
the pruning of old rows, how many turns run at once."""

from __future__ import annotations

from bot.settings.fields import Block, setting

__all__ = ["Web"]


class Web(Block):
    public_base_url: str = setting(
        "http://127.0.0.1:8000",
        "PUBLIC_BASE_URL",
        "the https address messengers reach this server at (Twilio signs requests with it). "
        "`ozbot serve` also reads PORT (default 8000) and FORWARDED_ALLOW_IPS (trusted proxies)",
        example="https://bot.sua-empresa.com.br",
        section="web server (ozbot serve)",
    )
    session_secret: str = setting(
        "",
        "OZBOT_SESSION_SECRET",
        'signs web-chat session cookies: a long random string (e.g. python -c "import '
        'secrets; print(secrets.token_urlsafe(32))"); empty: one kept in the database',
        example="change-me-to-a-long-random-string",
        secret=True,
    )
    log_key: str = setting(
        "",
        "OZBOT_LOG_KEY",
        "keys the digests that name customers in logs (a long random string); empty: a key "
        "generated once and kept in the database, shared by every process",
        example="change-me-to-another-long-random-string",
        secret=True,
    )
    prune_every: float = setting(
        3600.0,
        "OZBOT_PRUNE_EVERY",
        "seconds between deletions of old rows (message ids, expired cache, ended sessions); "
        "0: never",
    )
    prune_message_days: float = setting(
        30.0,
        "OZBOT_PRUNE_MESSAGE_DAYS",
        "days a message id is kept to recognise a re-delivery (messengers stop within a day)",
    )
    webhook_concurrency: int = setting(
        32, "OZBOT_WEBHOOK_CONCURRENCY", "turns one `ozbot serve` process runs at once"
    )
