"""What the console shows of a conversation, as plain data: pure functions over the stored
records (table-tested in ``tests/console/test_pure.py``).

The console is for the provider's staff; its labels are Portuguese, the agents' language, and
live in the templates and here. Customers' words pass through as data, to be rendered as text.
A CPF is shown masked: the agent does not need it to help, and screens get photographed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.conversation import Conversation, TranscriptEntry
from bot.engine.routing import PROFILE_NAME_KEY
from bot.storage.base import HandoffTicket
from bot.validation import mask_cpf, mask_phone

__all__ = [
    "CHANNELS",
    "REASONS",
    "context_lines",
    "customer_label",
    "entry_json",
    "reservation_codes",
    "ticket_json",
]

CHANNELS = {"telegram": "Telegram", "whatsapp": "WhatsApp", "webchat": "Chat do site"}
REASONS = {
    "asked": "pediu atendente",
    "failures": "o bot não conseguiu ajudar",
    "outage": "falha na rede",
}
FEASIBILITY = {
    "box": "viável (caixa)",
    "condominium": "viável (condomínio)",
    "none": "sem viabilidade",
}


def _sales(context: Mapping[str, Any]) -> Mapping[str, Any]:
    data = context.get("sales")
    return data if isinstance(data, Mapping) else {}


def customer_label(conversation: Conversation | None, key: str) -> str:
    """The name the customer gave, else their messenger profile's, else the channel's contact
    with only its end showing."""
    if conversation is not None:
        for name in (
            _sales(conversation.context).get("name"),
            conversation.context.get(PROFILE_NAME_KEY),
        ):
            if isinstance(name, str) and name.strip():
                return name.strip()
    contact = key.partition(":")[2]
    if key.startswith("webchat:"):
        return "visitante " + contact[-4:]
    return mask_phone(contact) if sum(c.isdigit() for c in contact) >= 8 else "…" + contact[-4:]


def reservation_codes(context: Mapping[str, Any]) -> list[dict[str, str]]:
    """The reservations this conversation made (``context["reservations"]``), newest last:
    the only client codes the console lets an agent act on in OZmap."""
    found = context.get("reservations")
    if not isinstance(found, Sequence):
        return []
    return [
        {"code": str(r["code"]), "address": str(r.get("address") or "")}
        for r in found
        if isinstance(r, Mapping) and isinstance(r.get("code"), str)
    ]


def context_lines(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` lines of what the bot learned: address, coordinates, feasibility,
    unit, name, CPF (masked), reservations."""
    sales = _sales(context)
    lines: list[tuple[str, str]] = []
    place = sales.get("place")
    if isinstance(place, Mapping):
        if place.get("address"):
            lines.append(("Endereço", str(place["address"])))
        lat, lng = place.get("lat"), place.get("lng")
        if isinstance(lat, int | float) and isinstance(lng, int | float):
            lines.append(("Coordenadas", f"{lat:.6f}, {lng:.6f}"))
    feasibility = sales.get("feasibility")
    if isinstance(feasibility, Mapping):
        kind = str(feasibility.get("kind", ""))
        text = FEASIBILITY.get(kind, kind)
        condo = feasibility.get("condominium")
        if isinstance(condo, Mapping) and condo.get("name"):
            text += f": {condo['name']}"
        distance = feasibility.get("distance")
        if isinstance(distance, int | float):
            text += f", caixa a {distance:.0f} m"
        lines.append(("Viabilidade", text))
    for label, key in (("Unidade", "unit"), ("Nome", "name")):
        if sales.get(key):
            lines.append((label, str(sales[key])))
    if sales.get("cpf"):
        lines.append(("CPF", mask_cpf(str(sales["cpf"]))))
    for reservation in reservation_codes(context):
        lines.append(("Reserva", f"{reservation['code']} — {reservation['address']}".strip(" —")))
    return lines


def entry_json(entry: TranscriptEntry) -> dict[str, str]:
    return {"role": entry.role, "text": entry.text, "at": entry.at.isoformat()}


def ticket_json(
    ticket: HandoffTicket,
    conversation: Conversation | None,
    transcript: Sequence[TranscriptEntry],
    agent: str,
) -> dict[str, Any]:
    """A ticket as the queue lists it; ``transcript`` is its recent lines (the last customer
    line is shown)."""
    last = next((e for e in reversed(transcript) if e.role == "customer"), None)
    channel = conversation.channel if conversation else ticket.key.partition(":")[0]
    return {
        "id": ticket.id,
        "status": ticket.status,
        "channel": channel,
        "channel_label": CHANNELS.get(channel, channel),
        "customer": customer_label(conversation, ticket.key),
        "reason": REASONS.get(ticket.reason, ticket.reason),
        "since": ticket.since.isoformat(),
        "agent": ticket.agent,
        "mine": ticket.agent == agent,
        "outcome": ticket.outcome,
        "last_message": entry_json(last) if last else None,
    }
