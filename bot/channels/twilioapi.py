"""Twilio's Messages API as it is on the wire: a form posted to
``<api>/2010-04-01/Accounts/<AccountSid>/Messages.json`` with HTTP basic auth, a Message
resource (201) or ``{"code", "message", "more_info", "status"}`` back, on the shared
``httpx.AsyncClient`` (tests mount the fake on it).

Why not the ``twilio`` library for sending: its ``messages.create_async`` walks its domain,
version and list layers, and parses every answer into a ``MessageInstance`` (dates included)
that nobody reads, about 0.1 ms of CPU per message on top of the request; the bot sends one
kind of request with six documented fields. ``ozbot doctor`` still reads accounts and numbers
through the library (:func:`bot.channels.whatsapp.make_twilio_client`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

import httpx

__all__ = ["DEFAULT_API_URL", "FIELDS", "TwilioApiError", "TwilioMessages"]

DEFAULT_API_URL = "https://api.twilio.com"
#: the Messages API's form fields, by the keyword ozbot passes them as
FIELDS = {
    "to": "To",
    "from_": "From",
    "body": "Body",
    "content_sid": "ContentSid",
    "content_variables": "ContentVariables",
    "status_callback": "StatusCallback",
}


class TwilioApiError(Exception):
    """Twilio refused a message (``status`` the HTTP status, ``code`` Twilio's error code, 0
    when the answer was not Twilio's), or was unreachable (``unreachable``). The text never
    holds Twilio's message, which can quote the customer's number."""

    def __init__(self, status: int, code: int, *, unreachable: bool = False) -> None:
        super().__init__(f"HTTP {status}, error {code}")
        self.status = status
        self.code = code
        self.unreachable = unreachable


class TwilioMessages:
    """Creates messages for one account. :meth:`create` raises :class:`TwilioApiError`."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        client: httpx.AsyncClient,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 15.0,
    ) -> None:
        self._url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        login = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._headers = {"Authorization": f"Basic {login}"}
        self._client = client
        self._timeout = httpx.Timeout(timeout)

    async def create(self, **fields: str) -> str:
        """Send one message (``to``, ``from_``, and ``body`` or ``content_sid`` with
        ``content_variables``; ``status_callback``); returns its sid."""
        form = {FIELDS[name]: value for name, value in fields.items()}
        try:
            response = await self._client.post(
                self._url, data=form, headers=self._headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise TwilioApiError(0, 0, unreachable=True) from exc
        try:
            answer = json.loads(response.content)
        except ValueError:
            answer = None
        if not isinstance(answer, Mapping):
            raise TwilioApiError(response.status_code, 0)
        if response.status_code >= 400:
            code = answer.get("code")
            raise TwilioApiError(response.status_code, code if isinstance(code, int) else 0)
        return str(answer.get("sid", ""))
