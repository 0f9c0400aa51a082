"""What the words of a message say, whatever the understander made of it: that it is written as
a question, asks what the options are, takes what was offered, names a person of the team, answers
"Quer parar a contratação?" in its buttons' words, leaves the conversation. Pure functions over
the text as the customer typed it, for :mod:`bot.engine.repair` and :mod:`bot.engine.dialogue`.
"""

from __future__ import annotations

import re

from bot.engine.routing import normalize
from bot.nlu.answers import PERSON_WORDS

__all__ = [
    "MORE",
    "asks_options",
    "keeps",
    "leading_no",
    "leaving",
    "looks_like_question",
    "meant_part",
    "names_a_person",
    "one_code",
    "opens_with_question",
    "switch_answer",
    "takes",
    "thanks",
]

#: the words a question starts with, as customers type them (normalised: no accents): "qd vai
#: chegar", "pq precisa", "oq e isso", "e quanto custa", "when", "cuando"
_ASKING = frozenset(
    {
        "quando", "qd", "qdo", "qnd", "quanto", "quanta", "quantos", "quantas", "qto", "qt",
        "qnt", "como", "pq", "porque", "oq", "que", "qual", "quais", "onde", "cade",
        "sera", "when", "how", "what", "why", "where", "which", "who", "cuando", "cuanto",
        "cuanta", "donde", "cual", "cuales", "quien",
    }
)  # fmt: skip
#: a question is more than one word: "hã?", "q?", "oi?" ask to hear the question again
_QUESTION_WORDS = 2


def looks_like_question(text: str | None, *, worded: bool = False) -> bool:
    """Whether ``text`` is written as a question: a question word first ("e qd vai chegar
    ai", "pq precisa do nome"), or (unless ``worded``) a question mark; at least two words
    and no digits (digits are data asked about: "sera q chega na beira mar norte 3000?").
    ``worded``: where data is often typed as a question ("moro na trindade, perto da
    ufsc?")."""
    raw = text or ""
    words = normalize(raw).split()
    if len(words) < _QUESTION_WORDS or any(ch.isdigit() for ch in raw):
        return False
    if words[0] in ("e", "mas", "and", "y", "pero"):
        words = words[1:]  # "e quanto custa?", "mas qd chega?"
    if words[:2] in (["por", "que"], ["por", "q"]) or words[0] in _ASKING:
        return True  # "por que precisa?", "qual o nome?"
    return not worded and "?" in raw


#: the words of a question about what is offered where the customer is ("quais as opcoes?",
#: "what are my options?", "cuales son las opciones?"), normalised
_OPTIONS = frozenset(
    {"opcao", "opcoes", "opcaos", "opcoe", "opsoes", "alternativa", "alternativas", "option",
     "options", "choices", "opcion", "opciones"}
)  # fmt: skip


def asks_options(text: str | None) -> bool:
    """Whether ``text`` asks what the options are: a question naming them. Where the customer
    is, they are what the state offers (the plans in a sale, the menu at rest)."""
    return looks_like_question(text) and any(w in _OPTIONS for w in normalize(text or "").split())


#: the words that take what was just offered ("blz, quero esse entao", "fechado"), not only
#: acknowledge it ("ok", "blz", "ta bom"), normalised
_TAKING = frozenset(
    {"quero", "queria", "vou", "fechado", "fechou", "fecha", "contratar", "contrato", "esse",
     "essa", "este", "ese", "esa", "take", "want", "that", "this", "quiero", "tomo",
     "contratarlo", "contratalo"}
)  # fmt: skip


#: a yes that asks for more where nothing is pending ("Posso ajudar em mais alguma coisa?"
#: "sim"): the menu; any other acknowledgement ("ok", "blz", "ta bom") closes, normalised
MORE = frozenset(
    {"sim", "s", "ss", "sim sim", "sim quero", "quero", "tenho", "sim tenho", "claro", "yes",
     "y", "yeah", "yep", "yes please", "si", "si quiero", "claro que si"}
)  # fmt: skip


def takes(text: str | None) -> bool:
    return any(w in _TAKING for w in normalize(text or "").split())


def names_a_person(text: str | None) -> bool:
    """Whether the message names a person of the team ("quero falar com uma pessoa de vdd");
    "vou falar com meu marido" or "falei com uma moça ontem" name none."""
    return any(w in PERSON_WORDS for w in normalize(text or "").split())


def opens_with_question(text: str | None) -> bool:
    """Whether the message's first sentence is a question ("quanto ta a fibra de vcs? moro na
    rua frei caneca 300"): what follows it, an address, does not make it less of one."""
    raw = text or ""
    return "?" in raw and looks_like_question(raw.split("?", 1)[0] + "?")


_NO_WORDS = frozenset({"nao", "não", "no", "n"})
#: the words that leave the conversation itself ("sair", "parar"), not what was done in it:
#: "desisti" after a reservation means the reservation, "sair" never does
_LEAVING = frozenset(
    {
        "sair", "saindo", "parar", "pare", "chega", "encerrar", "encerra", "encerre",
        "finalizar", "finaliza", "fim", "exit", "quit", "stop", "salir", "terminar", "basta",
    }
)  # fmt: skip


#: the answers to "Quer parar a contratação?" in the words of its buttons ("Sim, parar", "Não,
#: continuar"), normalised, a clause at a time: going on with what was begun ("continua", "pode
#: seguir", "keep going", "sigue") stays, stopping it ("pode parar", "para sim", "stop") leaves.
#: Read before any yes or no: "pode continuar" is no yes to stopping, "segue" no yes either
_GOING_ON = re.compile(
    r"\b(?:continu\w*|segue|seguir|seguimos|sigue|seguir|sigamos|prossig\w*|prossegu\w*|"
    r"keep going|carry on|go on)\b"
)
_STOPPING = re.compile(
    r"(?:^|(?<=\bnao )|(?<=\bpode )|(?<=\bsim )|(?<=\bsi )|(?<=\bentao ))para\b|"
    r"\b(?:parar|pare|paro|parem|stop|detener|detente|deten|sair|salir)\b"
)
#: a no right before those words turns them round: "nao quero continuar", "nao para", "don't stop"
_NOT_BEFORE = re.compile(
    r"\b(?:nao|n|no|not|dont|don t|never|nunca)\s+"
    r"(?:(?:quero|quer|vou|precisa|want to|need to|quiero|hace falta|vamos)\s+)?$"
)

#: ... and so does one right after them, as Brazilians say it: "continua nao", "para nao"
_NOT_AFTER = re.compile(r"^\s+(?:nao|n)\b")


def switch_answer(text: str | None) -> str | None:
    """The answer to "do you want to stop this for that?" in its buttons' words: "yes" (stop),
    "no" (go on), None when the message says neither so."""
    for clause in re.split(r"[,.;!?]+", text or ""):
        said = normalize(clause)
        for pattern, meaning in ((_GOING_ON, "no"), (_STOPPING, "yes")):
            found = pattern.search(said)
            if found is None:
                continue
            before, after = said[: found.start()], said[found.end() :]
            if _NOT_BEFORE.search(before) or _NOT_AFTER.match(after):
                return "yes" if meaning == "no" else "no"
            return meaning
    return None


def leaving(text: str | None) -> bool:
    return any(word in _LEAVING for word in normalize(text or "").split())


def leading_no(text: str | None) -> bool:
    words = (text or "").casefold().replace(",", " ").split()
    return bool(words) and words[0] in _NO_WORDS


def one_code(text: str | None) -> bool:
    """One word spelled as a code is ("cliente-erro", "reserva_123", "OZB-7KQ2MX")."""
    words = (text or "").split()
    return len(words) == 1 and any(ch.isdigit() or ch in "-_" for ch in words[0])


#: the words of thanks, normalised ("ok obg", "blz valeu")
_THANKS = frozenset(
    {"obg", "obrigado", "obrigada", "brigado", "brigada", "valeu", "vlw", "agradeco", "thanks",
     "thank", "thx", "ty", "gracias", "grac"}
)  # fmt: skip


def thanks(text: str) -> bool:
    """Whether the message thanks ("ok obg", "blz valeu")."""
    return any(word in _THANKS for word in normalize(text).split())


#: what keeps things as they are ("deixa assim", "deixa como ta", "pode deixar", "fica assim",
#: "deja asi", "leave it", "keep it"), normalised: no giving up
_KEEPING = re.compile(
    r"\b(?:deixa|deixe|deixo|fica|deja|dejalo|dejala|queda)\s+(?:assim|asi|como\s+(?:ta|esta|"
    r"estava|estaba)|quieto|estar)\b|\bpode\s+deixar\b|\b(?:leave|keep)\s+it\b|"
    r"\bdejalo\s+asi\b"
)


def keeps(text: str | None) -> bool:
    """Whether the message keeps things as they are ("ah ok entao deixa assim, obrigado")."""
    return bool(_KEEPING.search(normalize(text or "")))


#: "nao quero cancelar, so queria saber se tem multa", "minha internet nao ta caindo nao, so
#: quero saber o preco", "no quiero cancelar, solo saber si...", "not cancelling, I just want to
#: know...": a request named to decline it, then the one meant (normalised)
_DECLINED = re.compile(r"\b(?:nao|n|no|not|dont|don t|nem)\b")
_ONLY = re.compile(
    r"\b(?:so|solo|apenas|just|only)\s+(?:(?:quero|queria|quiero|queria|quisiera|want|wanted|"
    r"to|me|eu|i)\s+)*(?:saber|perguntar|fala|falar|diz|diga|dizer|dime|decir|preguntar|know|"
    r"ask|tell)\b"
)


def meant_part(text: str | None) -> tuple[int, str] | None:
    """Where the part of a message that says what is meant after declining something else
    starts, and that part as typed ("so queria saber se tem multa ..."); None when the message
    declines nothing so."""
    raw = text or ""
    said = normalize(raw)
    found = _ONLY.search(said)
    if found is None or not _DECLINED.search(said[: found.start()]):
        return None
    # as many words into the text as typed (normalising keeps the words in their order)
    skip = len(said[: found.start()].split())
    typed = list(re.finditer(r"\S+", raw))
    if skip >= len(typed):
        return None
    at = typed[skip].start()
    return at, raw[at:]
