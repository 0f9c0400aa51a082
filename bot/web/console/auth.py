"""Who is asking, and may they: the console's sessions, CSRF defences and login throttle.

* Session: a random token in the ``ozbot_console`` cookie (HttpOnly, SameSite=Strict, path
  ``/console``, Secure when ``PUBLIC_BASE_URL`` is https); the store keeps its SHA-256 digest.
* CSRF, on every POST: the request's ``Origin`` (or, lacking one, ``Referer``) must be this
  site; and a synchroniser token must come with it: ``X-CSRF-Token`` from the page's script,
  or the ``csrf`` form field. The token is an HMAC of the session token, so it needs no storage
  and dies with the session. The login form, before any session, uses a double-submit cookie.
* Throttle: login attempts are counted per account and per client address in a fixed window,
  before the password is checked; over the limit, logins are refused (429) until the window
  ends, even with the right password. The counts live in the store, shared by every process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from bot.storage.security import SecurityStore

__all__ = [
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "LoginThrottle",
    "csrf_token",
    "new_token",
    "origin_allowed",
    "token_digest",
    "tokens_match",
]

SESSION_COOKIE = "ozbot_console"
LOGIN_COOKIE = "ozbot_console_login"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The synchroniser token pages of this session carry."""
    mac = hmac.new(session_token.encode(), b"ozbot.console.csrf", hashlib.sha256)
    return mac.hexdigest()


def tokens_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(request: Request, public_base_url: str) -> bool:
    """Whether a POST comes from a page of this site: its ``Origin`` (or ``Referer`` when a
    browser left Origin out) is the public URL's origin, or the one the request was sent to
    (the site reached directly, without the proxy). A request with neither is refused."""
    claimed = request.headers.get("origin")
    if claimed is None or claimed == "null":
        referer = request.headers.get("referer")
        claimed = _origin(referer) if referer else None
    if not claimed:
        return False
    allowed = {_origin(public_base_url)}
    host = request.headers.get("host")
    if host:
        allowed.add(f"{request.url.scheme}://{host}".lower())
    return claimed.lower() in allowed


@dataclass
class LoginThrottle:
    """Counts login attempts per account and per address in a window of ``window`` seconds,
    in the store (so every process sees the same counts).

    :meth:`attempt` counts the attempt *before* the password is checked, atomically in the
    store, and says how many seconds remain before another attempt is heard (0: go ahead).
    Checking first and counting after the slow argon2 check let 40 concurrent guesses all
    through. A success clears the account's count and takes this attempt back from the
    address's (one right password must not wipe out a guessing spree from the same place on
    other accounts, and an office of agents logging in must not lock itself out).
    """

    store: SecurityStore
    per_account: int = 5
    per_address: int = 20
    window: float = 15 * 60

    async def attempt(self, account: str, address: str) -> float:
        wait = 0.0
        for key, limit in ((f"a:{account}", self.per_account), (f"ip:{address}", self.per_address)):
            counted = await self.store.count_attempt(key, self.window)
            if counted.count > limit:
                wait = max(wait, counted.retry_after, 1.0)
        return wait

    async def succeeded(self, account: str, address: str) -> None:
        await self.store.clear_attempts(f"a:{account}")
        await self.store.uncount_attempt(f"ip:{address}")
