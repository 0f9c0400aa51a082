"""The understanding in the turn: read the message with what its state expects, decide the move
(:mod:`bot.engine.repair`), and run it on the flow's machine.

:meth:`Dialogue.read` asks the understander (``Services.understander``) what the message means,
with the state's :class:`~bot.nlu.base.Expect`, the options last offered and the conversation's
language; picks the conversation's language from the text when the channel gave none (or when
the customer clearly writes in another); and decides the move. Without an understander, and
while a person handles the conversation, the keyword routing (:mod:`bot.engine.routing`) runs.

:meth:`Dialogue.step` runs the move. The facts the message carries are kept
(:data:`~bot.engine.flow.FACTS_KEY`) until a step uses them, and a state whose question they
already answer is not asked: its step runs at once (so "oi, tem fibra na rua delminda silveira
900?" goes from the greeting straight to the address's confirmation). A question is answered by
``Services.answers`` and the pending question asked again; unclear answers are counted, and
after :attr:`Dialogue.max_unclear` in a row a person is offered.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from enum import Enum

from bot.conversation import Conversation
from bot.engine.flow import FACTS_KEY, UNCLEAR, Jump, Translate, Turn
from bot.engine.flowset import FlowSet
from bot.engine.machine import CompiledFlow, trigger_name
from bot.engine.repair import (
    CLEAR,
    DATA,
    EXPECTED_FACTS,
    SPENT,
    Situation,
    carries_answer,
    decide,
    is_question,
)
from bot.engine.routing import (
    INTENT_PREFIX,
    Intent,
    Move,
    Route,
    normalize,
    offered_buttons,
    route,
)
from bot.engine.services import Services
from bot.engine.wording import (
    asks_options,
    looks_like_question,
    meant_part,
    opens_with_question,
    thanks,
)
from bot.messages import Button, Inbound, Reply
from bot.nlu.answers import clauses, denial, plain_request
from bot.nlu.base import EntityKind, Expect, Option, Understanding
from bot.ozmap.sales import reservations

__all__ = ["CHOOSING_KEY", "SWITCH_KEY", "UNCLEAR_KEY", "Dialogue"]

log = logging.getLogger(__name__)

#: the intent row the customer was asked about switching to (``Conversation.context``)
SWITCH_KEY = "_switch"
#: how many unclear answers in a row the customer gave (``Conversation.context``)
UNCLEAR_KEY = "_unclear"
#: the flow that listed options to choose among (the plans) and has no choice yet
#: (``Conversation.context``, set and cleared by the flow)
CHOOSING_KEY = "_choosing"
#: a state that asks one of these takes a typed "2" as itself, not as the 2nd option offered
_NUMBERS = frozenset({Expect.NUMBER, Expect.UNIT})
#: how many states a message may answer at once (a bound, in case a step leaves its fact)
_MAX_ADVANCE = 6
#: states whose step reads data or a choice: a step that leaves the conversation there with
#: nothing learnt ("não encontrei esse endereço", again) got an unclear answer
_ASKS = frozenset(Expect) - {Expect.NOTHING, Expect.TEXT}
#: a conversation's language changes only for a message this long (a short one is ambiguous);
#: longer where the messenger told the customer's language
_SWITCH_WORDS = 3
_SWITCH_WORDS_HINTED = 4
#: how many sentences make a message that asks more than once
_TWICE = 2


def choose(inbound: Inbound, offered: Sequence[Button], *, digits: bool) -> Inbound:
    """A typed option's number (where ``digits``) or its label → that option's payload."""
    if inbound.button is not None or not inbound.text or not offered:
        return inbound
    typed = normalize(inbound.text)
    if typed.isdigit():
        index = int(typed)
        if digits and 1 <= index <= len(offered):
            return dataclasses.replace(inbound, button=offered[index - 1].payload)
        return inbound
    for option in offered:
        if typed == normalize(option.label):
            return dataclasses.replace(inbound, button=option.payload)
    return inbound


class Dialogue:
    """Reads and runs customers' messages for :class:`~bot.engine.turns.CustomerTurns`."""

    def __init__(
        self,
        flows: FlowSet,
        intents: Sequence[Intent],
        services: Services,
        *,
        max_unclear: int = 2,
    ) -> None:
        self._flows = flows
        self._intents = tuple(intents)
        self._services = services
        self.max_unclear = max_unclear

    # -- reading -----------------------------------------------------------------------------

    def _where(self, conversation: Conversation) -> tuple[CompiledFlow | None, Enum | None]:
        flow = self._flows.get(conversation.flow)
        state = flow.spec.state_of(conversation.state) if flow is not None else None
        return flow, state

    async def read(
        self, conversation: Conversation, inbound: Inbound, *, fresh: bool
    ) -> tuple[Conversation, Route]:
        """The conversation (its language perhaps changed) and where ``inbound`` goes.
        ``fresh``: the conversation was just created for this message."""
        flows = self._flows
        understander = self._services.understander
        flow, state = self._where(conversation)
        # a person handles it (only the way back is heard), or a flow not written as rows yet
        # (its states do not say what they expect): the keyword routing
        legacy = flow is not None and not flow.spec.rows
        if understander is None or conversation.flow == flows.handoff or legacy:
            return conversation, route(
                conversation, inbound, self._intents, handoff_flow=flows.handoff
            )
        pending = conversation.context.get(SWITCH_KEY)
        pending = pending if isinstance(pending, str) else None
        expects = flow.spec.expects_in(state) if flow is not None else Expect.NOTHING
        if pending is not None:
            expects = Expect.YES_NO
        offered = offered_buttons(conversation.context)
        message = choose(inbound, offered, digits=expects not in _NUMBERS)
        understood = None
        beside = None
        if message.button is None and message.text and message.text.strip():
            guess = inbound.language is None and fresh
            understood = await understander.understand(
                message.text,
                expects=expects,
                language=None if guess else conversation.language,
                # only where a choice is asked: elsewhere the understander lets an option it
                # recognises ("sim, ...") hide the rest of the message (a number, a question)
                options=[Option(b.payload, b.label) for b in offered]
                if expects is Expect.OPTION
                else (),
            )
            understood = await self._meant(message.text, understood, expects, conversation)
            if expects is not Expect.NOTHING:
                understood = await self._asked_first(message.text, understood, conversation)
            if expects is Expect.NOTHING:
                beside = await self._asked_beside(message.text, understood, conversation)
            message = self._option(message, understood)
            words = _SWITCH_WORDS if inbound.language is None else _SWITCH_WORDS_HINTED
            conversation = self._language(conversation, message.text, understood, guess, words)
        at_rest = expects is Expect.NOTHING
        busy = (
            not at_rest
            and flow is not None
            and conversation.flow not in (flows.default, flows.handoff)
            and state != _first_question(flow)
        )
        where = Situation(
            flow=conversation.flow if flow is not None else flows.default,
            expects=expects,
            at_rest=at_rest,
            busy=busy,
            default=flows.default,
            handoff=flows.handoff,
            pending=pending,
            choosing=not at_rest and conversation.context.get(CHOOSING_KEY) == conversation.flow,
            offered=frozenset(
                b.payload.removeprefix(INTENT_PREFIX)
                for b in offered
                if b.payload.startswith(INTENT_PREFIX)
            ),
            # a finished flow (not the menu) and this contact holds a reservation: it was just
            # made (the next message at rest takes the conversation back to the menu)
            reserved=at_rest
            and conversation.flow != flows.default
            and bool(reservations(conversation.context)),
            known=_known(conversation.context),
        )
        return conversation, decide(where, message, understood, self._intents, beside=beside)

    async def _meant(
        self, text: str, understood: Understanding, expects: Expect, conversation: Conversation
    ) -> Understanding:
        """What a message means when it declines one request to make another ("nao quero
        cancelar, so queria saber se tem multa"), or says nothing is wrong on the way to what it
        asks ("minha internet nao ta caindo nao, quero saber o preco"): the reading of the part
        meant, its facts' places in the whole text; the whole's reading otherwise."""
        part = meant_part(text) or _beside_denial(text)
        understander = self._services.understander
        if part is None or understander is None:
            return understood
        at, rest = part
        again = await understander.understand(rest, expects=expects, language=conversation.language)
        if again.intent is None or again.confidence < CLEAR:
            return understood
        moved = tuple(
            dataclasses.replace(e, start=e.start + at, end=e.end + at) for e in again.entities
        )
        return dataclasses.replace(again, entities=moved, language=understood.language)

    async def _asked_first(
        self, text: str, understood: Understanding, conversation: Conversation
    ) -> Understanding:
        """Mid-flow, a message that opens with a question the answers cover, then tells why
        ("qual é melhor pra jogar online? a minha atual fica cancelando a conexao toda hora"):
        the question is its point (read alone; the whole read as a request for what the story
        tells of), its facts the whole's. The whole's reading otherwise."""
        understander = self._services.understander
        if understander is None or is_question(understood.intent):
            return understood
        if "?" not in text or not opens_with_question(text):
            return understood
        first = text.split("?", 1)[0] + "?"
        alone = await understander.understand(first, language=conversation.language)
        if not is_question(alone.intent) or alone.confidence < CLEAR:
            return understood
        return dataclasses.replace(
            understood, intent=alone.intent, confidence=alone.confidence, ranking=alone.ranking
        )

    async def _asked_beside(
        self, text: str, understood: Understanding, conversation: Conversation
    ) -> str | None:
        """The request a question comes with in a clause of its own ("oi quero contratar mas
        antes me diz se tem multa", "is there a minimum contract? if not i'd like to sign up"),
        read alone (read with the question, it scores next to nothing); None when the message
        is no clear question or no clause of it makes a request now."""
        understander = self._services.understander
        if understander is None or not is_question(understood.intent):
            return None
        if understood.confidence < CLEAR:
            return None
        for at, to, mark in clauses(text):
            request = plain_request(text[at:to]) if mark != "?" else None
            if request is None:
                continue
            alone = await understander.understand(request, language=conversation.language)
            clear = alone.intent is not None and alone.confidence >= CLEAR
            if clear and not is_question(alone.intent):
                return alone.intent
        return None

    @staticmethod
    def _option(message: Inbound, understood: Understanding) -> Inbound:
        # "a segunda", "o de cima": the option the understander recognised, unless the message
        # is a question or another request that merely names one
        chosen = understood.value(EntityKind.OPTION)
        if chosen is None or understood.intent not in ("inform", "affirm", "deny", None):
            return message
        return dataclasses.replace(message, button=chosen)

    @staticmethod
    def _language(
        conversation: Conversation,
        text: str | None,
        understood: Understanding,
        guess: bool,
        words: int,
    ) -> Conversation:
        found = understood.language
        if found is None or found == conversation.language:
            return conversation
        if understood.entities and understood.intent in ("inform", None) and not guess:
            return conversation  # an address or a name alone is written in no language
        if guess or len((text or "").split()) >= words:
            return dataclasses.replace(conversation, language=found)
        return conversation

    # -- running -----------------------------------------------------------------------------

    async def step(self, conversation: Conversation, routed: Route, t: Translate) -> Turn:
        """Run ``routed`` on a fresh :class:`Turn` (nothing saved). Raises whatever a step
        raises, and :class:`transitions.MachineError` for an outcome its table lacks."""
        flows = self._flows
        flow = flows.get(routed.flow)
        move = routed.move
        if flow is None:
            flow, move = flows[flows.default], Move.BEGIN
        same = flow.spec.name == conversation.flow
        state = flow.spec.state_of(conversation.state) if same else None
        turn = Turn(
            flow=flow.spec.name,
            state=state if state is not None else flow.spec.initial,
            context=conversation.context,
            message=routed.message,
            services=self._services,
            t=t,
            language=conversation.language,
            understanding=routed.understanding,
        )
        switching = turn.context.pop(SWITCH_KEY, None) is not None
        if move is Move.BEGIN and not switching:
            # a new request: what an earlier one left goes, but for the plan asked about on the
            # way ("quanto custa o de 300?", then "quero esse"): the sale begun next reads it
            earlier = turn.context.pop(FACTS_KEY, None) or {}
            plan = earlier.get(EntityKind.PLAN.value)
            if isinstance(plan, str):
                turn.keep(EntityKind.PLAN, plan)
        _remember(turn)
        if move is Move.STEP and (state is None or not flow.has_step(state)):
            move = Move.BEGIN
        if move is Move.BEGIN:
            await self._begin(flow, turn, first=True)
        elif move is Move.STEP:
            await self._step(flow, turn)
        elif move is Move.ANSWER:
            if await self._options(flow, turn):
                return turn
            await self._answer(turn)
            if routed.intent is not None:
                await self._begin(flow, turn, first=True)  # the request the question came with
            elif self._goes_on(flow, turn):
                await self._step(flow, turn)  # "sim, mas posso cancelar?": the yes, too
            else:
                await self._again(flow, turn)
        elif move is Move.SMALL_TALK:
            expects = flow.spec.expects_in(turn.state)
            line = _small_talk(turn, expects)
            if line is not None and not (turn.intent == "chitchat" and self._greets(flow, turn)):
                turn.say(line)  # (where the menu's greeting follows, it introduces the bot)
            await self._again(flow, turn)
            if turn.intent == "chitchat" and expects in EXPECTED_FACTS:
                # "sei la" where a number is asked fills nothing: counted, the offer of a
                # person (when it comes) after the question, as after an unclear answer
                self._unclear(turn)
        elif move is Move.CLOSE:
            self._close(turn)
        elif move is Move.ASK_SWITCH:
            self._ask_switch(flow, turn, routed.intent)
        else:  # RESUME
            turn.say(turn.t("repair.resume"))
            mark = len(turn.replies)
            await self._again(flow, turn)
            # "nao, primeiro termina o meu cadastro. meu nome é Vanessa Moraes": the no to
            # stopping came with the answer to the pending question
            await self._advance(flow, turn, mark)
        return turn

    async def _begin(self, flow: CompiledFlow, turn: Turn, *, first: bool = False) -> None:
        turn.flow = flow.spec.name
        turn.state = flow.spec.initial
        turn.context.pop(UNCLEAR_KEY, None)
        if flow.spec.on_begin is not None:
            flow.spec.on_begin(turn)
        mark = len(turn.replies)
        await flow.fire(turn, "start")
        # a pin sent at the menu answers the first question, like a typed address would
        await self._advance(flow, turn, mark, pinned=first and turn.message.location is not None)

    @staticmethod
    async def _run(flow: CompiledFlow, turn: Turn) -> Enum | str | Jump:
        """The state's step; the facts that answer its question are spent with it, whether it
        used them or not (a step that read the text instead must not meet them again)."""
        expects = flow.spec.expects_in(turn.state)
        outcome = await flow.spec.steps[turn.state](turn)
        facts = turn.context.get(FACTS_KEY)
        if facts:
            for kind in SPENT.get(expects, ()):
                facts.pop(kind.value, None)
        return outcome

    @staticmethod
    def _goes_on(flow: CompiledFlow, turn: Turn) -> bool:
        """After a digression, whether the message also answered the pending question, so its
        step runs too; not where a yes finishes the flow (the reservation, the erasure): a yes
        that comes with a question there is asked for again, once the question is answered."""
        expects = flow.spec.expects_in(turn.state)
        if expects is Expect.NOTHING or not flow.has_step(turn.state):
            return False
        if not carries_answer(turn.understanding, expects, turn.message.text):
            return False
        return not (expects is Expect.YES_NO and _finishes(flow, turn.state))

    async def _step(self, flow: CompiledFlow, turn: Turn) -> None:
        # a snapshot: steps change the context's lists and dicts in place
        before = (turn.state, copy.deepcopy(_flow_data(turn.context)))
        await self._settle(flow, turn, await self._run(flow, turn), before=before)

    async def _settle(
        self,
        flow: CompiledFlow,
        turn: Turn,
        outcome: Enum | str | Jump,
        depth: int = 0,
        before: tuple[Enum, dict[str, object]] | None = None,
    ) -> None:
        """Move by a step's ``outcome``: into another flow, or along the table, counting an
        unclear answer, then on through the states the known facts answer. ``before``: the
        state and the flow's data before the customer's message was read; back there with
        nothing learnt, the answer was unclear too, whatever the step called it."""
        if isinstance(outcome, Jump):
            # only steps jump, and a flow's beginning runs no step but a known fact's: bounded
            await self._begin(self._flows[outcome.flow], turn)
            return
        mark = len(turn.replies)
        await flow.fire(turn, outcome)
        stuck = (
            before is not None
            and turn.state == before[0]
            and flow.spec.expects_in(turn.state) in _ASKS
            and _flow_data(turn.context) == before[1]
        )
        if trigger_name(outcome) == UNCLEAR or stuck:
            self._unclear(turn)
            return
        turn.context.pop(UNCLEAR_KEY, None)
        await self._advance(flow, turn, mark, depth=depth)

    async def _advance(
        self, flow: CompiledFlow, turn: Turn, mark: int, *, pinned: bool = False, depth: int = 0
    ) -> None:
        """While the state just entered asks what the customer already said, do not ask: drop
        its question (the replies from ``mark`` on) and run its step."""
        expects = flow.spec.expects_in(turn.state)
        known = any(turn.fact(kind) for kind in EXPECTED_FACTS.get(expects, ()))
        if not flow.has_step(turn.state) or not (known or (pinned and expects is Expect.ADDRESS)):
            return
        if depth >= _MAX_ADVANCE:
            log.warning("flow %s: facts answered %d states in a row", flow.spec.name, depth)
            return
        del turn.replies[mark:]
        await self._settle(flow, turn, await self._run(flow, turn), depth + 1)

    def _unclear(self, turn: Turn) -> None:
        count = int(turn.context.get(UNCLEAR_KEY) or 0) + 1
        turn.context[UNCLEAR_KEY] = count
        offered = any(
            b.payload == INTENT_PREFIX + self._flows.handoff
            for r in turn.replies
            for b in r.buttons
        )
        if count >= self.max_unclear and not offered:
            # never a loop: a person is a tap away
            turn.say(turn.t("repair.offer_human"), *self._flows.human_and_menu(turn.t))

    def _greets(self, flow: CompiledFlow, turn: Turn) -> bool:
        """Whether :meth:`_again` begins the menu (whose greeting says what the bot is)."""
        at_rest = flow.spec.expects_in(turn.state) is Expect.NOTHING
        return at_rest and (turn.flow == self._flows.default or turn.state is flow.spec.initial)

    async def _again(self, flow: CompiledFlow, turn: Turn) -> None:
        """The pending question again, or at rest the menu's (a greeting already shows it)."""
        if flow.spec.expects_in(turn.state) is not Expect.NOTHING:
            prompt = flow.spec.prompts.get(turn.state)
            if prompt is not None:
                prompt(turn)
            return
        if self._greets(flow, turn):
            await self._begin(self._flows[self._flows.default], turn)

    async def _options(self, flow: CompiledFlow, turn: Turn) -> bool:
        """ "quais as opcoes?" where the answers say nothing of them (read as the menu, not as
        the plans): what is offered here, the flow's options (the plans, in a sale; at rest, the
        menu's), then the pending question again (its buttons are options too), or at rest the
        menu. False: not asked so, or the answers have it ("que planos tem?")."""
        if not asks_options(turn.message.text) or self._reply_to(turn) is not None:
            return False
        at_rest = flow.spec.expects_in(turn.state) is Expect.NOTHING
        offering = self._flows[self._flows.default] if at_rest else flow
        if offering.spec.options is not None:
            offering.spec.options(turn)
        if at_rest:
            await self._begin(offering, turn)
        else:
            await self._again(flow, turn)
        return True

    def _reply_to(self, turn: Turn) -> Reply | None:
        """What ``Services.answers`` answers to the message (None: nothing it covers)."""
        if turn.understanding is None:
            return None
        return self._reply_to_intent(turn, turn.understanding)

    def _reply_to_intent(self, turn: Turn, understood: Understanding) -> Reply | None:
        answers = self._services.answers
        if answers is None:
            return None
        try:
            return answers.answer(understood, turn.language)
        except Exception:  # an answer is a courtesy: its failure must not lose the turn
            log.exception("the answerer failed")
            return None

    async def _answer(self, turn: Turn) -> None:
        said: list[Reply] = []
        for part in _questions(turn.message.text):
            # "vcs atendem ate q horas? e da pra pagar no pix?": each question answered in turn,
            # read apart (read together, the second scores little beside the first)
            reply = await self._answer_alone(turn, part)
            if reply is not None and all(reply.text != r.text for r in said):
                said.append(reply)
        if not said:
            whole = self._reply_to(turn)
            if whole is None:
                turn.say(turn.t("repair.no_answer"))
                return
            said.append(whole)
        turn.replies.extend(said)

    async def _answer_alone(self, turn: Turn, part: str) -> Reply | None:
        """The answer to one question of several in a message, when it is one the answers
        cover and was clearly meant."""
        understander = self._services.understander
        if understander is None:
            return None
        understood = await understander.understand(part, language=turn.language)
        if not is_question(understood.intent) or understood.confidence < CLEAR:
            return None
        return self._reply_to_intent(turn, understood)

    def _close(self, turn: Turn) -> None:
        intent = turn.intent
        if intent in ("goodbye", "deny"):
            turn.say(turn.t("repair.goodbye"))
        elif intent == "thank" or thanks(turn.text):
            turn.say(turn.t("repair.welcome"))  # "vlw", "ok obg", "deixa assim, obrigado"
        elif intent == "affirm":
            turn.say(turn.t("repair.ack"))  # "ok", "blz" with nothing pending
        else:
            turn.say(turn.t("repair.stopped"))
        default = self._flows[self._flows.default]
        turn.context.pop(FACTS_KEY, None)
        turn.context.pop(UNCLEAR_KEY, None)
        turn.flow, turn.state = default.spec.name, default.spec.initial

    def _ask_switch(self, flow: CompiledFlow, turn: Turn, intent: str | None) -> None:
        t = turn.t
        turn.context[SWITCH_KEY] = intent or ""
        question = flow.spec.leaving(t) if flow.spec.leaving else t("repair.leave")
        turn.say(
            question,
            Button("yes", t("repair.button.leave")),
            Button("no", t("repair.button.stay")),
        )


def _beside_denial(text: str) -> tuple[int, str] | None:
    """Where what a message asks starts, and that part, beside a clause that says the service is
    fine or declines a request by name (:func:`bot.nlu.answers.denial`); None without one."""
    span = denial(text)
    if span is None:
        return None
    at, to = span
    return (to, text[to:]) if at == 0 else (0, text[:at])


def _flow_data(context: dict[str, object]) -> dict[str, object]:
    """What the flows keep in the context (the engine's own keys, ``_...``, left out)."""
    return {k: v for k, v in context.items() if not k.startswith("_")}


def _finishes(flow: CompiledFlow, state: Enum) -> bool:
    """Whether an outcome of ``state``'s step can end the flow (a row from it into a resting
    state): the summary's yes reserves, the erasure's yes erases."""
    for row in flow.spec.transitions:
        source, dest = row[1], row[2]
        sources = source if isinstance(source, list | tuple) else [source]
        if (state in sources or "*" in sources) and dest in flow.spec.resting:
            return True
    return False


def _first_question(flow: CompiledFlow) -> Enum | None:
    """The state a flow's ``start`` enters: leaving there throws nothing away."""
    for row in flow.spec.transitions:
        if trigger_name(row[0]) == "start":
            dest: Enum | None = row[2]
            return dest
    return None


def _questions(text: str | None) -> list[str]:
    """The sentences of a message that asks more than once ("tem fidelidade? e a instalação é
    gratis?"); none for a message of one sentence (the whole is the question)."""
    raw = text or ""
    if "?" not in raw:
        return []
    parts = [part.strip() for part in raw.split("?") if part.strip()]
    return parts if len(parts) >= _TWICE else []


def _known(context: dict[str, object]) -> frozenset[EntityKind]:
    """The kinds of fact kept for later states (:data:`FACTS_KEY`)."""
    facts = context.get(FACTS_KEY)
    if not isinstance(facts, dict):
        return frozenset()
    return frozenset(k for k in EntityKind if k.value in facts)


def _remember(turn: Turn) -> None:
    """Keep the data the message carries for the states that will ask for it."""
    understood = turn.understanding
    if understood is None:
        return
    for entity in understood.entities:
        if entity.kind in DATA:
            turn.keep(entity.kind, entity.value)


def _small_talk(turn: Turn, expects: Expect) -> str | None:
    """The short reply to small talk; none to a remark that asks nothing where data is asked
    ("sei la", "hmm"): "Tudo certo por aqui!" would answer what nobody asked, the question
    (with its example) comes again alone."""
    intent = turn.intent
    if intent == "greet":
        return turn.t("repair.greet")
    if intent == "thank":
        return turn.t("repair.thanks")
    if expects in EXPECTED_FACTS and not looks_like_question(turn.message.text):
        return None
    return turn.t("repair.chitchat")
