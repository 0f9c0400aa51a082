"""Joining consecutive replies, splitting long ones, and options as numbered text."""

from __future__ import annotations

import pytest

from bot.channels.textsplit import merge_replies, numbered, split_text
from bot.messages import Button, Reply

OPTIONS = (Button("yes", "Sim"),)


@pytest.mark.parametrize(
    ("replies", "merged"),
    [
        ([], []),
        ([Reply("a")], [Reply("a")]),
        ([Reply("a"), Reply("b")], [Reply("a\n\nb")]),
        ([Reply("a"), Reply("b"), Reply("c")], [Reply("a\n\nb\n\nc")]),
        # what the later reply offers stays under the joined text
        ([Reply("a"), Reply("b", buttons=OPTIONS)], [Reply("a\n\nb", buttons=OPTIONS)]),
        ([Reply("a"), Reply("b", ask_location=True)], [Reply("a\n\nb", ask_location=True)]),
        # a reply with buttons or a location request ends its message
        ([Reply("a", buttons=OPTIONS), Reply("b")], [Reply("a", buttons=OPTIONS), Reply("b")]),
        ([Reply("a", ask_location=True), Reply("b")], [Reply("a", ask_location=True), Reply("b")]),
        # never past the limit: 4 + 2 + 4 > 9
        ([Reply("aaaa"), Reply("bbbb")], [Reply("aaaa"), Reply("bbbb")]),
        ([Reply("aaa"), Reply("bbbb")], [Reply("aaa\n\nbbbb")]),
    ],
)
def test_merge_replies(replies: list[Reply], merged: list[Reply]) -> None:
    assert merge_replies(replies, 9) == merged


@pytest.mark.parametrize(
    ("text", "limit", "pieces"),
    [
        ("", 10, [""]),
        ("curto", 10, ["curto"]),
        ("exatamente", 10, ["exatamente"]),
        ("uma frase longa demais", 10, ["uma frase", "longa", "demais"]),
        ("linha um\nlinha dois", 12, ["linha um", "linha dois"]),
        ("par um\n\npar dois bem maior", 18, ["par um", "par dois bem maior"]),
        ("abcdefghijklmnop", 5, ["abcde", "fghij", "klmno", "p"]),
    ],
)
def test_split_text_cuts_at_the_best_boundary(text: str, limit: int, pieces: list[str]) -> None:
    assert split_text(text, limit) == pieces


def test_split_text_keeps_every_word_in_order_within_the_limit() -> None:
    words = [f"palavra{i}" for i in range(2000)]
    text = " ".join(words)
    pieces = split_text(text, 1600)
    assert all(len(piece) <= 1600 for piece in pieces)
    assert " ".join(pieces).split() == words
    assert len(pieces) == -(-len(text) // 1600) or len(pieces) == -(-len(text) // 1600) + 1


def test_split_text_rejects_a_useless_limit() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_text("x", 0)


def test_numbered_lists_options_after_the_intro() -> None:
    assert numbered("Escolha:", ["Contratar", "Falha"], "Responda com o número:") == (
        "Escolha:\n\nResponda com o número:\n1. Contratar\n2. Falha"
    )
    assert numbered("Só texto", []) == "Só texto"
    assert numbered("A", ["x"]) == "A\n1. x"
