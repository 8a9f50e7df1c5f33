"""Posts what commands and clicks answer: replies (ephemeral or in-channel), each request's message
(posted once, then updated in place) and the notes in that message's thread.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops.slack import keys
from chatops.slack.blocks.approval import approval_blocks
from chatops.slack.blocks.reply import reply_blocks, reply_text
from chatops.slack.metrics import Metrics
from commands.reply import Reply

__all__ = ["ReplyPoster"]

logger = logging.getLogger(__name__)


class ReplyPoster:
    """Sends replies through one WebClient (its retry handlers honour 429 Retry-After and 5xx).

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
        return str(exc.response.get("error") or "unknown")

    def reply(
        self, reply: Reply, *, channel: str, user: str, thread_ts: str | None = None
    ) -> str | None:
        """Errors and help go to the asker only; results go to the channel. Returns the ts if any."""
        blocks = reply_blocks(reply)
        text = reply_text(reply)
        try:
            if reply.ephemeral or not reply.ok:
                self.client.chat_postEphemeral(
                    channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts
                )
                return None
            response = self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
            )
            return str(response.get("ts"))
        except SlackApiError as exc:
            logger.warning(
                "posting a reply failed: %s",
                self._failed(exc),
                extra={"channel": channel},
            )
            return None

    def approval(self, reply: Reply, *, channel: str, actor: str | None = None) -> None:
        """Post (once) or update the message of an approval request, with buttons while pending;
        ``actor`` (who approved or denied) is named in the outcome line."""
        request_id = reply.request_id
        if request_id is None:
            raise ValueError("not an approval reply")
        key = keys.slack_message_key(request_id)
        blocks = approval_blocks(
            reply,
            request_id=request_id,
            state=reply.state or "",
            can_act=reply.state == "pending",
            actor=actor,
        )
        text = reply_text(reply)
        known = cast(dict[bytes, bytes], self.store.hgetall(key))
        if b"ts" in known:
            try:
                self.client.chat_update(
                    channel=known[b"channel"].decode(),
                    ts=known[b"ts"].decode(),
                    text=text,
                    blocks=blocks,
                )
            except SlackApiError as exc:
                logger.warning("updating request %s failed: %s", request_id, self._failed(exc))
            return
        # HSETNX claims the post: two replicas never both post the same request.
        if not self.store.hsetnx(key, "channel", channel):
            return
        try:
            response: Any = self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            self.store.delete(key)
            logger.warning("posting request %s failed: %s", request_id, self._failed(exc))
            return
        self.store.hset(key, "ts", str(response.get("ts")))

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
        if message is None:
            return
        channel, ts = message
        try:
            self.client.chat_postMessage(
                channel=channel,
                thread_ts=ts,
                text=reply_text(reply),
                blocks=reply_blocks(reply),
            )
        except SlackApiError as exc:
            logger.warning("thread note failed: %s", self._failed(exc))
