"""One exception tree for ozbot.

Foreign errors (httpx, geopy, psycopg, sqlite3, twilio, telegram) are translated at the boundary
that meets them, with ``raise ... from exc``, so callers only ever catch these::

    OzbotError
    ├── ConfigError                 a setting is missing or malformed (message names the variable)
    ├── OzmapError                  anything that went wrong talking to OZmap
    │   ├── OzmapUnavailable        network error, timeout or 5xx: worth retrying later
    │   │   └── ReservationUnconfirmed  a reservation was sent, its answer lost, and OZmap
    │   │                           cannot be asked yet whether it was made (``code``)
    │   ├── OzmapAuthError          401/403: the API key is wrong or lacks the API module
    │   ├── OzmapNotFound           404: no such element
    │   └── OzmapRejected           other 4xx: OZmap refused the request; ``message`` is its text
    │       └── NoFreePort          the box has no free port left for a reservation
    ├── GeocodingError              anything that went wrong turning text into coordinates
    │   ├── GeocoderUnavailable     the provider is unreachable, rate-limited or failing
    │   └── InvalidInput            CEP, CPF or coordinates that cannot be valid
    ├── StorageError                the database failed or refused
    │   └── LockTimeout             a conversation's lock could not be taken in time
    └── ChannelError                a messenger could not be reached or refused a message
        ├── SignatureError          a webhook's signature or secret token did not verify
        └── BadPayload              a webhook's body is not a message of the shape we read
"""

from __future__ import annotations

__all__ = [
    "BadPayload",
    "ChannelError",
    "ConfigError",
    "GeocoderUnavailable",
    "GeocodingError",
    "InvalidInput",
    "LockTimeout",
    "NoFreePort",
    "OzbotError",
    "OzmapAuthError",
    "OzmapError",
    "OzmapNotFound",
    "OzmapRejected",
    "OzmapUnavailable",
    "ReservationUnconfirmed",
    "SignatureError",
    "StorageError",
]


class OzbotError(Exception):
    """Root of every error ozbot raises on purpose."""


class ConfigError(OzbotError):
    """A setting is missing or malformed; the message names the variable and the fix."""


class OzmapError(OzbotError):
    """Talking to OZmap failed. ``status`` is the HTTP status when there was an answer."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class OzmapUnavailable(OzmapError):
    """OZmap could not be reached, timed out, or answered 5xx."""


class ReservationUnconfirmed(OzmapUnavailable):
    """A reservation was sent with client code ``code`` but its answer was lost, and OZmap
    could not be asked afterwards whether it holds it: it may. Whoever catches it keeps the
    code, so the reservation can be looked up (and cancelled) by it later."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class OzmapAuthError(OzmapError):
    """OZmap refused the API key (401/403)."""


class OzmapNotFound(OzmapError):
    """The element asked for does not exist (404)."""


class OzmapRejected(OzmapError):
    """OZmap answered 4xx to a well-formed request; ``message`` carries its explanation."""


class NoFreePort(OzmapRejected):
    """A reservation found no free port on the chosen box."""


class GeocodingError(OzbotError):
    """Turning an address into coordinates (or back) failed."""


class GeocoderUnavailable(GeocodingError):
    """The geocoding or CEP provider is unreachable, rate-limited or failing."""


class InvalidInput(GeocodingError):
    """A CEP, CPF or coordinate pair that cannot be valid."""


class StorageError(OzbotError):
    """The database failed or refused an operation."""


class LockTimeout(StorageError):
    """A conversation's lock could not be taken within the allowed time."""


class ChannelError(OzbotError):
    """A messenger could not be reached or refused a message."""


class SignatureError(ChannelError):
    """A webhook's signature or secret token did not verify."""


class BadPayload(ChannelError):
    """A webhook's body is malformed: not JSON/form data of the messenger's documented shape."""
