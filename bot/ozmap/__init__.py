"""OZmap: the typed API client and the models it returns (the sandbox server lives in
:mod:`bot.ozmap.sandbox`)."""

from bot.ozmap.client import OzmapClient
from bot.ozmap.models import (
    ClientStatus,
    CondoOption,
    Feasibility,
    FeasibleBox,
    FreePort,
    FtthClient,
    NewReservation,
    Property,
    Prospect,
    Region,
    Tag,
)

__all__ = [
    "ClientStatus",
    "CondoOption",
    "Feasibility",
    "FeasibleBox",
    "FreePort",
    "FtthClient",
    "NewReservation",
    "OzmapClient",
    "Property",
    "Prospect",
    "Region",
    "Tag",
]
