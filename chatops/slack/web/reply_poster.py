"""Posts what commands and clicks answer: replies (ephemeral or in-channel, split into as many messages
as they take), each request's message (posted once, then updated in place) and its thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.error import URLError

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.slack import keys
from chatops.slack.blocks.approval import approval_messages
from chatops.slack.blocks.reply import Message, reply_messages
from chatops.slack.metrics import Metrics
from chatops.slack.web.client import response_url_client
from commands.reply import Reply

__all__ = ["UNDELIVERABLE", "Asker", "ReplyPoster"]

logger = logging.getLogger(__name__)

# Slack's refusals that the asker's response_url gets around: it works without the bot in the
# channel, and a message too long is sent again in halves.
UNDELIVERABLE = frozenset(
    {"not_in_channel", "channel_not_found", "msg_too_long", "msg_blocks_too_long"}
)
_TOO_LONG = frozenset({"msg_too_long", "msg_blocks_too_long", "invalid_blocks"})


@dataclass(frozen=True)
class Asker:
    """Who asked, where, and how else to reach them: a command's or a click's ``response_url``
    (None for an event, or a form). ``command`` names what they asked in the log."""

    user: str
    channel: str
    command: str = ""
    response_url: str | None = None
    thread_ts: str | None = None


def _halves(message: Message) -> list[Message]:
    """A message Slack found too long, as two (each with half the blocks)."""
    if len(message.blocks) < 2:
        return [message]
    middle = len(message.blocks) // 2
    return [
        Message(message.text, message.blocks[:middle]),
        Message(message.text, message.blocks[middle:]),
    ]


class ReplyPoster:
    """Sends replies through one WebClient (its retry handlers honour 429 Retry-After and 5xx), and
    through the asker's response_url when Slack will not take them where they were asked.

    The message of each approval request is recorded in Redis, so any replica (or a restarted bot)
    updates that one message instead of posting a new one.
    """

    def __init__(
        self, client: WebClient, store: redis.Redis, metrics: Metrics | None = None
    ) -> None:
        self.client = client
        self.store = store
        self.metrics = metrics

    @staticmethod
    def _failed(exc: SlackApiError) -> str:
        """Slack's error word (the client counted the failure under the method it called)."""
        return str(exc.response.get("error") or exc.response.status_code or "unknown")

    def reply(self, reply: Reply, to: Asker) -> str | None:
        """Errors and help go to the asker only; results go to the channel, as many messages as
        the reply takes. Returns the first message's ts, if one was posted in the channel.

        When Slack refuses the post (the bot is not in the channel, or the message is too long),
        the rest of the reply goes through the asker's response_url, and the log says so."""
        # A user id is their direct messages with the bot (a click in App Home has no channel):
        # nobody else is there, and Slack takes no ephemeral message in it.
        to_dm = to.channel[:1] in ("U", "W")
        ephemeral = (reply.ephemeral or not reply.ok) and not to_dm
        messages = reply_messages(reply)
        first_ts: str | None = None
        for index, message in enumerate(messages):
            try:
                if ephemeral:
                    self.client.chat_postEphemeral(
                        channel=to.channel,
                        user=to.user,
                        text=message.text,
                        blocks=message.blocks,
                        thread_ts=to.thread_ts,
                    )
                    continue
                response = self.client.chat_postMessage(
                    channel=to.channel,
                    text=message.text,
                    blocks=message.blocks,
                    thread_ts=to.thread_ts,
                )
            except SlackApiError as exc:
                self._undelivered(messages[index:], to, self._failed(exc), ephemeral)
                return first_ts
            first_ts = first_ts or str(response.get("ts"))
        return first_ts

    def reply_error(self, text: str, to: Asker) -> None:
        """A refusal or an error, to the asker alone."""
        self.reply(Reply.error(text), to)

    def _undelivered(
        self, messages: Sequence[Message], to: Asker, error: str, ephemeral: bool
    ) -> bool:
        """Send what Slack refused through the asker's response_url, if Slack's refusal is one it
        gets around; log who was (or was not) answered, and how. True when it was sent."""
        where = (to.user, to.command or "a command", to.channel or "no channel", error)
        if error not in UNDELIVERABLE or not to.response_url:
            logger.warning("reply to %s (%s in %s) not delivered: %s", *where)
            return False
        logger.warning(
            "reply to %s (%s in %s) not postable (%s): sent through its response_url; "
            "invite the bot to the channel",
            *where,
        )
        parts = [half for m in messages for half in _halves(m)] if error in _TOO_LONG else messages
        webhook = response_url_client(to.response_url)
        for message in parts:
            try:
                answer = webhook.send(
                    text=message.text,
                    blocks=message.blocks,
                    response_type="ephemeral" if ephemeral else "in_channel",
                )
            except (URLError, OSError) as exc:
                logger.warning("response_url of %s failed: %s", to.user, type(exc).__name__)
                return False
            if answer.status_code != 200:
                logger.warning("response_url of %s refused: %s", to.user, answer.body[:100])
                return False
        return True

    def approval(
        self, reply: Reply, *, channel: str, actor: str | None = None, asker: Asker | None = None
    ) -> None:
        """Post (once) or update the message of an approval request, with buttons while pending;
        ``actor`` (who approved or denied) is named in the outcome line. A request too long for
        one message continues in its message's thread. When Slack will not take the post in the
        channel, it goes through ``asker``'s response_url (and is never updated after)."""
        request_id = reply.request_id
        if request_id is None:
            raise ValueError("not an approval reply")
        key = keys.slack_message_key(request_id)
        card, *rest = approval_messages(
            reply,
            request_id=request_id,
            state=reply.state or "",
            can_act=reply.state == "pending",
            actor=actor,
        )
        known = cast(dict[bytes, bytes], self.store.hgetall(key))
        if b"ts" in known:
            try:
                self.client.chat_update(
                    channel=known[b"channel"].decode(),
                    ts=known[b"ts"].decode(),
                    text=card.text,
                    blocks=card.blocks,
                )
            except SlackApiError as exc:
                logger.warning("updating request %s failed: %s", request_id, self._failed(exc))
            return
        # HSETNX claims the post: two replicas never both post the same request.
        if not self.store.hsetnx(key, "channel", channel):
            return
        try:
            response: Any = self.client.chat_postMessage(
                channel=channel, text=card.text, blocks=card.blocks
            )
        except SlackApiError as exc:
            error = self._failed(exc)
            to = asker or Asker(user="", channel=channel, command=f"request {request_id}")
            if not self._undelivered([card, *rest], to, error, ephemeral=False):
                self.store.delete(key)  # nothing was posted: a later attempt may post it
            return
        ts = str(response.get("ts"))
        self.store.hset(key, "ts", ts)
        self._in_thread(rest, channel, ts)

    def _in_thread(self, messages: Sequence[Message], channel: str, ts: str) -> None:
        for message in messages:
            try:
                self.client.chat_postMessage(
                    channel=channel, thread_ts=ts, text=message.text, blocks=message.blocks
                )
            except SlackApiError as exc:
                logger.warning("thread reply failed: %s", self._failed(exc))
                return

    def channel_of(self, request_id: str) -> str | None:
        """The channel of the request's message, if one was posted (or is being posted)."""
        channel = cast(bytes | None, self.store.hget(keys.slack_message_key(request_id), "channel"))
        return channel.decode() if channel else None

    def message_of(self, request_id: str) -> tuple[str, str] | None:
        """The channel and ts of the request's message (the root of its thread), once posted."""
        known = cast(dict[bytes, bytes], self.store.hgetall(keys.slack_message_key(request_id)))
        if b"channel" not in known or b"ts" not in known:
            return None
        return known[b"channel"].decode(), known[b"ts"].decode()

    def thread_note(self, request_id: str, reply: Reply) -> None:
        """A result in the thread of the request's message (the timeline of that request)."""
        message = self.message_of(request_id)
        if message is not None:
            channel, ts = message
            self._in_thread(reply_messages(reply), channel, ts)
