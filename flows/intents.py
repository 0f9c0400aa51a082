"""The global intents: what a customer can ask for from anywhere in a conversation.

With an understander (``bot/nlu``), ``understood`` names its intents that mean each row, and
``carries`` the facts that start a row's flow from the menu ("rua delminda silveira 900": a
sale); the engine's repair (:mod:`bot.engine.repair`) decides the rest. The phrases are the
routing without one: written normalised (lower case, no accents; see
:func:`bot.engine.normalize`) in the three languages the bot speaks. Order matters: the first
matching row wins, so the specific requests come before the generic ones.
"""

from __future__ import annotations

from bot.engine import Intent
from bot.nlu.base import EntityKind

INTENTS: tuple[Intent, ...] = (
    Intent(
        "handoff",
        flow="handoff",
        phrases=(
            "atendente", "humano", "falar com alguem", "falar com uma pessoa", "suporte humano",
            "human", "agent", "operator", "real person",
            "agente", "operador", "persona real",
        ),
        understood=("human",),
        asks_first=False,  # asking for a person never waits
    ),
    Intent(
        "privacy",
        flow="privacy",
        phrases=(
            "apagar meus dados", "excluir meus dados", "apague meus dados", "apagar dados",
            "apagar minhas informacoes", "lgpd",
            "delete my data", "erase my data", "remove my data",
            "borrar mis datos", "eliminar mis datos",
        ),
        understood=("erase_data",),
        asks_first=False,  # the flow asks for a confirmation itself
    ),
    Intent(
        "cancel",
        flow="cancellation",
        phrases=("cancelar", "cancelamento", "cancel", "cancellation", "cancelacion"),
        understood=("cancel",),
    ),
    Intent(
        "outage",
        flow="outage",
        phrases=(
            "sem internet", "sem conexao", "internet caiu", "internet nao funciona", "sem sinal",
            "queda de internet",
            "no internet", "internet down", "internet is down", "no connection",
            "sin internet", "sin conexion", "internet no funciona",
        ),
        understood=("outage",),
    ),
    Intent(
        "sales",
        flow="sales",
        phrases=(
            # not "cobertura" alone: it is also a penthouse, a valid answer for the unit
            "quero contratar", "contratar", "assinar", "tem cobertura", "consultar cobertura",
            "verificar cobertura", "ver cobertura", "viabilidade", "tem fibra",
            "subscribe", "sign up", "check coverage", "coverage",
            "quiero contratar", "suscribir", "suscribirme", "hay cobertura",
        ),
        understood=("buy",),
        carries=(EntityKind.ADDRESS, EntityKind.CEP),
    ),
    Intent(
        "menu",
        flow="menu",
        phrases=("menu",),
        exact=(
            "oi", "ola", "inicio", "comecar", "voltar", "bom dia", "boa tarde", "boa noite",
            "/start", "/menu", "start", "hi", "hello", "hey",
            "hola", "buenos dias", "buenas tardes", "buenas noches",
        ),
        heard_in_handoff=True,
        understood=("menu",),
        asks_first=False,  # the one word that asks for the start: the data is kept
    ),
)  # fmt: skip
