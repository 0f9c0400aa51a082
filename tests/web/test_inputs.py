"""``load_json``: every way a NUL or a lone surrogate can travel in a JSON body comes out
cleaned (bodies that cannot carry one skip the walk over their strings, so each way is listed
here), and text that is only unusual comes out as it went in."""

from __future__ import annotations

import pytest

from bot.web.inputs import load_json


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"text": "oi\\u0000 tudo"}', {"text": "oi tudo"}),
        (b'{"te\\u0000xt": "oi"}', {"text": "oi"}),  # in a key too
        (b'{"text": "oi \\ud800"}', {"text": "oi \ufffd"}),
        (b'{"text": "oi \\uDFFF"}', {"text": "oi \ufffd"}),  # upper-case hex digits
        (b'{"text": "oi \\uDbFf"}', {"text": "oi \ufffd"}),
        # a surrogate's own UTF-8 bytes: json.loads decodes bytes with surrogatepass
        ('{"text": "oi \udc00"}'.encode("utf-8", "surrogatepass"), {"text": "oi \ufffd"}),
        (b'{"a": [{"b": ["\\u0000"]}]}', {"a": [{"b": [""]}]}),
    ],
)
def test_nuls_and_lone_surrogates_are_cleaned_however_they_travel(
    body: bytes, expected: object
) -> None:
    assert load_json(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"text": "quero internet pfv \\ud83d\\ude00"}', {"text": "quero internet pfv 😀"}),
        ('{"text": "olá, tô sem sinal 😩"}'.encode(), {"text": "olá, tô sem sinal 😩"}),
        (b'{"text": "ol\\u00e1 \\\\u0000 n\\u00e3o"}', {"text": "olá \\u0000 não"}),
        ('{"text": "한국"}'.encode(), {"text": "한국"}),  # 0xED lead bytes that are not surrogates
    ],
)
def test_other_text_comes_out_as_it_went_in(body: bytes, expected: object) -> None:
    assert load_json(body) == expected


def test_a_lone_surrogate_is_refused_when_asked() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        load_json(b'{"text": "\\udc00"}', surrogates="refuse")
    assert load_json(b'{"text": "ok"}', surrogates="refuse") == {"text": "ok"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_utf16_and_utf32_bodies_never_bring_a_nul_or_a_lone_surrogate_in(encoding: str) -> None:
    # json.loads takes them (it sniffs the encoding); only UTF-8 is read, the rest is refused
    body = '{"text": "oi\\u0000 tudo \\ud800"}'.encode(encoding)
    try:
        data = load_json(body)
    except ValueError:
        return
    assert data == {"text": "oi tudo \ufffd"}


def test_a_utf8_bom_is_read_and_a_body_that_is_not_utf8_is_refused() -> None:
    assert load_json(b'\xef\xbb\xbf{"text": "oi"}') == {"text": "oi"}
    with pytest.raises(ValueError):
        load_json(b'{"text": "ol\xe1"}')  # Latin-1
