"""A storm of failed console logins, as the throttle test and bench/logins.py both stage it.

The browsers are opened (login page read, CSRF token taken) before the storm: building them
during it would be load of the caller's own making on the event loop it shares with what it
measures. Each browser then sends one wrong password from its own forwarded address, so the
throttle lets every attempt reach the password check, and closes.
"""

from __future__ import annotations

import asyncio
import re

import httpx

__all__ = ["failed_login_storm"]

# No idle connection for a timeout to cut while the storm holds the server up.
FRESH = httpx.Limits(max_keepalive_connections=0)


async def failed_login_storm(
    url: str, logins: int, *, client_timeout: float
) -> asyncio.Future[list[int]]:
    """Open ``logins`` browsers on the console at ``url``, then start their failed logins at
    once; the returned future gives each login's status code."""
    browsers: list[tuple[httpx.AsyncClient, str]] = []
    for _ in range(logins):
        http = httpx.AsyncClient(base_url=url, timeout=client_timeout, limits=FRESH)
        form = await http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        browsers.append((http, token.group(1)))

    async def login(n: int) -> int:
        http, token = browsers[n]
        response = await http.post(
            "/console/login",
            data={"csrf": token, "name": f"nobody{n}", "password": "wrong password"},
            headers={"Origin": url, "X-Forwarded-For": f"10.9.{n // 250}.{n % 250}"},
        )
        await http.aclose()
        return response.status_code

    return asyncio.gather(*(login(n) for n in range(logins)))
