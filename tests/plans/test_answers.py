"""The engine's answerer over the plan book, as the composition root builds it from the
setting: replies in the customer's language, the plans to choose from, and a wrong file
refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.compose import compose
from bot.engine.services import PlanOffer
from bot.errors import ConfigError
from bot.i18n import Catalogs
from bot.nlu.base import Entity, EntityKind, Understanding
from bot.plans import SAMPLE, PlanAnswers, PlanBook, load_plan_book
from tests.support.settings import offline_settings

PRICE_OF_300 = Understanding("ask_price", 0.9, (Entity(EntityKind.PLAN, "300", 0, 3),))


@pytest.fixture(scope="module")
def answers() -> PlanAnswers:
    return PlanAnswers(load_plan_book(SAMPLE), Catalogs.load(strict=True))


def test_a_reply_in_the_customers_language(answers: PlanAnswers) -> None:
    reply = answers.answer(PRICE_OF_300, "es")
    assert reply is not None and reply.text.startswith("El plan Fibra 300 Megas cuesta R$ 89,90")
    assert reply.buttons == ()  # the engine asks the pending question again itself
    assert answers.answer(Understanding("buy", 0.9), "pt_BR") is None
    assert answers.answer(Understanding(None, 0.0), "pt_BR") is None


def test_the_plans_to_choose_from(answers: PlanAnswers) -> None:
    assert answers.plans("pt_BR") == [
        PlanOffer("300", "Fibra 300 Mega · R$ 89,90", 300),
        PlanOffer("500", "Fibra 500 Mega · R$ 99,90", 500),
        PlanOffer("1000", "Fibra 1 Giga · R$ 149,90", 1000),
    ]
    assert answers.plans("en")[0] == PlanOffer("300", "Fibre 300 Mbps · R$ 89.90", 300)


def test_a_missing_text_is_no_answer_not_a_crash(tmp_path: Path) -> None:
    # a strict catalog without the framing keys: the answerer must not raise
    locales = tmp_path / "pt_BR" / "LC_MESSAGES"
    locales.mkdir(parents=True)
    (locales / "ozbot.po").write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")
    bare = PlanAnswers(
        load_plan_book(SAMPLE), Catalogs.load(tmp_path, languages=("pt_BR",), strict=True)
    )
    assert bare.answer(PRICE_OF_300, "pt_BR") is None


async def test_the_composed_bot_reads_the_file_the_setting_names(tmp_path: Path) -> None:
    own = tmp_path / "plans.yml"
    own.write_text("plans: [{speed: 700, price: 129.9, name: Turbo}]\n", encoding="utf-8")
    async with compose(offline_settings(tmp_path, plans_file=str(own)), background=False) as rt:
        assert rt.services.answers is not None
        assert [p.label for p in rt.services.answers.plans("pt_BR")] == ["Turbo · R$ 129,90"]
    async with compose(offline_settings(tmp_path, plans_file=""), background=False) as rt:
        assert rt.services.answers is not None and rt.services.answers.plans("pt_BR") == []
        assert rt.services.answers.answer(PRICE_OF_300, "pt_BR") is None
    own.write_text("plans: [{speed: 700}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="OZBOT_PLANS_FILE"):
        async with compose(offline_settings(tmp_path, plans_file=str(own)), background=False):
            pass  # pragma: no cover -- refused before


def test_the_cheapest_plan_comes_first_whatever_the_files_order() -> None:
    book = PlanBook.from_data(
        {
            "plans": [
                {"speed": 1000, "price": 149.9},
                {"speed": 300, "price": 99.9},
                {"speed": 200, "price": 99.9},
                {"speed": 600, "price": 79.9, "name": "Promo 600"},
            ]
        }
    )
    offers = PlanAnswers(book, Catalogs.load(strict=True)).plans("pt_BR")
    assert [o.speed for o in offers] == [600, 200, 300, 1000]
