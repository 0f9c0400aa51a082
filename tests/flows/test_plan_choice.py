"""Which plan a customer chose, as customers choose: by the button or its number, by speed in
any of the ways they write it, by "o mais barato", in the three languages; read with the real
understander, over the sample's plans as the composed bot offers them."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from bot.compose import compose
from bot.engine import Services, Turn
from bot.i18n import Catalogs
from bot.messages import Inbound
from bot.nlu.base import Expect, Option
from bot.nlu.embedded import EmbeddedUnderstander
from bot.plans import SAMPLE, PlanAnswers, load_plan_book
from flows.plan_choice import PLAN_PREFIX, offered_plans, plan_buttons, read_plan
from flows.sales_states import State
from tests.support.settings import offline_settings

PLANS = PlanAnswers(load_plan_book(SAMPLE), Catalogs.load(strict=True)).plans("pt_BR")


@pytest.fixture(scope="module")
def nlu() -> EmbeddedUnderstander:
    return EmbeddedUnderstander()


def turn(
    text: str = "", *, button: str | None = None, nlu: EmbeddedUnderstander | None = None
) -> Turn:
    options = [Option(b.payload, b.label) for b in plan_buttons(PLANS)]
    understood = nlu.read(text, expects=Expect.OPTION, options=options) if nlu and text else None
    return Turn(
        flow="sales",
        state=State.START,  # reading a plan needs no particular state
        context={},
        message=Inbound(channel="test", contact="5548999990001", text=text, button=button),
        services=cast(Services, None),  # never reached: reading a plan is pure
        t=lambda key, /, **params: key,
        language="pt_BR",
        understanding=understood,
    )


@pytest.mark.parametrize(
    ("text", "speed"),
    [
        ("300", 300),
        ("o de 300", 300),
        ("quero o de 500", 500),
        ("500 mega", 500),
        ("500mb pfv", 500),
        ("o de 1 giga", 1000),
        ("1gb", 1000),
        ("o mais barato", 300),
        ("qual for mais em conta", 300),
        ("o mais rapido", 1000),
        ("the 300 one", 300),
        ("the 1 gig one", 1000),
        ("1gig pls", 1000),
        ("vou de 500 entao", 500),
        ("the cheapest", 300),
        ("el de 500", 500),
        ("el más barato", 300),
        ("fibra 500", 500),
    ],
)
def test_a_plan_chosen_as_customers_write(nlu: EmbeddedUnderstander, text: str, speed: int) -> None:
    for understander in (None, nlu):  # with and without the understander's reading
        chosen = read_plan(turn(text, nlu=understander), PLANS)
        assert chosen is not None and chosen.speed == speed, (text, understander)


@pytest.mark.parametrize("text", ["200", "sei la", "qual a diferença?", "2 giga", ""])
def test_nothing_chosen(nlu: EmbeddedUnderstander, text: str) -> None:
    assert read_plan(turn(text, nlu=nlu), PLANS) is None


def test_by_its_button_and_no_plan_without_plans() -> None:
    buttons = plan_buttons(PLANS)
    assert [b.payload for b in buttons] == ["plan:300", "plan:500", "plan:1000"]
    assert buttons[1].label == "Fibra 500 Mega · R$ 99,90"
    chosen = read_plan(turn(button=PLAN_PREFIX + "500"), PLANS)
    assert chosen is not None and chosen.id == "500"
    assert read_plan(turn(button="plan:999"), PLANS) is None
    assert read_plan(turn(button="intent:menu"), PLANS) is None
    assert read_plan(turn("300"), ()) is None


async def test_the_plans_offered_are_the_composed_bots(tmp_path: Path) -> None:
    async with compose(offline_settings(tmp_path), background=False) as runtime:
        reading = turn("300")
        reading.services = runtime.services
        reading.language = "es"
        assert [p.label for p in offered_plans(reading)][:1] == ["Fibra 300 Megas · R$ 89,90"]
    async with compose(offline_settings(tmp_path, plans_file=""), background=False) as runtime:
        reading.services = runtime.services
        assert offered_plans(reading) == []
