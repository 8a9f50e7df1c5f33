"""Slack's identifiers: unwrap escaped mentions (``should_escape: true``) and name our action ids.

Slack-only knowledge; the rest of the app sees plain ids such as ``U123``, ``C123`` and ``S123``.
"""

from __future__ import annotations

import re

__all__ = [
    "APPROVE_ACTION_ID",
    "APPROVE_ON_CHAIN_ACTION_ID",
    "DENY_ACTION_ID",
    "DENY_MODAL_CALLBACK_ID",
    "DENY_REASON_ACTION_ID",
    "DENY_REASON_BLOCK_ID",
    "unwrap_channel",
    "unwrap_text",
    "unwrap_user",
    "unwrap_usergroup",
]

# Interactive components of the approval message and the deny modal; the listeners match on these.
APPROVE_ACTION_ID = "approval_approve"
# Multisig mode's "Approve on chain": it answers with the command that approves with one's own key.
APPROVE_ON_CHAIN_ACTION_ID = "approval_approve_on_chain"
DENY_ACTION_ID = "approval_deny"
DENY_MODAL_CALLBACK_ID = "approval_deny_modal"
DENY_REASON_BLOCK_ID = "approval_deny_reason"
DENY_REASON_ACTION_ID = "approval_deny_reason_input"

# <@U123|name>, <@W123> (Enterprise Grid users start with W); the label after | is optional.
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# <#C123|general>, <#C123|> and <#C123>; private channels are C… too, G… on old workspaces.
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
# <!subteam^S123|@group> and <!subteam^S123>.
_USERGROUP = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>")


def _unwrap(pattern: re.Pattern[str], text: str) -> str:
    stripped = text.strip()
    match = pattern.fullmatch(stripped)
    return match.group(1) if match else stripped


def unwrap_user(text: str) -> str:
    """``<@U123|name>`` or ``<@U123>`` -> ``U123``; anything else comes back stripped, unchanged."""
    return _unwrap(_USER, text)


def unwrap_channel(text: str) -> str:
    """``<#C123|general>`` or ``<#C123>`` -> ``C123``; anything else comes back stripped, unchanged."""
    return _unwrap(_CHANNEL, text)


def unwrap_usergroup(text: str) -> str:
    """``<!subteam^S123|@group>`` -> ``S123``; anything else comes back stripped, unchanged."""
    return _unwrap(_USERGROUP, text)


def unwrap_text(text: str) -> str:
    """A slash command's escaped text with every user, channel and user-group reference replaced by
    its bare id, then ``&lt; &gt; &amp;`` decoded, so the command parser sees what the person typed."""
    plain = _USER.sub(r"\1", text)
    plain = _CHANNEL.sub(r"\1", plain)
    plain = _USERGROUP.sub(r"\1", plain)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
