"""A local fake of Twilio's Messages API, and a signer for the webhooks Twilio sends us.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: form-encoded, HTTP basic auth with
the account SID and auth token; answers 201 with a Message resource, or Twilio's error JSON
(``{"code", "message", "more_info", "status"}``) for a wrong login (20003), a missing
To/From/Body (21602/21604), a Body over 1,600 characters (21617), a ContentSid that is not a
known quick-reply template (21656). Accepted messages are in :attr:`FakeTwilioAPI.messages`.

``GET /2010-04-01/Accounts/{AccountSid}.json`` answers the Account resource (status
:attr:`FakeTwilioAPI.account_status`), and ``GET .../IncomingPhoneNumbers.json?PhoneNumber=``
lists the account's numbers in :attr:`FakeTwilioAPI.numbers` (number -> its ``sms_url``), as
Twilio pages a list.

:func:`signed_post` builds a webhook request exactly as Twilio does: form body, and
``X-Twilio-Signature`` computed by twilio's own ``RequestValidator.compute_signature`` over the
public URL and the parameters.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

__all__ = ["FakeTwilioAPI", "SentMessage", "sign", "signed_post"]


@dataclass(frozen=True)
class SentMessage:
    """One message accepted by the fake; ``fields`` are the form fields as posted."""

    sid: str
    fields: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)  # for other processes (benchmark)

    @property
    def to(self) -> str:
        return self.fields["To"]

    @property
    def body(self) -> str | None:
        return self.fields.get("Body")

    @property
    def content_variables(self) -> dict[str, str]:
        return dict(json.loads(self.fields.get("ContentVariables", "{}")))

    @property
    def text(self) -> str:
        """What the customer reads first: the Body, or a quick reply's variable 1."""
        return self.body if self.body is not None else self.content_variables.get("1", "")


class FakeTwilioAPI:
    """The fake; ``app`` is the ASGI application. ``content_sids`` are the quick-reply templates
    that exist on the account."""

    def __init__(
        self, account_sid: str, auth_token: str, content_sids: tuple[str, ...] = ()
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.content_sids = set(content_sids)
        self.messages: list[SentMessage] = []
        self._sids = itertools.count(1)
        self._failures: list[tuple[int, int, str]] = []
        self._changed = asyncio.Condition()
        self.account_status = "active"
        self.numbers: dict[str, str] = {}  # the account's phone numbers -> their sms_url
        self.app = Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{account}/Messages.json",
                    self._create,
                    methods=["POST"],
                ),
                Route(
                    "/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json",
                    self._numbers,
                    methods=["GET"],
                ),
                Route("/2010-04-01/Accounts/{account}.json", self._account, methods=["GET"]),
            ]
        )

    def fail_next(self, status: int, code: int, message: str) -> None:
        """Make the next create fail with Twilio's error body (e.g. 400, 63016)."""
        self._failures.append((status, code, message))

    def to(self, number: str) -> list[SentMessage]:
        """Messages sent to ``whatsapp:+<digits>``, given the digits or the address."""
        address = number if number.startswith("whatsapp:") else f"whatsapp:+{number.lstrip('+')}"
        return [m for m in self.messages if m.to == address]

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), within)

    async def wait_sent(
        self, count: int, number: str | None = None, within: float = 10.0
    ) -> list[SentMessage]:
        def enough(fake: FakeTwilioAPI) -> bool:
            return len(fake.to(number) if number else fake.messages) >= count

        await self.wait_for(enough, within)
        return self.to(number) if number else list(self.messages)

    @staticmethod
    def _error(status: int, code: int, message: str) -> JSONResponse:
        return JSONResponse(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status_code=status,
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    async def _account(self, request: Request) -> JSONResponse:
        account = request.path_params["account"]
        if not self._authorized(request) or account != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        return JSONResponse(
            {
                "auth_token": self.auth_token,
                "date_created": "Thu, 01 Jan 2026 12:00:00 +0000",
                "date_updated": "Thu, 01 Jan 2026 12:00:00 +0000",
                "friendly_name": "ozbot tests",
                "owner_account_sid": account,
                "sid": account,
                "status": self.account_status,
                "subresource_uris": {},
                "type": "Full",
                "uri": f"/2010-04-01/Accounts/{account}.json",
            }
        )

    async def _numbers(self, request: Request) -> JSONResponse:
        account = request.path_params["account"]
        if not self._authorized(request) or account != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        wanted = request.query_params.get("PhoneNumber")
        rows = [
            {
                "account_sid": account,
                "phone_number": number,
                "sid": f"PN{index:032x}",
                "sms_method": "POST",
                "sms_url": sms_url,
                "uri": f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/PN{index:032x}.json",
            }
            for index, (number, sms_url) in enumerate(sorted(self.numbers.items()), start=1)
            if wanted is None or number == wanted
        ]
        uri = f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json"
        return JSONResponse(
            {
                "end": max(len(rows) - 1, 0),
                "first_page_uri": f"{uri}?PageSize=50&Page=0",
                "incoming_phone_numbers": rows,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    async def _create(self, request: Request) -> JSONResponse:
        account = request.path_params["account"]
        if not self._authorized(request) or account != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return self._error(400, 20001, "Content-Type must be form-urlencoded")
        form = await request.form()
        fields = {k: str(v) for k, v in form.items()}
        if self._failures:
            return self._error(*self._failures.pop(0))
        if not fields.get("To"):
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not fields.get("From"):
            return self._error(400, 21603, "A 'From' phone number is required.")
        content_sid = fields.get("ContentSid")
        if content_sid is None and not fields.get("Body"):
            return self._error(400, 21602, "Message body is required.")
        if len(fields.get("Body", "")) > 1600:
            return self._error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if content_sid is not None and content_sid not in self.content_sids:
            return self._error(400, 21656, "The ContentSid is Invalid.")
        if "ContentVariables" in fields:
            try:
                json.loads(fields["ContentVariables"])
            except ValueError:
                return self._error(400, 21656, "The ContentVariables Parameter is invalid.")
        sid = f"SM{next(self._sids):032x}"
        async with self._changed:
            self.messages.append(SentMessage(sid, fields))
            self._changed.notify_all()
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        return JSONResponse(
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "body": fields.get("Body", ""),
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": fields["From"],
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
                },
                "to": fields["To"],
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            },
            status_code=201,
        )


def sign(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for a form post of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def signed_post(public_url: str, params: Mapping[str, str], auth_token: str) -> dict[str, Any]:
    """Keyword arguments for ``httpx.AsyncClient.post`` reproducing Twilio's webhook request
    (the caller posts to wherever the server listens; the signature names ``public_url``)."""
    return {
        "content": urlencode(list(params.items())),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(public_url, params, auth_token),
            "I-Twilio-Idempotency-Token": f"{time.time_ns():x}",
            "User-Agent": "TwilioProxy/1.1",
        },
    }
