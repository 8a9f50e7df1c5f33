"""The command tokenizer: shlex's words and errors in one linear pass, and a cap on what it reads."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.errors import UsageError
from commands.invocation import MAX_TEXT_CHARS, quote, tokenize

SHELLISH = st.text(
    alphabet=st.sampled_from(
        [
            "a",
            "b",
            "é",
            "中",
            " ",
            "\t",
            "\n",
            "\r",
            '"',
            "'",
            "\\",
            "=",
            "\u201c",
            "\u201d",
            "\u2018",
            "\u2019",
        ]
    ),
    max_size=40,
)


def _shlex(text: str) -> list[str] | str:
    """What the previous tokenizer (shlex, smart quotes made plain) read, or its error sentence."""
    plain = text.translate({0x201C: '"', 0x201D: '"', 0x2018: "'", 0x2019: "'"})
    try:
        return shlex.split(plain)
    except ValueError as exc:
        return f"Could not read the arguments: {exc} (close the quote)."


def _ours(text: str) -> list[str] | str:
    try:
        return tokenize(text)
    except UsageError as exc:
        return str(exc)


@settings(max_examples=600, derandomize=True, database=None, deadline=None)
@given(text=SHELLISH)
def test_words_and_errors_are_shlexs(text: str) -> None:
    """Whatever mix of quotes, backslashes and whitespace, the words (or the error) are shlex's."""
    assert _ours(text) == _shlex(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('fallback 1 on "price spike"', ["fallback", "1", "on", "price spike"]),
        ("deny 3 \u201cnot now\u201d", ["deny", "3", "not now"]),
        ("\u201cit\u2019s\u201d ok", ["it's", "ok"]),
        (r'say "a \"b\" \c"', ["say", 'a "b" \\c']),
        ("a ''", ["a", ""]),
        (r"x\ y", ["x y"]),
        ("", []),
    ],
)
def test_quotes_group_words(text: str, words: list[str]) -> None:
    """Plain, smart and escaped quotes group words as a shell does; an empty quoted word is kept."""
    assert tokenize(text) == words


@pytest.mark.parametrize("reason", ['it\'s "late" \\ now', "\u201cfine\u201d", "", "a\nb"])
def test_quote_reads_back_as_one_word(reason: str) -> None:
    """A form's free text joined with ``quote`` comes back as one word (smart quotes as plain)."""
    plain = reason.translate({0x201C: '"', 0x201D: '"'})
    assert tokenize(f"deny 4 {quote(reason)}") == ["deny", "4", plain]


def test_text_over_the_cap_is_refused_with_its_length() -> None:
    """A megabyte of text is refused, naming its length and the cap; text at the cap is read."""
    with pytest.raises(UsageError) as refused:
        tokenize('"' + "x" * 1_000_000)
    assert "1,000,001 characters" in str(refused.value)
    assert f"{MAX_TEXT_CHARS:,}" in str(refused.value)
    assert tokenize("y" * MAX_TEXT_CHARS) == ["y" * MAX_TEXT_CHARS]
