"""The corpus's named checks against the product's own texts: a check that missed the
catalogs' right answer (or read its language wrong) would fail good conversations."""

from __future__ import annotations

import pytest

from bot.i18n import Catalogs
from tests.conversations.checks import CHECKS, language_of, not_understood

#: catalog key -> the check its text must pass (the texts the flows say at those points)
MEANT = {
    "sales.ask_address": "asks_address",
    "geo.ask_number": "asks_number",
    "geo.address_confirm": "confirms_address",
    "sales.covered": "covered",
    "sales.not_covered": "not_covered",
    "sales.ask_name": "asks_name",
    "sales.ask_unit.building": "asks_unit",
    "sales.summary.question": "summary",
    "sales.reserved": "reserved",
    "sales.prospect_recorded": "goodbye",
    "handoff.waiting": "handoff",
    "outage.known": "outage",
    "outage.troubleshoot": "no_outage",
    "cancel.done": "cancelled",
    "privacy.erased": "erased",
    "common.offer_human": "offers_human",
    "repair.goodbye": "goodbye",
    "repair.stopped": "goodbye",
    "repair.welcome": "goodbye",  # "You're welcome! ... just message us", "¡De nada! ..."
}
MENU_OPTIONS = ("sales", "outage", "cancel", "human")
PARAMS = {"address": "Rua Delminda Silveira, 900", "code": "OZB-7KQ2MX", "name": "Ana"}
PARAMS |= {"street": "Rua Delminda Silveira", "number": "900", "codes": "OZB-7KQ2MX"}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(strict=True)


@pytest.mark.parametrize("lang", ["pt_BR", "en", "es"])
@pytest.mark.parametrize(("key", "check"), MEANT.items())
def test_each_check_recognises_the_catalogs_text(
    catalogs: Catalogs, lang: str, key: str, check: str
) -> None:
    text = catalogs.text(lang, key, PARAMS)
    assert CHECKS[check](text), f"{check} misses {lang} {key}: {text!r}"
    assert language_of(text) in (lang, None), f"{lang} {key} read as {language_of(text)}"


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("Não há falha conhecida na sua região.", "outage"),
        ("Identificamos uma falha em massa na sua região.", "no_outage"),
        ("Posso registrar o seu interesse? Qual é o seu nome?", "summary"),
        ("Rua Delminda Silveira: qual é o número?", "asks_name"),
        ("• Nome: Ana Souza\nPosso reservar?", "asks_name"),
        ("Confira os dados da reserva: Rua X, 88025-500", "reserved"),
        ("Welcome! What is your address?", "goodbye"),
    ],
)
def test_checks_tell_apart_what_looks_alike(text: str, check: str) -> None:
    assert not CHECKS[check](text)


@pytest.mark.parametrize("lang", ["pt_BR", "en", "es"])
def test_asking_where_to_look_for_an_outage_tells_of_none(catalogs: Catalogs, lang: str) -> None:
    # "Vou verificar se há falha na sua região. Onde você está?" is a question, not an outage
    assert not CHECKS["outage"](catalogs.text(lang, "outage.ask_where", PARAMS))


def test_giving_up_is_seen_in_three_languages() -> None:
    assert not_understood("Não entendi. Responda “sim” ou “não”.")
    assert not_understood("Sorry, I didn't get that.")
    assert not_understood("No entendí.")
    assert not not_understood("Preciso só do número do imóvel, por exemplo: 900.")


@pytest.mark.parametrize("lang", ["pt_BR", "en", "es"])
def test_an_erasure_declined_is_no_erasure(catalogs: Catalogs, lang: str) -> None:
    # "Certo, não apaguei nada." passed `erased` when the customer said no
    assert not CHECKS["erased"](catalogs.text(lang, "privacy.kept", PARAMS))


def test_opening_hours_in_english_are_hours() -> None:
    # the sample book's English answer: "8am to 6pm" has no "h" nor ":00"
    assert CHECKS["hours"]("Our team answers Monday to Friday, 8am to 6pm, and on Saturdays.")
    assert not CHECKS["hours"]("Can I help you with anything else?")


@pytest.mark.parametrize("lang", ["pt_BR", "en", "es"])
@pytest.mark.parametrize("check", ["summary", "cancel_policy", "asks_stop", "covered"])
def test_the_menu_offered_after_a_flow_satisfies_no_check_about_text(
    catalogs: Catalogs, check: str, lang: str
) -> None:
    """The menu's options under "Posso ajudar em mais alguma coisa?" ("Contratar internet",
    "Cancelar reserva") made a conversation that fell back to it pass where a summary, an
    answer about cancelling or "Quer parar?" was expected."""
    options = [catalogs.text(lang, f"menu.option.{key}", PARAMS) for key in MENU_OPTIONS]
    assert not CHECKS[check](catalogs.text(lang, "menu.more", PARAMS), options)
    assert CHECKS["menu"](catalogs.text(lang, "menu.more", PARAMS), options)


@pytest.mark.parametrize("lang", ["pt_BR", "en", "es"])
def test_the_greeting_offering_to_check_coverage_does_not_say_it_is_covered(
    catalogs: Catalogs, lang: str
) -> None:
    """ "Posso verificar se a nossa fibra chega no seu endereço" offers to find out."""
    assert not CHECKS["covered"](catalogs.text(lang, "menu.greeting", PARAMS))
    assert not CHECKS["covered"](catalogs.text(lang, "menu.greeting.named", PARAMS))
