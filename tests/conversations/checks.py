"""What a bot reply must (or must not) say, by name, for the conversation corpus.

The corpus says *what* must happen ("asks for the number", "answers the price"), not the exact
wording: the catalogs' texts change as the flows improve, and a check that demanded one wording
would fail on a better one. Each named check is a small pattern over the normalised reply (lower
case, no accents), wide enough for the three languages the bot speaks and for reasonable
rewordings, narrow enough to tell one question from another.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["CHECKS", "Check", "language_of", "normal", "not_understood"]


def normal(text: str) -> str:
    """Lower case, no accents, single spaces (emoji and punctuation kept)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())


def _any(*patterns: str) -> Callable[[str], bool]:
    compiled = [re.compile(p) for p in patterns]
    return lambda text: any(p.search(text) for p in compiled)


#: a line that states what is known ("• Nome: Ricardo Nunes", "• Plano: Fibra 500 Mega" in a
#: summary): it asks for nothing
_STATED = re.compile(r"^\s*•\s*[^:\n]{1,30}:[ \t].*$", re.MULTILINE)


#: the checks about what is offered to choose from, which the options' labels can satisfy; every
#: other check reads the replies' texts alone: the menu's "[Contratar internet]" and "[Cancelar
#: reserva]" under "Posso ajudar em mais alguma coisa?" satisfied ``summary`` ("posso ...
#: contrat"), ``cancel_policy`` and ``asks_stop``, so a conversation that fell back to the menu
#: passed where the summary or an answer was expected
_READS_OPTIONS = frozenset(
    {"offers_human", "menu", "asks_plan", "plans_listed", "asks_confirmation", "confirms_address"}
)


@dataclass(frozen=True)
class Check:
    name: str
    meaning: str
    test: Callable[[str], bool]

    def __call__(self, reply: str, options: Sequence[str] = ()) -> bool:
        """Whether the reply's text (with the ``options`` offered, for the checks about them)
        passes."""
        if options and self.name in _READS_OPTIONS:
            reply = "\n".join([reply, *options])
        if self.name.startswith("asks_"):
            reply = _STATED.sub("", reply)
        return self.test(normal(reply))


_NOT_UNDERSTOOD = _any(
    r"nao entendi",
    r"nao compreendi",
    r"didn'?t (get|understand)",
    r"did not (get|understand)",
    r"no (te )?entendi",
    r"no comprendi",
)


#: "whether our fibre reaches your address", as the greeting offers to check: no answer yet
_WHETHER_IT_REACHES = re.compile(
    r"\b(se|whether|if|si) (a )?(nossa |our |nuestra )?(fibra|fibre|fiber) (chega|reaches|llega)"
)


def _unless_asked(asked: re.Pattern[str], says: Callable[[str], bool]) -> Callable[[str], bool]:
    """``says`` over the text without what only asks or offers to find it out."""
    return lambda text: says(asked.sub(" ", text))


def not_understood(reply: str) -> bool:
    """The reply gives up on the message ("Não entendi", "I didn't get that", "No entendí")."""
    return _NOT_UNDERSTOOD(normal(reply))


_NO_OUTAGE = _any(
    r"nao (ha|identificamos|encontramos|consta|existe|temos registro de) (uma |nenhuma )?"
    r"(falha|queda|problema|instabilidade|interrup|manuten)",
    r"nenhuma (falha|queda|instabilidade|interrup)",
    r"sem (falha|queda)s? (conhecida|registrada|na sua)",
    r"no (known )?(outage|mass outage|incident)",
    r"not aware of (any|an) outage",
    r"no (hay|encontramos|identificamos|tenemos registro de) (una |un |ninguna |ningun )?"
    r"(falla|corte|caida|interrup|problema|incidencia)",
    r"ningun[ao]? (falla|corte|caida|incidencia)",
)
_OUTAGE_WORD = _any(
    r"falha",
    r"massiva",
    r"queda",
    r"rompimento",
    r"manutencao",
    r"instabilidade",
    r"interrup",
    r"outage",
    r"incident",
    r"falla",
    r"corte",
    r"caida",
    r"averia",
)


# "vou verificar se há falha na sua região" asks where to look: it tells of no outage
_CHECKING = re.compile(
    r"(verificar|verifico|checar|ver) se (ha|tem|existe) (uma |alguma )?(falha|queda)"
    r"|check for an? outage|check (whether|if) there is an? outage"
    r"|verificar si hay (una |alguna )?(falla|caida|corte)"
)


# "Certo, não apaguei nada", "I erased nothing", "no borré nada": the erasure declined
_NOT_ERASED = re.compile(
    r"\b(nao|no|not|nunca|never) (\w+ )?(apag|exclu|borr|eras|delet)\w*"
    r"|\b(apag|exclu|borr|eras|delet)\w* (nada|nothing)\b"
    r"|\bnothing (was )?(erased|deleted)"
)
_ERASED = _any(r"apag(uei|ados|amos)", r"exclu(i|idos|imos)", r"erased|deleted", r"borr(e|ados)")


def _erased(text: str) -> bool:
    return _ERASED(_NOT_ERASED.sub(" ", text))


def _outage(text: str) -> bool:
    told = _CHECKING.sub(" ", text)
    return _OUTAGE_WORD(told) and not _NO_OUTAGE(told)


_CHECKS = [
    Check(
        "asks_address",
        "asks for the installation address (street and number, CEP or location)",
        _any(
            r"endereco",
            r"\bcep\b",
            r"address",
            r"direccion",
            r"localiza",
            r"location",
            r"ubicacion",
        ),
    ),
    Check(
        "asks_number",
        "asks for the house or building number",
        _any(r"numero", r"number", r"\bn[ºo°]\b"),
    ),
    Check(
        "confirms_address",
        "reads back an address and asks whether it is right",
        _any(
            r"(rua|avenida|av\.|r\.) .*\d+.*\?",
            r"\d{5}-?\d{3}.*\?",
            r"(esta|e esse|e este|confirma|correto|certo).*\?",
            r"(is (that|this) (right|correct)|correct\?)",
            r"(es correcto|esta bien|es esta|confirma).*\?",
        ),
    ),
    Check(
        "covered",
        "says the fibre reaches the address",
        _unless_asked(
            _WHETHER_IT_REACHES,
            _any(
                r"(fibra|internet|rede|sinal) (ja )?chega",
                r"(temos|tem|ha) (cobertura|viabilidade|fibra disponivel)",
                r"atendemos",
                r"(fibre|fiber) (reaches|is available)",
                r"we (cover|serve)",
                r"good news",
                r"(fibra|cobertura) (llega|disponible)",
                r"buenas noticias",
                r"boa noticia",
            ),
        ),
    ),
    Check(
        "not_covered",
        "says there is no fibre at the address yet",
        _any(
            r"(ainda )?nao (temos|tem|ha|chega|atendemos)",
            r"sem (cobertura|viabilidade)",
            r"(don'?t|do not) (have|cover|reach)",
            r"not available",
            r"no (tenemos|hay|llega)",
            r"todavia no",
        ),
    ),
    Check(
        "asks_unit",
        "asks for the apartment, block, house or lot",
        _any(
            r"apartamento",
            r"\bapto?\b",
            r"bloco",
            r"\bcasa\b",
            r"\blote\b",
            r"unidade",
            r"apartment",
            r"\bunit\b",
            r"\bblock\b",
            r"\bhouse\b",
            r"departamento",
            r"\bdepto\b",
            r"\bpiso\b",
        ),
    ),
    Check(
        "asks_name",
        "asks for the customer's name",
        _any(r"\bnome\b", r"\bname\b", r"\bnombre\b", r"como (voce )?se chama", r"como te llamas"),
    ),
    Check(
        "asks_plan",
        "offers the plans to choose from",
        _any(r"plano", r"\bplans?\b", r"\bplan(es)?\b", r"mega", r"\bmbps\b", r"velocidade"),
    ),
    Check(
        "summary",
        "sums the reservation up and asks to go ahead",
        _any(
            r"(posso|podemos|quer que eu|confirma|confirmar).*(reserv|contrat)",
            r"(shall|should|can|may) i .*(reserve|book)",
            r"confirm.*(reservation|booking)",
            r"(puedo|podemos|confirma).*(reserv|contrat)",
            r"reservo|reservamos",
        ),
    ),
    Check(
        "reserved",
        "says the port is reserved and gives the code",
        # the code has a letter: a CEP's "88025-500" in a summary is no code
        _any(
            r"(reserva|reservation|reserved|reservada|reservado)"
            r".*\b[a-z0-9]*[a-z][a-z0-9]*-[a-z0-9]+"
        ),
    ),
    Check(
        "price",
        "answers with a price",
        _any(r"r\$ ?\d", r"\d+[,.]\d{2}"),
    ),
    Check(
        "plans_listed",
        "lists the plans with their speeds",
        _any(r"\d+ ?(mega|mb|mbps|giga|gb)"),
    ),
    Check(
        "cancel_policy",
        "answers whether the customer can cancel later (without cancelling anything)",
        _any(r"cancel", r"fidelidade", r"multa", r"contract", r"contrato", r"permanencia"),
    ),
    Check(
        "offers_human",
        "offers or calls a person from the team",
        _any(
            r"atendente",
            r"pessoa",
            r"equipe",
            r"humano",
            r"person",
            r"\bagent\b",
            r"(our|the) team",
            r"persona",
            r"equipo",
            r"agente",
            r"suporte",
        ),
    ),
    Check(
        "handoff",
        "says a person will take over",
        _any(
            r"(pessoa|atendente|equipe).*(vai|ira|logo).*(continuar|responder|atender|falar)",
            r"(vai|ira) (te )?(atender|responder|continuar)",
            r"(someone|a person|an agent|our team).*(will|is going to)",
            r"(alguien|una persona|un agente|nuestro equipo).*(va a|seguira|continuara|respondera)",
        ),
    ),
    Check(
        "outage",
        "says there is a known outage where the customer is",
        _outage,
    ),
    Check(
        "no_outage",
        "says there is no known outage there",
        _NO_OUTAGE,
    ),
    Check(
        "troubleshoot",
        "gives troubleshooting steps or asks about the equipment",
        _any(
            r"\bonu\b",
            r"roteador",
            r"modem",
            r"router",
            r"desligue|reinicie|tomada",
            r"restart|unplug|turn (it )?off",
            r"reinicia|desconecta|apaga",
            r"luz|luzes|lights?|\blos\b|\bpon\b",
        ),
    ),
    Check(
        "cancelled",
        "says the reservation was cancelled",
        _any(r"cancelad[ao]", r"cancel+ed", r"canceló|cancelo la|fue cancelada"),
    ),
    Check(
        "asks_confirmation",
        "asks the customer to confirm (yes or no)",
        _any(r"\?", r"\bsim\b", r"\byes\b", r"\bsi\b"),
    ),
    Check(
        "erased",
        "says the data were erased",
        _erased,
    ),
    Check(
        "goodbye",
        "ends politely",
        _any(
            r"tchau",
            r"ate (logo|mais|a proxima|breve)",
            r"obrigad",
            r"disposicao",
            r"bom dia|boa tarde|boa noite|otimo dia|bom resto",
            r"e so (chamar|mandar|escrever)",
            r"bye",
            r"thank",
            r"anytime|whenever",
            r"you'?re welcome",  # "You're welcome! ... just message us" to a thank-you
            r"just (send|message|write|text)",
            r"hasta",
            r"gracias",
            r"adios",
            r"cuando quieras",
            r"\b(de|por) nada\b",  # "¡De nada! ... solo escríbenos", "Por nada!"
            r"solo (escribenos|envia)",
        ),
    ),
    Check(
        "asks_stop",
        "asks whether the customer wants to leave what they were doing",
        _any(
            r"(parar|interromper|deixar|sair|cancelar|abandonar).*(contrata|reserva|pedido)",
            r"(stop|leave|cancel).*(subscri|reservation|sign)",
            r"(dejar|detener|cancelar).*(contrata|reserva)",
            r"quer (mesmo )?(parar|sair)",
        ),
    ),
    Check(
        "example",
        "rephrases the question with an example",
        _any(r"por exemplo", r"\bex[.:]", r"for example", r"e\.g\.", r"por ejemplo", r"como:"),
    ),
    Check(
        "menu",
        "offers what the bot does",
        _any(r"contratar", r"sem internet", r"get fibre", r"subscribe", r"contratar internet"),
    ),
    Check(
        "hours",
        "answers with opening hours",
        _any(
            r"\d{1,2} ?(h|:\d\d)",
            r"\d{1,2} ?(am|pm)\b",  # "8am to 6pm"
            r"horario",
            r"hours",
            r"horario de atencion",
        ),
    ),
]

CHECKS: dict[str, Check] = {check.name: check for check in _CHECKS}


def _split(words: str) -> frozenset[str]:
    return frozenset(words.split())


_WORDS: dict[str, frozenset[str]] = {
    "pt_BR": _split(
        "voce nao seu sua endereco obrigado obrigada qual nome numero reservar reserva "
        "estou posso vamos chega temos ainda aqui agora pronto certo quer tudo sim "
        "equipe pessoa ajudar conexao regiao"
    ),
    "en": _split(
        "you your the is address what thanks thank name number reserve reservation "
        "we our can let sure please here now done right want yes team person help "
        "connection area"
    ),
    "es": _split(
        "usted tu su direccion gracias cual nombre numero reservar reserva puedo "
        "vamos llega tenemos todavia aqui ahora listo quiere todo si equipo persona "
        "ayudar conexion zona el los las es hay"
    ),
}
# a word two languages share tells neither apart
_SHARED = frozenset(
    w for a in _WORDS.values() for b in _WORDS.values() if a is not b for w in a & b
)
_TOKEN = re.compile(r"[a-z]+")


def language_of(reply: str) -> str | None:
    """The language a reply is written in, by its common words; None when it is too short or
    too mixed to tell (an address, a code, a list of options)."""
    tokens = _TOKEN.findall(normal(reply))
    scores = {
        lang: sum(t in words and t not in _SHARED for t in tokens) for lang, words in _WORDS.items()
    }
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 2 or top < 2 * second:
        return None
    return best
