"""Brazilian data read with well-kept libraries: phone numbers (phonenumbers: the ninth digit
WhatsApp ids often lack), CPF and CNPJ (python-stdnum, the 2026 alphanumeric CNPJ included), and
national and state holidays (holidays) beside the provider's own days."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import holidays
import pytest

from bot.channels.whatsapp import parse_form
from bot.engine.hours import BusinessHours
from bot.errors import ConfigError, InvalidInput
from bot.i18n import Catalogs
from bot.ozmap.sandbox import RunningSandbox
from bot.settings import load_settings
from bot.validation import (
    format_cnpj,
    mask_cnpj,
    normalize_cnpj,
    normalize_cpf,
    normalize_phone,
    valid_cnpj,
)
from tests.fakes.payloads import twilio_text
from tests.web.test_end_to_end import WhatsappCustomer, serve


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("554899990000", "+5548999990000"),  # a WhatsApp id without the ninth digit
        ("5548999990000", "+5548999990000"),  # the same customer, with it
        ("whatsapp:+554899990000", "+5548999990000"),
        ("(48) 99999-0000", "+5548999990000"),
        ("+55 48 3222-1234", "+554832221234"),  # a landline keeps its eight digits
        ("551132221234", "+551132221234"),
        ("5511987654321", "+5511987654321"),
        ("+1 415 555 0123", "+14155550123"),
        ("12345", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_numbers_are_e164_with_the_ninth_digit(raw: str | None, e164: str | None) -> None:
    assert normalize_phone(raw) == e164


def test_both_forms_of_a_whatsapp_id_are_one_phone_and_the_key_is_kept() -> None:
    old = parse_form(twilio_text("554899990000", "oi"))
    new = parse_form(twilio_text("5548999990000", "oi"))
    assert old is not None and new is not None
    assert old.phone == new.phone == "+5548999990000"
    # the conversation keeps WhatsApp's own id, so a conversation already under it goes on
    assert (old.contact, new.contact) == ("554899990000", "5548999990000")


@pytest.mark.parametrize(
    ("text", "cnpj"),
    [
        ("CNPJ 11.222.333/0001-81, obrigado", "11222333000181"),
        ("11222333000181", "11222333000181"),
        ("12.abc.345/01de-35", "12ABC34501DE35"),  # alphanumeric, from July 2026
        ("11.222.333/0001-82", None),  # a wrong check digit
        ("00.000.000/0000-00", None),
        ("529.982.247-25", None),  # a CPF is not a CNPJ
    ],
)
def test_cnpj(text: str, cnpj: str | None) -> None:
    assert normalize_cnpj(text) == cnpj
    assert valid_cnpj(text) is (cnpj is not None)


def test_cnpj_format_and_mask() -> None:
    assert format_cnpj("11222333000181") == "11.222.333/0001-81"
    assert mask_cnpj("11.222.333/0001-81") == "**.***.***/0001-81"
    with pytest.raises(InvalidInput):
        format_cnpj("11222333000182")


def test_cpf_repeated_digits_are_refused_though_their_check_digits_add_up() -> None:
    assert normalize_cpf("meu cpf é 529.982.247-25") == "52998224725"
    assert normalize_cpf("111.111.111-11") is None
    assert normalize_cpf("529.982.247-26") is None


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00-03:00").astimezone(UTC)


SPEC = "mon-fri 08:00-18:00"


def test_national_holidays_close_the_team() -> None:
    hours = BusinessHours.parse(SPEC, country="BR")
    assert not hours.is_open(at("2026-04-21"))  # Tiradentes, a Tuesday
    assert hours.next_opening(at("2026-04-21")) == at("2026-04-22", 8)
    assert hours.is_open(at("2026-04-22"))


def test_a_state_holiday_closes_only_that_state() -> None:
    # São Paulo's own days (9 July...), as the holidays package dates them, not hard-coded
    years = range(2025, 2029)
    national = holidays.country_holidays("BR", years=years)
    days = [
        d for d in holidays.country_holidays("BR", subdiv="SP", years=years) if d not in national
    ]
    assert any(day.weekday() < 5 for day in days)  # some fall on working days
    sp = BusinessHours.parse(SPEC, country="BR", state="SP")
    sc = BusinessHours.parse(SPEC, country="BR", state="SC")
    for day in days:
        assert sp.closed_on(day) and not sc.closed_on(day)
        if day.weekday() < 5:
            assert not sp.is_open(at(day.isoformat())) and sc.is_open(at(day.isoformat()))


def test_the_providers_own_days_add_to_the_public_ones() -> None:
    hours = BusinessHours.parse(SPEC, ["2026-02-17"], country="BR")  # Carnival: optional
    assert not hours.is_open(at("2026-02-17"))
    assert not hours.is_open(at("2026-04-21"))
    without = BusinessHours.parse(SPEC, ["2026-02-17"])
    assert without.is_open(at("2026-04-21"))  # no public calendar asked for


def test_holidays_from_the_settings() -> None:
    settings = load_settings({"OZBOT_HOLIDAY_STATE": "sc"}, env_file=None)
    assert settings.public_holidays is True
    hours = BusinessHours.from_settings(settings)
    assert not hours.is_open(at("2026-11-20"))  # Black Awareness Day, national since 2024
    off = load_settings({"OZBOT_PUBLIC_HOLIDAYS": "false"}, env_file=None)
    assert BusinessHours.from_settings(off).is_open(at("2026-11-20"))
    with pytest.raises(ConfigError, match="OZBOT_HOLIDAY_STATE='XX' is not a state"):
        BusinessHours.from_settings(load_settings({"OZBOT_HOLIDAY_STATE": "XX"}, env_file=None))


async def test_a_prospect_gets_the_normalised_phone(
    tmp_path: Path, sandbox: RunningSandbox
) -> None:
    t = Catalogs.load(strict=True).translator("pt_BR")
    not_covered = str(sandbox.network.samples["not_covered"]["address"]).split(" - ")[0]
    before = {p["_id"] for p in sandbox.network.docs("prospects")}
    async with serve(tmp_path, sandbox) as (client, fakes, state):
        eva = WhatsappCustomer(client, fakes, state, "554899887766")  # no ninth digit
        await eva.says("oi")
        await eva.chooses(t("menu.option.sales"))
        await eva.says(not_covered)
        await eva.chooses(t("sales.button.right_address"))
        await eva.says("Eva Prado")
    new = [p for p in sandbox.network.docs("prospects") if p["_id"] not in before]
    assert [p["phone"] for p in new] == ["+5548999887766"]
