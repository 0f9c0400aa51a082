"""Short answers, read against what the bot asked: yes or no, one of the options offered, a
person's name. Pure functions; rapidfuzz forgives the typos ("simmm", "naao", "confrimo").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Sequence

from rapidfuzz import fuzz, process

from bot.nlu.base import Entity, EntityKind, Option
from bot.nlu.entities import put_off
from bot.nlu.text import fold, squeeze

__all__ = [
    "FREQUENT_NAMES",
    "NAME_PARTICLES",
    "PERSON_WORDS",
    "clauses",
    "confused",
    "denial",
    "doubts",
    "looks_like_full_name",
    "looks_like_name",
    "named",
    "names_erasure",
    "option",
    "plain_request",
    "proper_case",
    "reassurances",
    "refused_person",
    "takes_leave",
    "yes_no",
]

K = EntityKind

# Squeezed forms (see bot.nlu.text.squeeze): "isso" is "iso", "beleza" stays.
_YES = (
    "sim", "sim sim", "ss", "s", "claro", "claro que sim", "com certeza", "certeza", "blz",
    "beleza", "pode", "pode ser", "pode sim", "pode reservar", "pode confirmar", "pode fazer",
    "pode seguir", "pode mandar", "fechado", "fechou", "iso", "iso mesmo", "iso ai", "exato",
    "exatamente", "coreto", "certo", "ta certo", "certinho", "confirmo", "confirmado", "confirma",
    "bora", "bora la", "vamos", "manda ver", "ok", "okay", "ta bom", "tudo certo", "perfeito",
    "quero", "quero sim", "aceito", "uhum", "aham", "positivo", "sim confirmo", "e iso",
    "yes", "y", "yeah", "yep", "yup", "sure", "of course", "corect", "right", "go ahead",
    "si", "dale", "vale", "claro que si", "de acuerdo", "corecto", "exacto", "esta bien",
    "joya", "joia", "de una", "partiu",
    "si corecto", "si esta bien", "si claro", "yes corect", "sim corecto", "sim certo",
)  # fmt: skip
_NO = (
    "nao", "n", "nao nao", "agora nao", "nao quero", "negativo", "nem", "nops", "nunca",
    "erado", "ta erado", "nao e", "nao e ese", "ainda nao", "hoje nao", "melhor nao",
    "no", "nope", "nah", "not now", "wrong", "no way",
    "ahora no", "todavia no", "incorecto", "esta mal",
)  # fmt: skip
#: the words that lead a no (squeezed): "nao ta certo", "not right", "nah"
_NO_LEADS = frozenset({"nao", "n", "no", "nope", "not", "nah"})
_YES_SQUEEZED = tuple(squeeze(w) for w in _YES)
_NO_SQUEEZED = tuple(squeeze(w) for w in _NO)
# One-letter answers are answers only where a yes or no was asked.
_ONLY_WHEN_ASKED = frozenset({"s", "n", "y"})
_YES_EMOJI = frozenset("👍✅👌🆗✔☑")
_NO_EMOJI = frozenset("👎❌🚫✖⛔")
# Courtesy around an answer changes nothing: "sim pfv", "pode reservar por favor"
_COURTESY = frozenset(["pfv", "pf", "por", "favor", "please", "pls", "porfa", "entao", "ai", "obg"])
#: how close a typed answer must be to a yes or no word (rapidfuzz ratio)
ANSWER_CUTOFF = 84
# an answer is short: a longer message is a yes or no only by its first word
_MAX_ANSWER_WORDS = 5
#: the bot's own request said back as the answer to it (squeezed): "reserva", "reserve it"
_GO_AHEAD = frozenset({"reserva", "reservar", "reserve", "reservo", "confirma", "confirmar"})
#: what follows "pode" when the customer lets the offer go ("pode esquecer", "pode parar")
_LET_GO = frozenset({"esquecer", "esquece", "esqueca", "parar", "para", "largar", "desistir"})
_LEADING = re.compile(r"\s*([^\W\d_]+|[^\w\s])", re.UNICODE)
#: words of hesitation before an answer, one or several ("ah entao nao, deixa quieto")
_HESITATION = re.compile(
    r"\s*(?:(?:pensando\s+bem|olha|bom|bem|hmm+|humm*|ah+|entao|então|well|hmm|actually|bueno|"
    r"mira|pensandolo\s+bien|pensándolo\s+bien)\b[\s,.]*)+",
    re.IGNORECASE,
)
#: "nao sei", "n sei ainda", "no sé", "no idea": not knowing is no answer, not a no
_DONT_KNOW = re.compile(
    r"\s*(?:nao|não|n|no)\s+(?:sei|se|sé|idea|fa[cç]o\s+ideia)\b", re.IGNORECASE
)

#: the words of a person of the team ("quero falar com uma pessoa de vdd"), folded; "vou falar
#: com meu marido" or "falei com uma moça ontem" name none
PERSON_WORDS = frozenset(
    {"pessoa", "atendente", "humano", "humana", "alguem", "gente", "operador", "person",
     "human", "agent", "someone", "somebody", "persona", "agente", "alguien"}
)  # fmt: skip
_NOBODY = frozenset({"ninguem", "nadie", "nobody", "anyone", "anybody"})
#: a clause that says no person is needed ("nao precisa falar com atendente", "sem atendente",
#: "no need for an agent", "no hace falta un agente"): the no in it is said of the person, not
#: in answer to the question asked, and no request for one (folded text, a clause at a time)
_REFUSED_PERSON = re.compile(
    r"\b(?:nao|n|nem|sem|no|not|dont|don t|without|sin)\s+"
    r"(?:(?:precisa|preciso|precisamos|quero|need|needed|want|necesito|necesita|hace\s+falta|"
    r"e\s+necessario|es\s+necesario|for)\s+)?"
    r"(?:(?:de|do|da|falar|chamar|passar|com|pra|para|hablar|con|to|talk|speak|with|an?|um|"
    r"uma|o|a|un|una|el|la|the|any|for|nenhum|nenhuma|ningun|ninguna)\s+){0,4}"
    r"(?:" + "|".join(sorted(PERSON_WORDS | _NOBODY)) + r")\b"
)
_CLAUSE_END = re.compile(r"[,.;!?]+|\s+(?:e|mas|and|but|y|pero)\s+")


#: what an erasure request names (folded): the erasing ("apaga", "excluir", "delete", "borra"),
#: the data ("meus dados", "meu cpf", "my info", "mi numero", "o que eu te mandei"), the right
#: ("lgpd", "direito ao esquecimento", "right to be forgotten") or the person ("esquece de mim",
#: "forget me", "olvidense de mi"); "pode esquecer", "esquece", "forget it" name none of them
_ERASURE = re.compile(
    r"\b(?:apag\w*|exclu\w*|remov\w*|delet\w*|limp\w*|borr\w*|elimin\w*|erase\w*|wipe\w*|"
    r"dados?|datos?|data|informac\w*|info|information|details|cadastro|conta|account|perfil|"
    r"profile|registr\w*|records?|historico|historial|history|conversa|chat|mensage\w*|"
    r"messages?|mensajes?|numero|number|telefone|telefono|phone|cpf|email|contato|contacto|"
    r"contact|endereco|address|direccion|nome|nombre|lista|list|sistema|system|"
    r"mandei|enviei|te mande|sent|lgpd|gdpr|esquecid[oa]s?|esquecimento|forgotten|olvido|"
    r"(?:de|sobre) mim|(?:de|sobre) mi|about me|forget me|me olvid\w*|olvid\w*me)\b"
)


#: what takes leave of the conversation for now ("vou ver com meu marido e te falo", "valeu
#: mesmo assim", "depois eu vejo", "i'll get back to you", "gracias igual"), folded
_LEAVE = re.compile(
    r"\b(?:vou|vo|vamos|preciso|deixa eu|tenho que)\s+(?:ver|pensar|conversar|falar)\b|"
    r"\bte\s+(?:falo|aviso|chamo|retorno|procuro|escrevo)\b|\bdepois\s+(?:eu\s+)?"
    r"(?:vejo|volto|falo|chamo|retorno|aviso)\b|\bmesmo assim\b|\bde qualquer (?:forma|jeito)\b|"
    r"\banyway\b|\bget back to you\b|\btalk (?:to you )?later\b|\bi ll think\b|"
    r"\b(?:te|le)\s+(?:aviso|escribo|digo)\b|\blo (?:voy a )?pienso\b|\bgracias igual\b|"
    r"\bigual(?:mente)? gracias\b|\bde todos modos\b"
)


def takes_leave(text: str) -> bool:
    """Whether ``text`` takes leave for now ("blz vou ver com meu marido e te falo, valeu",
    "poxa q pena, valeu mesmo assim", "ok, i'll get back to you")."""
    return bool(_LEAVE.search(fold(text).replace("'", " ")))


def names_erasure(text: str) -> bool:
    """Whether ``text`` says what it asks to erase, or that it asks to erase ("apaga meus dados",
    "esquece meu cpf", "forget me"): an erasure of someone's data is never read into a phrase
    that lets something go ("pode esquecer", "esquece isso", "forget it")."""
    return bool(_ERASURE.search(fold(text)))


def clauses(text: str) -> list[tuple[int, int, str]]:
    """The clauses of ``text``: each one's span and the mark or word that ends it ("?", ",",
    " mas ", "" for the last), parted at punctuation and at "e", "mas", "and", "but", "y",
    "pero" ("oi quero contratar mas antes me diz se tem multa?": two)."""
    found = []
    at = 0
    for end in [*_CLAUSE_END.finditer(text), None]:
        stop = end.start() if end is not None else len(text)
        if text[at:stop].strip():
            found.append((at, stop, end.group().strip() if end is not None else ""))
        if end is None:
            break
        at = end.end()
    return found


#: what opens a clause said on a condition ("se eu cancelar", "if it's free", "si no hay") or a
#: time ("quando chegar"): no request made now, folded
_CONDITION = re.compile(r"^\s*(?:se|if|si|caso|quando|qdo|qnd|when|cuando|unless)\b")
#: what may open a request said after a question it hangs on ("if not, i'd like to sign up",
#: "se nao tiver, quero contratar", "entao quero contratar"), folded
_THEN = re.compile(
    r"^\s*(?:(?:if not|if so|se nao|senao|se sim|si no|si es asi|then|entao|ai|e|mas|and|but|y|"
    r"pero)\b[\s,]*)+"
)
_NEGATION = re.compile(r"\b(?:nao|n|nem|no|not|dont|don t|never|nunca|sem|sin|without)\b")


def plain_request(clause: str) -> str | None:
    """The clause as a request made now, folded ("quero contratar"; "if not i'd like to sign
    up" → "i d like to sign up"), or None where it is said on a condition ("se eu cancelar
    depois"), denied or negated ("nao quero contratar agora", "minha internet ta funcionando"),
    or too short to tell."""
    folded = fold(clause).replace("'", " ")
    rest = _THEN.sub("", folded)
    if len(rest.split()) < _REQUEST_WORDS or _CONDITION.match(rest) or _NEGATION.search(rest):
        return None
    if _DENIAL.search(rest):
        return None  # "minha internet ta funcionando sim": nothing is asked of that
    return rest


_REQUEST_WORDS = 2


def refused_person(text: str) -> tuple[int, int] | None:
    """The span of the clause of ``text`` that says no person is needed ("nao precisa falar com
    atendente, pode reservar" → the part before the comma), or None when none does."""
    at = 0
    for end in [m for m in _CLAUSE_END.finditer(text)] + [None]:
        stop = end.start() if end is not None else len(text)
        if _REFUSED_PERSON.search(fold(text[at:stop]).replace("'", " ")):
            return at, end.end() if end is not None else len(text)
        if end is None:
            break
        at = end.end()
    return None


_NEG = r"(?:nao|n|nem|no|not|isn t|isnt|aint|ain t|never|nunca)"
#: a clause that says the service is fine, or declines a request by name (folded): "minha
#: internet nao ta caindo nao", "a net nao caiu", "nao to sem internet", "nao e problema de
#: internet", "ta funcionando sim", "nao quero cancelar", "it's not down", "no se cayo": what it
#: names (an outage, a cancellation) is what the customer does not ask for
_DENIAL = re.compile(
    rf"\b{_NEG}\s+(?:(?:ta|esta|to|estou|anda|andou|e|eh|is|it s|its|s|was|esta|estoy|se)\s+)?"
    r"(?:caindo|caiu|cai|cair|caida|caido|lenta|lento|ruim|travando|travada|oscilando|"
    r"falhando|parada|parado|fora do ar|down|slow|dropping|cayendo|cayo|fallando)\b|"
    rf"\b{_NEG}\s+(?:(?:to|estou|tou|fiquei|ficou|estoy|i m|im|am|i am)\s+)?"
    r"(?:sem|without|sin)\s+(?:internet|net|sinal|conexao|connection|conexion|servico|service)\b|"
    rf"\b{_NEG}\s+(?:e|eh|is|it s|es|tenho|tem|have|tengo|hay)\s+(?:(?:nenhum|nenhuma|um|uma|a|"
    r"any|un|una|ningun|ninguna)\s+)?(?:problema|problem|falha|defeito|queda|reclamacao|"
    r"complaint|issue)s?\s+(?:de|da|do|na|no|com|with|con|en|de la)\s+(?:minha\s+|my\s+|mi\s+|"
    r"a\s+|the\s+|la\s+)?(?:internet|net|conexao|connection|conexion|sinal|wifi)\b|"
    # (not "nao ta funcionando": that is the outage itself)
    r"(?<!\bnao )(?<!\bn )(?<!\bno )(?<!\bnem )(?<!\bnot )(?<!\bisn t )"
    r"\b(?:ta|esta|is|it s|its|s|anda)\s+(?:tudo\s+)?(?:funcionando|working|"
    r"funcionando bien)\b|\bworks fine\b|\bfunciona (?:bem|normal|bien|direito)\b|"
    rf"\b{_NEG}\s+(?:(?:quero|queria|vou|preciso|e pra|eh pra|want to|wanna|need to|going to|"
    r"gonna|quiero|voy a|necesito|es para)\s+)(?:cancelar|cancel|contratar|sign up|reclamar|"
    r"complain|quejarme)\b"
)


def denial(text: str) -> tuple[int, int] | None:
    """The span of the first clause of ``text`` or its last that says the service is fine, or
    declines a request by name ("minha internet nao ta caindo nao, so quero saber o preco": the
    part before the comma, and its comma), when more is said beside it; None otherwise. The
    rest is what the message asks ("a net nao caiu nao, queria saber quanto custa")."""
    ends = list(_CLAUSE_END.finditer(text))
    if not ends:
        return None
    first, last = ends[0], ends[-1]
    if _DENIAL.search(fold(text[: first.start()]).replace("'", " ")):
        return (0, first.end()) if text[first.end() :].strip(" \t\n.,!;:?") else None
    if _DENIAL.search(fold(text[last.end() :]).replace("'", " ")):
        return (last.start(), len(text)) if text[: last.start()].strip(" \t\n.,!;:") else None
    return None


#: a no said of a worry, not to the question: "nao tenho duvida", "nao tem problema", "sem
#: problema", "no worries", "no rush", "not a problem", "no hay drama", "nao ligo pro plano"; a
#: reassurance, read as a yes where it is all the answer ("sim, nao tenho duvida" is a yes)
_REASSURED = re.compile(
    r"\b(?:n[aã]o|no|not|sem|sin|n)\s+"
    r"(?:(?:tem|tenho|h[aá]|hay|tiene|tengo|vejo|veo|me|is)\s+)?"
    r"(?:(?:nenhum|nenhuma|ningun|ninguna|ningún|any|a|um|uma|un|una)\s+)?"
    r"(?:problemas?|problems?|prob|probs|worries|worry|rush|hurry|d[uú]vidas?|doubts?|drama|"
    r"pressa|prisa|stress|estresse|bronca|ligo|importa|preocupa|preocupes|biggie|big\s+deal)\b"
    r"(?:\s+(?:pro|pra|com|o|a|el|la|the|de|do|da|con|with|about)\s+\w+)?"
    # "endereco nao ta errado", "nao tem nada errado nao", "the name's not wrong": nothing wrong
    r"|(?:\b(?:o|a|the|el|la)\s+)?(?:\b(?:endere[cç]o|nome|plano|address|name|plan|nombre|"
    r"direcci[oó]n)(?:'s|’s)?\s+)?"
    r"\b(?:n[aã]o|not|no|nada|nothing)\s+(?:(?:t[aá]|est[aá]|tem|is|es|est[aá]\s+nada|"
    r"tem\s+nada|nada)\s+)*(?:errad[oa]s?|wrong|mal|incorret[oa])\b(?:\s+n[aã]o\b)?",
    re.IGNORECASE,
)
#: a message that says the question was not understood ("sim o que? nao entendi", "como
#: assim?", "what?"): no answer to it, whatever yes or no it holds (folded)
_CONFUSED = re.compile(
    r"\b(?:nao|n|no)\s+(?:entendi|entendo|compreendi|entiendo|sei o que e)\b|\bcomo assim\b|"
    r"\b(?:didn t|didnt|don t|dont|do not|did not)\s+(?:get|understand)\b|"
    r"\b(?:o que|oq|que|what|como)\s+\?"
)
#: not sure yet ("pode ser, mas nao tenho certeza ainda", "not sure", "vou pensar"): no yes,
#: though a no it comes with is still one ("agora nao, vou pensar") (folded)
_DOUBT = re.compile(
    r"\b(?:nao|n|no)\s+(?:tenho|tem|estou|to|estoy)\s+(?:muita\s+)?(?:certeza|segur[oa])\b|"
    r"\bnao sei se\b|\bno se si\b|\bnot (?:so )?sure\b|\btalvez\b|\bmaybe\b|\bquizas?\b|"
    r"\b(?:vou|preciso|deixa eu|deixa eu ainda|tenho que)\s+pensar\b|\blet me think\b|"
    r"\blo (?:voy a|tengo que) pensar\b"
)


def confused(text: str) -> bool:
    """Whether ``text`` says the question was not understood ("nao entendi", "como assim?")."""
    return bool(_CONFUSED.search(fold(text).replace("'", " ")))


#: a clear go-ahead ("pode reservar", "reserva", "go ahead", "esse mesmo"): said in a clause of
#: its own, it outweighs a doubt about something else ("pode reservar, vou pensar no plano
#: depois", "sim, esse mesmo, so nao tenho certeza do cep") (folded)
_GO_AHEAD_CLAUSE = re.compile(
    r"\bpode (?:reservar|seguir|confirmar|fazer|mandar)\b|^\s*(?:sim|si|yes|ok)?\s*reserv[ae]\b|"
    r"\bgo ahead\b|\bbook it\b|\bconfirmo\b|\b(?:esse|essa|este|esta) mism[oa]\b|"
    r"\b(?:esse|essa) mesm[oa]\b|\bthat s (?:it|the one|right)\b"
)
#: where a message's clauses part (before folding, which drops the punctuation): a doubt in
#: one is not the whole message's
_CONJUNCTION = re.compile(r"\b(?:mas|but|pero|s[oó] que|only)\b")
_CLAUSE_WITH_MARK = re.compile(r"[^,.;!?]+\??")
_LED_BY_NO = re.compile(r"\s*(?:nao|n|no|not|nem)\b")


def doubts(text: str) -> bool:
    """Whether ``text`` says the customer is not sure yet ("mas nao tenho certeza ainda"): a
    doubt, not said of a change put off, and no clause that goes ahead without one (a doubt
    about something else, beside "pode reservar", does not take the yes back)."""
    # "sim e talvez depois eu passe pro de 500": the maybe is said of a change put off, not
    # of the yes
    text = _blank(text, put_off(text))
    if not _DOUBT.search(fold(text).replace("'", " ")):
        return False
    parts = _CLAUSE_WITH_MARK.findall(_CONJUNCTION.sub(",", text.casefold()))
    # a clause asked ("go ahead?") goes ahead with nothing
    clauses = (fold(part).replace("'", " ") for part in parts if not part.endswith("?"))
    return not any(
        _GO_AHEAD_CLAUSE.search(clause)
        and not _DOUBT.search(clause)
        and not _LED_BY_NO.match(clause)
        for clause in clauses
    )


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the ``spans`` blanked out (spaces: every other span stays where it was)."""
    chars = list(text)
    for at, to in spans:
        chars[at:to] = " " * (to - at)
    return "".join(chars)


def reassurances(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` that reassure ("nao tem problema", "no worries"): their no is said
    of a worry, not in answer to the question."""
    return [m.span() for m in _REASSURED.finditer(text)]


_ORDINALS = {
    1: ("primeiro", "primeira", "1o", "1a", "first", "primero", "primera"),
    2: ("segundo", "segunda", "2o", "2a", "second"),
    3: ("terceiro", "terceira", "3o", "3a", "third", "tercero", "tercera"),
    4: ("quarto", "quarta", "4o", "4a", "fourth", "cuarto", "cuarta"),
    5: ("quinto", "quinta", "5o", "5a", "fifth"),
}
_ORDINAL_WORDS = {w: n for n, words in _ORDINALS.items() for w in words}
#: how close typed text must be to an option's label (rapidfuzz WRatio), and how far ahead of
#: the next label
LABEL_CUTOFF = 85
LABEL_MARGIN = 4
_LAST = frozenset({"ultimo", "ultima", "last"})
_OPTION_NUMBER = re.compile(
    r"^(?:(?:a|o|op[cç][aã]o|opcao|opcion|opción|option|numero|número|n[º°]?|#|"
    r"(?:o\s+|el\s+|the\s+)?(?:plano|plan|pacote))\s*)?"
    r"(\d{1,2})(?:\ufe0f?\u20e3)?\s*[.)!]?$",
    re.IGNORECASE,
)

#: lower-case words inside Brazilian (and Spanish, Portuguese) names: "Maria da Silva"
NAME_PARTICLES = frozenset(
    {"da", "de", "do", "das", "dos", "e", "di", "du", "del", "la", "las", "los", "van", "y"}
)
#: frequent Brazilian first names and surnames that are also other words in the examples ("são
#: josé", "são paulo", "2 dias"): never taken for words of a request
FREQUENT_NAMES = frozenset(
    """maria jose joao ana antonio francisco carlos paulo pedro lucas luiz marcos luis gabriel
    rafael daniel marcelo bruno eduardo felipe rodrigo mateus andre fernando fabio leonardo
    gustavo guilherme tiago thiago ricardo jorge roberto diego vitor sergio claudio renato
    vinicius samuel mario flavio davi miguel henrique caio joaquim mauro francisca antonia
    adriana juliana marcia fernanda patricia aline sandra camila amanda bruna leticia julia
    luciana mariana gabriela vitoria larissa claudia beatriz rita luana renata cristina carla
    rosa daniela lucia raquel rafaela joana luzia regina silva santos oliveira souza rodrigues
    ferreira alves pereira lima gomes costa ribeiro martins carvalho almeida lopes soares
    fernandes vieira barbosa rocha dias nascimento andrade moreira nunes marques machado mendes
    freitas cardoso ramos goncalves santana teixeira""".split()  # noqa: SIM905 (a word list)
)
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['’\-][^\W\d_]+)*$", re.UNICODE)
_NAME_MARKERS = re.compile(
    r"(?:\bmeu\s+nome\s+(?:completo\s+)?(?:e|é|eh)|\bme\s+chamo|\bsou\s+(?:o|a)|"
    r"\baqui\s+(?:quem\s+fala\s+)?(?:e|é)\s+(?:o|a)|\bnome\s*:|\bmy\s+name\s+is|"
    r"\bmy\s+name's|\bme\s+llamo|\bmi\s+nombre\s+es|"
    # someone else's, for whom the customer buys: "o nome dela é ...", "nome da minha mae eh"
    r"\bnome\s+(?:completo\s+)?(?:dela|dele|d[ao]\s+(?:minha\s+|meu\s+)?\w+)\s+(?:e|é|eh)|"
    r"\b(?:her|his)\s+(?:full\s+)?name\s+is|\bsu\s+nombre\s+es)\s+",
    re.IGNORECASE,
)
#: what introduces a name only when a full name follows: "ok it's Daniel Park", "I'm Tom
#: Baker", "this is Ann Lee", "soy lucia fernandez" ("this is ridiculous", "I'm not sure",
#: "soy cliente" are none)
_WEAK_MARKERS = re.compile(
    r"(?:\bi['’]?m|\bi\s+am|\bit['’]?s|\bthis\s+is|\bsoy(?:\s+(?:el|la))?)\s+", re.IGNORECASE
)
_FULL_NAME = 2  # words
_SURNAME = 3  # letters, at least, of a surname that is also a word
_MAX_NAME_WORDS = 5


def _stripped(text: str) -> tuple[int, int]:
    start = len(text) - len(text.lstrip(" \t\n.,!;:"))
    end = len(text.rstrip(" \t\n.,!;:"))
    return start, max(start, end)


def _closeness(said: str, choices: Sequence[str]) -> float:
    """How close ``said`` is to the nearest of ``choices`` (0-100): exact for short answers
    ("valeu" is not "vale", "nem" not "nao"), forgiving a letter or two in longer ones."""
    if said in choices:
        return 100.0
    if len(said) < 6:
        return 0.0
    best = process.extractOne(said, choices, scorer=fuzz.ratio)
    return float(best[1]) if best is not None else 0.0


#: what follows Portuguese "no" (em + o: "no plano", "no endereço") where it is no "no"
_NO_AS_IN_THE = frozenset(
    {"plano", "endereco", "cep", "nome", "apto", "apartamento", "bloco", "dia", "boleto", "pix",
     "cartao", "site", "app", "whats", "whatsapp", "zap", "contrato", "cadastro", "final", "fim"}
)  # fmt: skip


def _goes_ahead_first(body: str) -> bool:
    """Whether the first clause of ``body`` is all a go-ahead ("pode reservar, ...")."""
    clause = _CLAUSE_WITH_MARK.match(body)
    return clause is not None and bool(_GO_AHEAD_CLAUSE.fullmatch(fold(clause.group(0)).strip()))


def _has_no(said: str) -> bool:
    """Whether a no word is among the words of ``said`` (folded, squeezed), punctuation aside
    ("vou pensar no plano depois" has none)."""
    words = re.findall(r"[a-z]+", said)
    return any(
        w in _NO_LEADS - {"n"} and not (w == "no" and after in _NO_AS_IN_THE)
        for w, after in itertools.pairwise([*words, ""])
    )


def yes_no(text: str, *, asked: bool) -> Entity | None:
    """A yes or a no: the whole message ("blz", "simmm", "pode reservar pfv", "👍", "nao nao"),
    or, where one was ``asked``, the word it starts with ("sim, mas posso cancelar depois?",
    "nao, na verdade é 1500") and the one-letter answers "s" and "n"; never a yes doubted ("pode
    ser, mas nao tenho certeza ainda")."""
    found = _yes_no(text, asked=asked)
    if found is not None and found.value == "yes" and doubts(text):
        return None
    return found


def _yes_no(text: str, *, asked: bool) -> Entity | None:
    """:func:`yes_no`, doubts aside."""
    start, end = _stripped(text)
    body = text[start:end]
    if not body:
        return None
    if confused(body):
        return None  # "sim o que? nao entendi o que é a reserva": no consent, no refusal
    calm = reassurances(text)
    if calm:
        # "sim, nao tenho duvida", "ok no worries": the answer is what is left ("sem problema"
        # alone is a yes); the no in the reassurance is said of the worry
        kept = _blank(text, calm)
        if not kept.strip(" \t\n.,!;:"):
            return Entity(K.YES_NO, "yes", start, end)
        return yes_no(kept, asked=asked)
    refused = refused_person(body)
    if refused is not None:
        # "nao precisa falar com atendente, pode reservar": the no is said of the person; the
        # answer is what the rest says (none when nothing else is said)
        rest = body[refused[1] :]
        found = yes_no(rest, asked=asked) if rest.strip(" \t\n.,!;:") else None
        if found is None:
            return None
        shift = start + refused[1]
        return Entity(K.YES_NO, found.value, found.start + shift, found.end + shift)
    hesitation = _HESITATION.match(body)
    if _DONT_KNOW.match(body, hesitation.end() if hesitation else 0):
        return None
    symbols = {ch for ch in body if not ch.isspace()}
    if symbols and symbols <= _YES_EMOJI | {"\ufe0f"}:
        return Entity(K.YES_NO, "yes", start, end)
    if symbols and symbols <= _NO_EMOJI | {"\ufe0f"}:
        return Entity(K.YES_NO, "no", start, end)
    folded = fold(body)
    said = " ".join(w for w in squeeze(folded).split() if w not in _COURTESY)
    if said and said.count(" ") < _MAX_ANSWER_WORDS and (asked or folded not in _ONLY_WHEN_ASKED):
        # the nearer list wins: "si, correcto" is nearer "correcto" than "incorrecto"; but a
        # message led by a no is never a yes ("no esta bien" is near "esta bien", "nao ta
        # certo" near "ta certo")
        yes, no = _closeness(said, _YES_SQUEEZED), _closeness(said, _NO_SQUEEZED)
        if _has_no(said):
            yes = 0.0  # "no, esta bien", "pode ser nao, melhor nao"
        if max(yes, no) >= ANSWER_CUTOFF and yes != no:
            return Entity(K.YES_NO, "yes" if yes > no else "no", start, end)
    if not asked:
        return None
    # "pensando bem nao, deixa": the answer after a word of hesitation
    skip = _HESITATION.match(body)
    offset = start + (skip.end() if skip else 0)
    lead = _LEADING.match(text, offset)
    if lead is None:
        return None
    first = squeeze(fold(lead.group(1)))
    at, to = lead.start(1), lead.end(1)
    words = squeeze(folded).split()
    if len(words) <= _MAX_ANSWER_WORDS and "?" not in body:
        # a short answer that takes its yes back ("beleza nao", "ok no", "sim nao") or that
        # lets it go ("pode esquecer") is no yes: a no where it says so, else unclear (asked
        # again), never a reservation
        if first == "pode" and len(words) > 1 and words[1] in _LET_GO:
            return Entity(K.YES_NO, "no", at, to)
        if first not in _NO_LEADS and _has_no(" ".join(words[1:])):
            return None
    if (first in _YES_SQUEEZED and first not in {"pode", "quero", "certo", "vale"}) or lead.group(
        1
    ) in _YES_EMOJI:
        return Entity(K.YES_NO, "yes", at, to)
    if first in _GO_AHEAD and "?" not in body and not _has_no(squeeze(folded)):
        return Entity(K.YES_NO, "yes", at, to)  # "reserva", "confirma ai" where it is asked
    # "pode apagar", "pode mandar o técnico": a go-ahead; "pode cancelar depois?" is a question,
    # "pode ser nao, melhor nao" a no
    # ... and "pode reservar, vou pensar no plano depois": a go-ahead in a clause of its own,
    # before more is said (no no anywhere in the message)
    if (
        first == "pode"
        and "?" not in body
        and (len(folded.split()) <= _MAX_ANSWER_WORDS or _goes_ahead_first(body))
        and not _has_no(squeeze(folded))
    ):
        return Entity(K.YES_NO, "yes", at, to)
    if first in _NO_LEADS or lead.group(1) in _NO_EMOJI:
        return Entity(K.YES_NO, "no", at, to)
    return None


def option(text: str, options: Sequence[Option], *, whole: bool = False) -> Entity | None:
    """The option chosen among ``options``: by number ("2", "opção 2", "2️⃣"), by ordinal ("a
    segunda", "the last one") or by its label typed with typos. The value is its payload.
    ``whole``: the label must be the whole message, typos aside, not a part of it (where the
    options are a yes and a no, "sim, mas posso cancelar depois?" is no "Sim, reservar")."""
    if not options:
        return None
    start, end = _stripped(text)
    body = text[start:end]
    folded = fold(body, digits=True)
    if not folded:
        return None
    number = _OPTION_NUMBER.match(body.strip())
    if number and 1 <= int(number.group(1)) <= len(options):
        return Entity(K.OPTION, options[int(number.group(1)) - 1].payload, start, end)
    labels = [fold(o.label, digits=True) for o in options]
    if len(folded) >= 3:
        if folded in labels:
            return Entity(K.OPTION, options[labels.index(folded)].payload, start, end)
        # the best label, clearly ahead of the next ("mega" alone names none of "300 Mega"
        # and "500 Mega")
        scorer = fuzz.ratio if whole else fuzz.WRatio
        ranked = process.extract(folded, labels, scorer=scorer, limit=2)
        best, runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
        if best[1] >= LABEL_CUTOFF and best[1] - runner_up >= LABEL_MARGIN:
            return Entity(K.OPTION, options[best[2]].payload, start, end)
    words = [w for w in folded.split() if w not in {"a", "o", "the", "la", "el", "one", "opcao"}]
    for word in words[:3]:
        if word in _ORDINAL_WORDS and _ORDINAL_WORDS[word] <= len(options):
            return Entity(K.OPTION, options[_ORDINAL_WORDS[word] - 1].payload, start, end)
        if word in _LAST:
            return Entity(K.OPTION, options[-1].payload, start, end)
    return None


def proper_case(name: str) -> str:
    """ "maria DA silva" → "Maria da Silva"; "ana-luiza d'avila" → "Ana-Luiza D'Avila"."""
    out = []
    for i, word in enumerate(name.split()):
        low = word.lower()
        if i > 0 and low in NAME_PARTICLES:
            out.append(low)
        else:
            out.append(re.sub(r"[^\W\d_]+", lambda m: m.group()[0].upper() + m.group()[1:], low))
    return " ".join(out)


#: the particles that join a surname to the name before it: the word after one is a name's
#: even when customers also use it for something else ("Maria das Graças", "de Sá", "da Luz",
#: "dos Anjos"); "e" and "y" join whole surnames and license nothing
_JOINING = NAME_PARTICLES - {"e", "y"}
#: words of a name, particles included: "Maria das Graças de Sá e Souza" is seven, four of them
#: its own (at most :data:`_MAX_NAME_WORDS`)
_MAX_NAME_PARTS = 9


def _name_word(word: str, common: Collection[str], before: str = "") -> bool:
    """Whether ``word`` may be part of a name, ``before`` the word it follows in it ("" for the
    first). After the first, a word customers also use is a surname when a particle joins it
    ("das Graças") or when it is written as one, capital and accent ("Ana Lé", "Luiz Sá")."""
    folded = fold(word)
    if folded in NAME_PARTICLES:
        return True
    if not _NAME_WORD.match(word) or len(folded) < 2:
        return False
    if folded not in common or fold(before) in _JOINING:
        return True
    return bool(before) and word[0].isupper() and word[1:].islower() and word.lower() != folded


def _too_long(words: Sequence[str]) -> bool:
    own = [w for w in words if fold(w) not in NAME_PARTICLES]
    return len(own) > _MAX_NAME_WORDS or len(words) > _MAX_NAME_PARTS


def _name_words(words: Sequence[str], common: Collection[str]) -> bool:
    if not words or _too_long(words):
        return False
    if fold(words[0]) in NAME_PARTICLES or fold(words[-1]) in NAME_PARTICLES:
        return False
    return all(_name_word(w, common, words[i - 1] if i else "") for i, w in enumerate(words))


def looks_like_name(text: str, common: Collection[str]) -> bool:
    """Whether the whole ``text`` reads as a person's name: 1 to 5 words of letters (particles
    inside), no digits, not a question, no word of ``common`` (the words customers use for
    anything else, taken from the examples)."""
    body = text.strip().rstrip(".!")
    if not body or "?" in body:
        return False
    return _name_words(body.split(), common)


#: words that end a request, never a surname, however a name's shape they have
_NOT_SURNAMES = frozenset(
    {"atendente", "humano", "humana", "robo", "menu", "sair", "parar", "tchau", "cancelar",
     "contratar", "desisto", "desisti", "obrigado", "obrigada", "valeu", "vlw", "obg", "sim",
     "nao", "ok", "blz", "beleza", "quero", "pfv", "aqui", "ai", "agora", "depois", "entao"}
)  # fmt: skip


def looks_like_full_name(text: str, common: Collection[str]) -> bool:
    """Whether ``text`` reads as a full name where a name is asked: :func:`looks_like_name`
    with two words at least, or a first name no other word (and none of ``common``) followed by
    name words of which only the last is also a word customers use ("benedito cancela",
    "fernando pessoa", "marcia regina duarte": Cancela, Pessoa, Duarte are surnames too)."""
    body = text.strip().rstrip(".!")
    words = body.split()
    if len(words) < _FULL_NAME or "?" in body:
        return False
    if looks_like_name(body, common):
        return True
    last = fold(words[-1])
    return (
        _name_words(words[:-1], common)
        and bool(_NAME_WORD.match(words[-1]))
        and len(last) >= _SURNAME
        and last not in _NOT_SURNAMES
    )


#: what introduces the name of the person the service goes in, said so at the name prompt:
#: "coloca no nome dela: Rosângela Lima", "no nome da minha mãe, ...", "em nome de ...", "nome
#: dele: ...", "o titular vai ser ...", "put it under my wife's name, ...", "in the name of ...",
#: "the account holder is ...", "a nombre de mi madre, ...", "el titular es ..."
_WHOSE_NAME = re.compile(
    r"(?:\b(?:n[oa]|em)\s+nome\s+(?:dela|dele|d[aoe]s?\s+(?:minhas?|meus?|nossas?|nossos?)\s+\w+"
    r"|d[aoe])"
    r"|\bnome\s+(?:completo\s+)?(?:dela|dele|d[ao]\s+(?:minha\s+|meu\s+)?\w+)(?=\s*:)"
    r"|\btitular(?:\s+d[aoe]l?\s+(?:conta|contrato|plano|cuenta|servi[cç]o))?"
    r"(?=\s*:|\s+(?:vai\s+ser|va\s+a\s+ser|ser[aá]|[eé]|eh|es|fica)\b)"
    r"(?:\s+(?:vai\s+ser|va\s+a\s+ser|ser[aá]|[eé]|eh|es|fica)\b)?"
    r"|\b(?:under|in)\s+(?:(?:my|her|his|our)\s+(?:\w+['’]s\s+)?|the\s+)name(?:\s+of)?"
    r"|\b(?:account\s+)?holder(?=\s*:|\s+(?:will\s+be|is|should\s+be)\b)"
    r"(?:\s+(?:will\s+be|is|should\s+be)\b)?"
    r"|\ba\s+nombre\s+(?:de\s+(?:mis?|sus?|nuestras?|nuestros?)\s+\w+|del?))"
    r"(?:\s*[:,\-–]\s*|\s+)"
    r"(?:(?:que\s+(?:e|é|eh|se\s+chama|se\s+llama)|who\s+is)\s+)?",
    re.IGNORECASE,
)
#: what a correction puts between the marker and the name: "my name is actually ...", "meu nome
#: é na verdade ...", "mi nombre es en realidad ..."
_ACTUALLY = re.compile(
    r"(?:actually|really|na\s+verdade|na\s+real|en\s+realidad|realmente|de\s+verdad)\b[\s,:]*",
    re.IGNORECASE,
)


def _marker(text: str) -> re.Match[str] | None:
    found = [m for m in (_NAME_MARKERS.search(text), _WHOSE_NAME.search(text)) if m is not None]
    return min(found, key=lambda m: m.start()) if found else None


def named(text: str, common: Collection[str]) -> Entity | None:
    """A name introduced as one: "meu nome é Maria Souza", "sou a Fernanda", "aqui é o Jorge",
    "my name is Mary Smith", "me llamo Juan", "coloca no nome dela: Rosângela Lima", "a nombre
    de mi madre, Rosa Pérez", in proper case. The name ends where a word that is no name begins
    ("meu nome é maria souza e meu cpf é ..."); its particles and the surnames they join are
    kept ("Maria das Graças de Sá e Souza")."""
    marker = _marker(text)
    weak = marker is None
    if weak:
        marker = _WEAK_MARKERS.search(text)
    if marker is None:
        return _last_clause_name(text, common) or _courteous_name(text, common)
    at = marker.end()
    actually = _ACTUALLY.match(text, at)
    at = actually.end() if actually else at
    taken: list[re.Match[str]] = []
    for m in re.finditer(r"\S+", text[at:]):
        word = m.group().rstrip(",.;!")
        before = taken[-1].group() if taken else ""
        if not word or not _name_word(word, common, before):
            break
        if _too_long([t.group() for t in taken] + [word]):
            break
        taken.append(m)
        if word != m.group():  # punctuation ends the name
            break
    while taken and fold(taken[-1].group().rstrip(",.;!")) in NAME_PARTICLES:
        taken.pop()
    if not taken or fold(taken[0].group()) in NAME_PARTICLES:
        return None
    if weak and len(taken) < _FULL_NAME:
        return _last_clause_name(text, common) or _courteous_name(text, common)
    start = at + taken[0].start()
    end = at + taken[-1].start() + len(taken[-1].group().rstrip(",.;!"))
    return Entity(K.PERSON_NAME, proper_case(text[start:end]), start, end)


#: what is said around a name and is no part of it: "renata farias, obrigada", "boa tarde, joao
#: silva", "obg! ana souza" (folded)
_AROUND_A_NAME = frozenset(
    {
        "obrigado", "obrigada", "obg", "brigado", "brigada", "valeu", "vlw", "tmj", "pfv", "pf",
        "por favor", "oi", "oii", "ola", "bom dia", "boa tarde", "boa noite", "ok", "blz",
        "beleza", "ta bom", "certo", "thanks", "thank you", "thx", "please", "hi", "hello",
        "gracias", "hola", "buenas", "buenos dias", "buenas tardes", "buenas noches",
    }
)  # fmt: skip
_CLAUSES = re.compile(r"[^,.;!]+")


def _courteous_name(text: str, common: Collection[str]) -> Entity | None:
    """A name with a courtesy before or after it, apart by punctuation: "renata farias,
    obrigada". Two words at least: "obrigada, renata" is too little to tell."""
    if "?" in text:
        return None
    clauses = [m for m in _CLAUSES.finditer(text) if m.group().strip()]
    if len(clauses) != 2:
        return None
    courtesy = [
        " ".join(re.sub(r"[^\w\s]", " ", fold(m.group())).split()) in _AROUND_A_NAME
        for m in clauses
    ]
    if courtesy.count(True) != 1:
        return None
    clause = clauses[courtesy.index(False)]
    words = clause.group().split()
    if len(words) < 2 or not _name_words(words, common):
        return None
    start = clause.start() + len(clause.group()) - len(clause.group().lstrip())
    end = clause.start() + len(clause.group().rstrip())
    return Entity(K.PERSON_NAME, proper_case(text[start:end]), start, end)


#: a name said as the last clause of a message, after what else the customer says: "ta bom, é
#: marina castro", "o atendente falou q era so mandar o nome, eh fernanda lima", a correction
#: "nao, na verdade é jorge luis", "me equivoqué, es Jorge Luis Bórquez". Only the last clause,
#: only names to its end: "é isso", "e o de 300", "é na rua x 100" are no names
_LAST_CLAUSE = re.compile(
    r"(?:^|[,.;!]\s*)(?:(?:na\s+verdade|na\s+real|en\s+realidad|pensando\s+bem|"
    r"pens[aá]ndolo\s+bien)\s*,?\s*)?(é|eh|e|es)\s+(?=[^,.;!?]*[.!]*\s*$)",
    re.IGNORECASE,
)
#: the clause words that are also "and" (pt "e" unaccented) or plain talk (es "es"): two words
#: of a name at least after them
_AMBIGUOUS_LEADS = frozenset({"e", "es"})


def _last_clause_name(text: str, common: Collection[str]) -> Entity | None:
    """ "ta bom, é marina castro": the name the last clause gives, when it is nothing but a name
    (an unaccented "e" is also "and", "es" the Spanish "is": two words at least there)."""
    if "?" in text:
        return None
    clauses = list(_LAST_CLAUSE.finditer(text))
    if not clauses:
        return None
    clause = clauses[-1]
    start, end = clause.end(), len(text.rstrip(" \t\n.!"))
    words = text[start:end].split()
    lead = clause.group(1).casefold()
    if not _name_words(words, common) or (lead in _AMBIGUOUS_LEADS and len(words) < 2):
        return None
    return Entity(K.PERSON_NAME, proper_case(text[start:end]), start, end)
