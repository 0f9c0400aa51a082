"""Reservation-code templates: what each field makes, and the templates refused at start-up."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from bot.errors import ConfigError
from bot.ozmap.codes import ALPHABET, CodeTemplate

NOW = datetime(2026, 3, 10, 9, 30)


class Sequence:
    """A counter as the store keeps one: the next value per name, starting at 1."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    async def __call__(self, name: str) -> int:
        self.values[name] = self.values.get(name, 0) + 1
        return self.values[name]


async def test_the_default_is_todays_random_code() -> None:
    codes = {await CodeTemplate().render(NOW) for _ in range(50)}
    assert len(codes) == 50
    assert all(re.fullmatch(f"OZB-[{ALPHABET}]{{6}}", code) for code in codes)


async def test_prefix_date_sequence_and_cpf() -> None:
    counter = Sequence()
    template = CodeTemplate("ISP-{date:%Y%m%d}-{seq:05d}", counter=counter)
    assert [await template.render(NOW) for _ in range(2)] == [
        "ISP-20260310-00001",
        "ISP-20260310-00002",
    ]
    with_cpf = CodeTemplate("{cpf}-{seq}", counter=counter, cpf_known=True)
    assert await with_cpf.render(NOW, "529.982.247-25") == "52998224725-3"
    hexadecimal = CodeTemplate("N{seq:x}", counter=Sequence())
    assert [await hexadecimal.render(NOW) for _ in range(10)][-1] == "Na"
    last_four = CodeTemplate("C{cpf:4}.{random:8}", cpf_known=True)
    assert re.fullmatch(f"C4725\\.[{ALPHABET}]{{8}}", await last_four.render(NOW, "52998224725"))


async def test_a_code_without_a_cpf_drops_the_field_and_its_separator() -> None:
    template = CodeTemplate("ISP-{cpf}-{seq}", counter=Sequence(), cpf_known=True)
    assert await template.render(NOW, None) == "ISP-1"
    leading = CodeTemplate("{cpf}-{seq:03d}", counter=Sequence(), cpf_known=True)
    assert await leading.render(NOW) == "001"


@pytest.mark.parametrize(
    ("template", "options", "message"),
    [
        ("ISP-{date}", {}, "must be unique"),
        ("{cpf}", {"cpf_known": True}, "must be unique"),
        ("ISP-{seq}", {}, "needs the bot's store"),
        ("{cpf}-{random}", {}, "OZBOT_REQUIRE_CPF=true"),
        ("ISP-{name}-{random}", {}, "unknown field {name}"),
        ("ISP-{random!r}", {}, "unknown field"),
        ("ISP {random}", {}, "letters, digits"),
        ("ISP/{random}", {}, "letters, digits"),
        ("ISP-{random:2}", {}, "from 4 to 32"),
        ("ISP-{seq:q}", {"counter": Sequence()}, "Unknown format code"),
        ("ISP-{random", {}, "not a template"),
    ],
)
def test_templates_that_cannot_work_are_refused(
    template: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        CodeTemplate(template, **options)  # type: ignore[arg-type]
    assert "OZMAP_CODE_TEMPLATE" in str(caught.value)
