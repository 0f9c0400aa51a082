"""The blocks of the service itself: the plans and answers quoted, and the people behind the
bot (opening hours, holidays, the timers of a conversation and of a handoff)."""

from __future__ import annotations

from bot.settings.fields import Block, Flag, Names, setting

__all__ = ["People", "Plans"]


class Plans(Block):
    plans_file: str = setting(
        "",
        "OZBOT_PLANS_FILE",
        "your plans, prices and answers to common questions (YAML, texts per language; a "
        "sample: bot/plans/sample.yml); empty: the bot quotes no prices (the demo and "
        "serve --sandbox use the sample)",
        example="/etc/ozbot/plans.yml",
        section="plans and answers",
    )


class People(Block):
    business_hours: str = setting(
        "mon-fri 08:00-18:00; sat 08:00-12:00",
        "OZBOT_BUSINESS_HOURS",
        "when agents answer handoffs (days mon..sun or seg..dom); empty: always",
        section="people and timers",
    )
    holidays: Names = setting(
        (),
        "OZBOT_HOLIDAYS",
        "the provider's own days off (Carnival, a local holiday), YYYY-MM-DD, comma-separated",
        example="2026-12-25,2027-01-01",
    )
    public_holidays: Flag = setting(
        True,
        "OZBOT_PUBLIC_HOLIDAYS",
        "true: Brazil's national holidays (and OZBOT_HOLIDAY_STATE's) close the team too, from "
        "the holidays package; OZBOT_HOLIDAYS adds to them",
    )
    holiday_state: str = setting(
        "",
        "OZBOT_HOLIDAY_STATE",
        "the state (UF) whose holidays also close the team; empty: national ones only",
        example="SC",
    )
    timezone: str = setting("America/Sao_Paulo", "OZBOT_TIMEZONE", "the team's time zone")
    nudge_minutes: float = setting(
        10.0,
        "OZBOT_NUDGE_MINUTES",
        "minutes of silence mid-flow before the bot nudges the customer (0 turns it off)",
    )
    expire_minutes: float = setting(
        120.0,
        "OZBOT_EXPIRE_MINUTES",
        "minutes of silence mid-flow before the conversation goes back to the menu, its data "
        "kept (0 turns it off)",
    )
    handoff_timeout_minutes: float = setting(
        30.0,
        "OZBOT_HANDOFF_TIMEOUT_MINUTES",
        "minutes (counted from opening time) before a handoff nobody claimed goes back to the bot",
    )
