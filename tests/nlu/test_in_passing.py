"""What a message says in passing, as tables: a plan change put off, a problem denied beside a
question, a phrase that lets something go (no erasure of anyone's data)."""

from __future__ import annotations

import pytest

from bot.nlu.answers import denial, doubts, names_erasure, yes_no
from bot.nlu.base import EntityKind, Expect
from bot.nlu.entities import changes_plan, put_off
from bot.nlu.facts import find


@pytest.mark.parametrize(
    ("text", "now"),
    [
        ("sim pode reservar, talvez eu mude pro de 500 depois", False),
        ("pode reservar sim, dps eu troco pro de 1 giga", False),
        ("sim e talvez depois eu passe pro plano de 500", False),
        ("maybe I'll switch to the 500 later", False),
        ("si, quizas despues cambio al de 500", False),
        ("posso mudar pro de 500 depois?", False),  # a question about later, no change now
        ("na vdd muda pro de 500", True),
        ("volta pro de 300", True),
        ("troca pro de 500, depois a gente ve o resto", True),  # the later is another clause
        ("switch to the 500", True),
    ],
)
def test_a_change_put_off_is_no_change_now(text: str, now: bool) -> None:
    assert changes_plan(text) is now
    assert bool(put_off(text)) is not now


def test_the_plan_of_a_change_put_off_is_no_plan_chosen_nor_a_house_number() -> None:
    text = "sim pode reservar, talvez eu mude pro de 500 depois"
    found = find(text, expects=Expect.YES_NO)
    assert not [e for e in found if e.kind in (EntityKind.PLAN, EntityKind.HOUSE_NUMBER)]
    assert [e.value for e in found if e.kind is EntityKind.YES_NO] == ["yes"]
    chosen = find("sim, o de 500", expects=Expect.YES_NO)
    assert [e.value for e in chosen if e.kind is EntityKind.PLAN] == ["500"]


def test_a_maybe_said_of_a_change_put_off_does_not_doubt_the_yes() -> None:
    assert not doubts("sim e talvez depois eu passe pro plano de 500")
    assert yes_no("sim e talvez depois eu passe pro plano de 500", asked=True) is not None
    assert doubts("sim, talvez")  # a maybe about the yes itself still is one


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("minha internet nao ta caindo nao, so quero saber o preco", " so quero saber o preco"),
        ("a net nao caiu nao, queria saber quanto custa", " queria saber quanto custa"),
        ("nao to sem internet nao, quero ver os planos", " quero ver os planos"),
        ("nao é problema de internet, é so pra saber o preço", " é so pra saber o preço"),
        ("minha internet ta funcionando, quanto custa o de 500?", " quanto custa o de 500?"),
        ("nao quero cancelar, queria saber se tem multa", " queria saber se tem multa"),
        ("quanto custa o de 500? minha net nao caiu nao", "quanto custa o de 500"),
        ("my internet isn't down, i just want the price", " i just want the price"),
        ("no se cayo mi internet, solo quiero saber el precio", " solo quiero saber el precio"),
    ],
)
def test_a_problem_denied_leaves_what_is_asked(text: str, asked: str) -> None:
    span = denial(text)
    assert span is not None
    at, to = span
    assert (text[to:] if at == 0 else text[:at]) == asked


@pytest.mark.parametrize(
    "text",
    [
        "minha internet nao ta funcionando, quanto tempo demora?",  # the outage itself
        "minha net n ta funcionando, moro na rua x 100",
        "minha internet ta lenta, quanto custa o de 1 giga?",
        "it's not working, how much is the 500?",
        "minha internet nao ta caindo nao",  # nothing else said
        "claro, nao tem problema",
        "nao, na verdade é 1500",
    ],
)
def test_no_denial_where_the_problem_is_told_or_nothing_else_is_said(text: str) -> None:
    assert denial(text) is None


@pytest.mark.parametrize(
    ("text", "erases"),
    [
        ("pode esquecer", False),
        ("esquece", False),
        ("esquece isso, obrigado", False),
        ("forget it", False),
        ("olvidalo", False),
        ("deixa pra la", False),
        ("pode esquecer meu numero", True),
        ("esquece tudo q eu te mandei", True),
        ("apaga tudo", True),
        ("quero ser esquecido", True),
        ("forget me", True),
        ("right to be forgotten", True),
        ("quiero que me olviden", True),
        ("olvidense de mi", True),
    ],
)
def test_an_erasure_names_what_it_erases(text: str, erases: bool) -> None:
    assert names_erasure(text) is erases
