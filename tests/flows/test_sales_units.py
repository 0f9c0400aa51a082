"""Units and house numbers as customers give them, in the sales flow (corpus: the
sales-unit-*, sales-address-* and sales-voice-note-* conversations).

In a condominium the unit is asked first and the plans follow its answer, whatever the unit
("cobertura", "ap 302 bl b", "casa 2 fundos"); a number marked as such in the first message
("n° 1200", "numero 400", "num 900") is the street's, so the address is read back at once, and
a unit given with it is kept to the summary and OZmap.
"""

from __future__ import annotations

import pytest

from bot.ozmap.sandbox import RunningSandbox
from flows.address import with_number
from tests.engine.support import Chat
from tests.flows.test_sales import BUILDING, property_of, reserved_code

PLANS = "nossos planos"


@pytest.mark.parametrize(
    ("said", "unit"),
    [
        ("cobertura", "Cobertura"),
        ("ap 302 bl b", "Apto 302 Bloco B"),
        ("apto 12", "Apto 12"),
        ("é o 302", "302"),
        ("Loja 2", "Loja 2"),
    ],
)
async def test_the_unit_answer_leads_on_to_the_plans(
    chat: Chat, sandbox: RunningSandbox, said: str, unit: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(BUILDING)
    await chat.says("sim")
    assert "a nossa fibra chega aí" in chat.text
    assert "apartamento" in chat.last_reply.text
    assert PLANS not in chat.text  # one question at a time: the unit first
    await chat.says(said)
    assert PLANS in chat.text and "Fibra 500 Mega" in chat.text
    assert "nome completo" in chat.last_reply.text
    await chat.says("o de 500")
    assert "Anotado: Fibra 500 Mega" in chat.text
    await chat.says("vitor hugo pacheco")
    assert f"• Unidade: {unit}" in chat.last_reply.text
    assert "• Plano: Fibra 500 Mega" in chat.last_reply.text
    await chat.says("sim")
    reserved = property_of(sandbox, reserved_code(chat))
    assert f"({unit})" in str(reserved["address"])


async def test_casa_fundos_in_the_condominium_keeps_where_on_the_lot(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("boa tarde, queria fibra na frei caneca 250")
    await chat.says("sim")
    assert "casa" in chat.last_reply.text and PLANS not in chat.text
    await chat.says("casa 2 fundos")
    assert PLANS in chat.text and "nome completo" in chat.last_reply.text
    await chat.says("aline ferreira")
    assert "• Unidade: Casa 2 Fundos" in chat.last_reply.text
    await chat.says("sim")
    assert "(Casa 2 Fundos)" in str(property_of(sandbox, reserved_code(chat))["address"])


@pytest.mark.parametrize(
    ("first", "address"),
    [
        ("quero contratar fibra, rua rui barbosa n° 1200 apto 302 bloco b", "Rui Barbosa, 1200"),
        ("boa noite, quero internet pra rua rui barbosa nº 1200 ap 302", "Rui Barbosa, 1200"),
    ],
)
async def test_a_marked_number_and_a_flat_in_the_first_message(
    chat: Chat, sandbox: RunningSandbox, first: str, address: str
) -> None:
    await chat.says(first)
    assert address in chat.last_reply.text and "Está certo?" in chat.last_reply.text
    await chat.says("sim")
    # the building's unit question is answered already: the plans, then the name
    assert "apartamento" not in chat.text
    assert PLANS in chat.text and "nome completo" in chat.last_reply.text
    await chat.says("ana souza")
    assert "• Unidade: Apto 302" in chat.last_reply.text
    await chat.says("sim")
    assert "(Apto 302" in str(property_of(sandbox, reserved_code(chat))["address"])


async def test_a_flat_after_a_slash_is_the_unit(chat: Chat, sandbox: RunningSandbox) -> None:
    await chat.says("boa tarde, quero fibra na rua rui barbosa 1200/302")
    assert "Rui Barbosa, 1200" in chat.last_reply.text
    await chat.says("sim")
    assert "apartamento" not in chat.text and "nome completo" in chat.last_reply.text
    await chat.says("eduardo klein")
    assert "• Unidade: 302" in chat.last_reply.text


async def test_a_plan_or_a_yes_at_the_unit_question_is_no_unit(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("quero contratar")
    await chat.says(BUILDING)
    await chat.says("sim")
    assert "apartamento" in chat.last_reply.text
    await chat.says("o de 500")  # the plans are not listed yet; the customer knows them
    assert "Anotado: Fibra 500 Mega" in chat.text
    assert "apartamento" in chat.last_reply.text  # the unit asked again
    await chat.says("sim")
    assert "Unidade" not in chat.text and "nome completo" not in chat.text
    await chat.says("apto 302")
    assert PLANS not in chat.text  # the plan is chosen: not listed again
    assert "nome completo" in chat.last_reply.text
    await chat.says("ana souza")
    assert "• Unidade: Apto 302" in chat.last_reply.text
    assert "• Plano: Fibra 500 Mega" in chat.last_reply.text
    await chat.says("sim")
    assert "(Apto 302)" in str(property_of(sandbox, reserved_code(chat))["address"])


async def test_a_street_without_numbers_and_its_quadra_and_lote(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("quero internet, moro na rua delminda silveira quadra 3 lote 12")
    assert "Rua Delminda Silveira" in chat.last_reply.text and "número" in chat.last_reply.text
    await chat.says("nao tem numero")
    assert "Rua Delminda Silveira" in chat.last_reply.text and "Está certo?" in chat.last_reply.text
    await chat.says("sim")
    await chat.says("joao carlos")
    assert "• Unidade: Quadra 3 Lote 12" in chat.last_reply.text
    await chat.says("sim")
    assert "(Quadra 3 Lote 12)" in str(property_of(sandbox, reserved_code(chat))["address"])


async def test_a_unit_corrected_at_the_name_prompt_gives_no_name(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("quero contratar")
    await chat.says(BUILDING)
    await chat.says("sim")
    await chat.says("apto 302")
    assert "nome completo" in chat.last_reply.text
    await chat.says("errei, é apto 303")
    assert "Anotado: Apto 303" in chat.text
    assert "nome completo" in chat.last_reply.text and "Errei" not in chat.text
    await chat.says("o mais rapido")  # a plan where the name is asked: no name either
    assert "Anotado: Fibra 1 Giga" in chat.text and "nome completo" in chat.last_reply.text
    await chat.says("luana prado")
    summary = chat.last_reply.text
    assert "• Nome: Luana Prado" in summary and "• Unidade: Apto 303" in summary
    assert "• Plano: Fibra 1 Giga" in summary


@pytest.mark.parametrize(
    ("first", "address"),
    [
        (
            "boa tarde tudo bem? entao, eu me mudei agora pra rua delminda silveira numero 400 e "
            "queria ver se vcs tem internet de fibra ai pq a minha antiga operadora nao atende",
            "Rua Delminda Silveira, 400",
        ),
        (
            "oi bom dia, tudo bom? olha, to me mudando semana que vem pra rua bocaiuva num 900 e "
            "preciso de internet la, vcs atendem? a net q eu tenho hj nao chega la",
            "Rua Bocaiúva, 900",
        ),
    ],
)
async def test_a_voice_note_with_the_address_inside_is_read_back(
    chat: Chat, first: str, address: str
) -> None:
    await chat.says(first)
    assert address in chat.last_reply.text and "Está certo?" in chat.last_reply.text


@pytest.mark.parametrize(
    ("street", "number", "query"),
    [
        ("rua rui barbosa", "1200", "rua rui barbosa, 1200"),
        ("rua rui barbosa n° 1200", "1200", "rua rui barbosa, 1200"),
        ("rua bocaiuva num 900", "900", "rua bocaiuva, 900"),
        ("R. Delminda Silveira, 900", "900", "R. Delminda Silveira, 900"),
        ("rua 5", "12", "rua 5, 12"),  # a street named by a number keeps it
        ("rua x nº 12 a", "12A", "rua x, 12A"),
        ("rua frei caneca", None, "rua frei caneca"),
        ("rua rui barbosa 1.200", "1200", "rua rui barbosa 1200"),  # the thousands dot
        ("rua rui barbosa n° 1.200", "1200", "rua rui barbosa, 1200"),
    ],
)
def test_the_geocoder_is_asked_the_street_and_its_number(
    street: str, number: str | None, query: str
) -> None:
    assert with_number(street, number) == query


async def test_a_prospect_keeps_the_flat_given_with_the_address(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    before = {p["_id"] for p in sandbox.network.docs("prospects")}
    await chat.says("boa tarde quero fibra na av madre benvenuta nº 1500 ap 12")
    assert "Madre Benvenuta, 1500" in chat.last_reply.text
    await chat.says("sim")
    await chat.says("helena martins")
    [prospect] = [p for p in sandbox.network.docs("prospects") if p["_id"] not in before]
    assert prospect["address"].startswith("Avenida Madre Benvenuta, 1500")
    assert prospect["address"].endswith("(Apto 12)")


@pytest.mark.parametrize("said", ["paulo henrique costa", "nao sei", "pode ser"])
async def test_what_is_no_unit_gets_the_unit_question_again(
    chat: Chat, sandbox: RunningSandbox, said: str
) -> None:
    await chat.says("quero contratar")
    await chat.says(BUILDING)
    await chat.says("sim")
    await chat.says(said)
    assert "unidade" in chat.text and "nome completo" not in chat.text
    await chat.says("apto 71")
    assert PLANS in chat.text and "nome completo" in chat.last_reply.text


async def test_a_block_added_at_the_name_prompt_joins_the_flat(
    chat: Chat, sandbox: RunningSandbox
) -> None:
    await chat.says("quero contratar")
    await chat.says(BUILDING)
    await chat.says("sim")
    await chat.says("apto 45")
    await chat.says("ah e é bloco c")
    assert "Anotado: Apto 45 Bloco C" in chat.text
    assert "nome completo" in chat.last_reply.text and "Ah" not in chat.text
    await chat.says("vinicius araujo")
    summary = chat.last_reply.text
    assert "• Nome: Vinicius Araujo" in summary and "• Unidade: Apto 45 Bloco C" in summary
    await chat.says("300")  # a plan's speed where the summary lists them: the plan, no number
    reserved = property_of(sandbox, reserved_code(chat))
    assert reserved["address"].startswith("Rua Rui Barbosa, 1200")
    assert "plano 300" in reserved["observation"]
