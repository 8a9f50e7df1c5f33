"""mrkdwn escaping: untrusted text can never form a mention, a broadcast or a disguised link.

Property tests are deterministic (``derandomize``, no example database), like the parser's.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatops.slack.blocks.approval import approval_blocks
from chatops.slack.blocks.limits import TEXT_MAX
from chatops.slack.blocks.mrkdwn import escape_mrkdwn, fit_mrkdwn
from chatops.slack.blocks.reply import reply_blocks, reply_text
from commands.reply import Check, Field, Reply, Tone
from tests.chatops.slack.blockkit import BARE_AMPERSAND, assert_inert, assert_valid, mrkdwn_texts

PROPERTY = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The pieces attackers use, mixed with ordinary text (ZWJ left out: it is our own neutraliser).
_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;",
        "@here",
        "@HERE",
        "@channel",
        "@everyone",
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<@U1>",
        "<@U123|bob>",
        "<#C1|general>",
        "<!subteam^S1|@ops>",
        "<https://evil.example|click>",
        "<!date^1^{date}|x>",
        "`",
        "*",
        "\n",
        " ",
        "@",
        "!",
    ]
)
_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\u200d")
UNTRUSTED = st.lists(st.one_of(_PIECES, st.text(_CHARS, max_size=8)), max_size=30).map("".join)


def _unescape(text: str) -> str:
    """What Slack displays for escaped text: entities decoded, our zero-width joiners gone."""
    shown = text.replace("@\u200d", "@")
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<@U123|bob>", "&lt;@U123|bob&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("fish & chips", "fish &amp; chips"),
        ("&lt;", "&amp;lt;"),
        ("ping @here now", "ping @\u200dhere now"),
        ("@Channel and @EVERYONE", "@\u200dChannel and @\u200dEVERYONE"),
        ("mail me@example.com", "mail me@example.com"),
        ("", ""),
    ],
)
def test_escape_mrkdwn_examples(raw: str, escaped: str) -> None:
    """The three entities are escaped (& first) and broadcast words get a joiner after the @."""
    assert escape_mrkdwn(raw) == escaped


@PROPERTY
@given(UNTRUSTED)
def test_escaped_text_has_no_control_sequence(raw: str) -> None:
    """Whatever the input, the output has no < or >, no bare &, and no live broadcast word."""
    assert_inert(escape_mrkdwn(raw))


@PROPERTY
@given(UNTRUSTED)
def test_escaping_shows_exactly_what_was_written(raw: str) -> None:
    """Decoded by Slack, escaped text reads exactly as the original: nothing lost or altered."""
    assert _unescape(escape_mrkdwn(raw)) == raw


@PROPERTY
@given(UNTRUSTED, st.integers(min_value=40, max_value=400))
def test_fitting_keeps_a_prefix_and_stays_inert(raw: str, limit: int) -> None:
    """A fitted text is within its limit, inert, and shows a prefix of the original."""
    out = fit_mrkdwn(raw, limit)
    assert len(out) <= limit
    assert_inert(out)
    shown = out.split("… (truncated, ")[0] if out != escape_mrkdwn(raw) else out
    assert raw.startswith(_unescape(shown))


@st.composite
def untrusted_replies(draw: st.DrawFn) -> Reply:
    text = draw(UNTRUSTED)
    return Reply(
        title=draw(UNTRUSTED),
        text=text,
        tone=draw(st.sampled_from(list(Tone))),
        fields=tuple(
            Field(label=draw(UNTRUSTED), value=draw(UNTRUSTED))
            for _ in range(draw(st.integers(0, 12)))
        ),
        checks=tuple(
            Check(
                name=draw(UNTRUSTED),
                ok=draw(st.booleans()),
                seen=draw(UNTRUSTED),
                required=draw(UNTRUSTED),
            )
            for _ in range(draw(st.integers(0, 4)))
        ),
        follow_ups=tuple(draw(st.lists(UNTRUSTED, max_size=3))),
        request_id=draw(st.one_of(st.none(), UNTRUSTED)),
        state=draw(st.one_of(st.none(), UNTRUSTED)),
    )


@PROPERTY
@given(untrusted_replies())
def test_a_reply_of_untrusted_text_renders_inert_and_valid(reply: Reply) -> None:
    """Every mrkdwn string of the rendered blocks and of the fallback text is inert, and valid."""
    blocks = reply_blocks(reply)
    assert_valid(blocks)
    for text in mrkdwn_texts(blocks):
        assert_inert(text)
    fallback = reply_text(reply)
    assert len(fallback) <= TEXT_MAX
    assert_inert(fallback)


_NOT_A_USER_ID = UNTRUSTED.filter(lambda s: not s.strip().isalnum())


@PROPERTY
@given(
    untrusted_replies(),
    UNTRUSTED,
    st.sampled_from(
        [
            "pending",
            "approved",
            "executing",
            "succeeded",
            "failed",
            "denied",
            "expired",
            "cancelled",
        ]
    ),
    st.booleans(),
    st.one_of(st.none(), _NOT_A_USER_ID),
)
def test_an_approval_of_untrusted_text_renders_inert_and_valid(
    reply: Reply, request_id: str, state: str, can_act: bool, actor: str | None
) -> None:
    """Request ids, states and actors typed by people are inert too; buttons carry the id verbatim."""
    blocks = approval_blocks(
        reply, request_id=request_id, state=state, can_act=can_act, actor=actor
    )
    assert_valid(blocks)
    for text in mrkdwn_texts(blocks):
        assert_inert(text)
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert element["value"] == request_id


_LINKS = st.one_of(
    UNTRUSTED,
    UNTRUSTED.map(lambda s: "https://explorer.example/" + s),
    UNTRUSTED.map(lambda s: "http://" + s),
)
_OUR_LINK = re.compile(r"<https?://[^\s<>|`]+>")


@PROPERTY
@given(st.lists(_LINKS, min_size=1, max_size=5))
def test_links_are_either_one_plain_url_or_inert_text(links: list[str]) -> None:
    """A link becomes ``<url>`` only for a URL with no label, space or bracket; the rest is inert."""
    blocks = reply_blocks(Reply(title="t", links=tuple(links)))
    assert_valid(blocks)
    for text in mrkdwn_texts(blocks[1:]):
        for piece in text.split("  ·  "):
            if _OUR_LINK.fullmatch(piece):
                assert BARE_AMPERSAND.search(piece) is None
            else:
                assert_inert(piece)
