"""The sales flow's states and outcomes, named apart so that the address readers
(:mod:`flows.address`) can return its outcomes; the flow's table is in :mod:`flows.sales`."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Outcome", "State"]


class State(StrEnum):
    START = "start"
    ASK_ADDRESS = "ask_address"
    ASK_NUMBER = "ask_number"
    CHOOSE_ADDRESS = "choose_address"
    CONFIRM_ADDRESS = "confirm_address"
    ASK_UNIT = "ask_unit"
    ASK_NAME = "ask_name"
    ASK_CPF = "ask_cpf"
    CONFIRM = "confirm"
    RESERVED = "reserved"
    PORTS_GONE = "ports_gone"
    ASK_PROSPECT_NAME = "ask_prospect_name"
    PROSPECT = "prospect"


class Outcome(StrEnum):
    START = "start"
    FOUND = "found"
    AMBIGUOUS = "ambiguous"
    NEEDS_NUMBER = "needs_number"
    NOT_FOUND = "not_found"
    RETRY = "retry"
    COVERED = "covered"
    CONDOMINIUM = "condominium"
    NOT_COVERED = "not_covered"
    UNIT_GIVEN = "unit_given"
    NAMED = "named"
    NEEDS_CPF = "needs_cpf"
    CPF_OK = "cpf_ok"
    RESERVED = "reserved"
    PORTS_GONE = "ports_gone"
    RECORDED = "recorded"
    #: a unit, a name or a CPF corrected: the same question (or the summary) again
    CHANGED = "changed"
    #: "nao, o nome ta errado" at the summary: the name asked again
    FIX_NAME = "fix_name"
    #: the step said what it needs; the customer answers again in the same state
    UNCLEAR = "unclear"
