"""``Poster`` for Slack: a notice becomes one Block Kit message (``chat.postMessage``/``chat.update``),
and a digest of notices one compact message (``chatops/slack/digest_blocks.py``).

Slack's answers become the notify errors: 429 -> ``PosterRateLimitedError`` (Retry-After), 5xx and
transport failures -> ``PosterUnavailableError``, any other error -> ``PosterError``. The client must not
retry on its own (``notice_web_client``): the outbox owns retries and rate, and a silent retry of a post
could duplicate it. Each message carries the notice id in its metadata (a digest: its digest id and
its notice ids), so ``find_posted``/``find_digest`` can tell, after a crash, whether a post went
through.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from chatops.notify.digest import Digest
from chatops.notify.notice import Notice
from chatops.notify.ports import PosterError, PosterRateLimitedError, PosterUnavailableError
from chatops.slack.blocks import notice_blocks, notice_text
from chatops.slack.digest_blocks import digest_blocks, digest_text
from chatops.slack.metrics import Metrics
from chatops.slack.web import InstrumentedWebClient

__all__ = ["DIGEST_METADATA_EVENT", "METADATA_EVENT", "SlackNoticePoster", "notice_web_client"]

logger = logging.getLogger(__name__)

METADATA_EVENT = "chatops_notice"  # message metadata event_type; event_payload {"notice_id": ...}
# A digest's event_payload: {"digest_id": ..., "count": n, "notices": [{"notice_id": ...}, ...]}
# (queue order). A list of objects, not of strings: the payload types Slack documents.
DIGEST_METADATA_EVENT = "chatops_digest"
_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout"}
)
_LOOKBACK = 200  # messages searched by find_posted (the in-doubt window is one post)


def notice_web_client(
    token: str,
    base_url: str,
    *,
    timeout_s: int = 10,
    metrics: Metrics | None = None,
    rehearsal: bool = False,
) -> WebClient:
    """A WebClient with no retry handlers (the outbox retries, once it knows nothing was posted),
    recorded in ``metrics`` and marked in a ``rehearsal`` (``InstrumentedWebClient``)."""
    return InstrumentedWebClient(
        metrics=metrics,
        rehearsal=rehearsal,
        token=token,
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=[],
    )


def _translate(exc: SlackApiError | SlackClientError | OSError, what: str) -> Exception:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error") or "")
        if status == 429:
            raw = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
            try:
                retry_after_s = float(raw) if raw else 1.0
            except ValueError:
                retry_after_s = 1.0
            return PosterRateLimitedError(retry_after_s)
        if status >= 500 or error in _TRANSIENT_ERRORS:
            return PosterUnavailableError(f"Slack {what} failed: {error or status}.")
        return PosterError(f"Slack refused {what}: {error}.", error=error)
    return PosterUnavailableError(f"Slack {what} failed: {type(exc).__name__}.")


class SlackNoticePoster:
    """``Poster`` and ``PostFinder`` over one ``WebClient`` (build it with ``notice_web_client``)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, notice: Notice, thread_ts: str | None) -> str:
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=notice_text(notice),
                blocks=notice_blocks(notice),
                thread_ts=thread_ts,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"notice_id": notice.id}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            raise _translate(exc, "chat.postMessage") from exc
        return str(response["ts"])

    def update(self, channel: str, ts: str, notice: Notice) -> None:
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=notice_text(notice), blocks=notice_blocks(notice)
            )
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            raise _translate(exc, "chat.update") from exc

    def post_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str:
        payload = {
            "digest_id": digest.id,
            "count": len(digest.notices),
            "notices": [{"notice_id": notice.id} for notice in digest.notices],
        }
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=digest_text(digest),
                blocks=digest_blocks(digest),
                thread_ts=thread_ts,
                metadata={"event_type": DIGEST_METADATA_EVENT, "event_payload": payload},
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            raise _translate(exc, "chat.postMessage") from exc
        return str(response["ts"])

    def find_posted(self, channel: str, notice: Notice, thread_ts: str | None) -> str | None:
        """The ts of our message for ``notice`` among the latest ones of the channel (or thread)."""
        return self._find(channel, thread_ts, METADATA_EVENT, "notice_id", notice.id)

    def find_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str | None:
        """The ts of our message for ``digest`` among the latest ones of the channel (or thread)."""
        return self._find(channel, thread_ts, DIGEST_METADATA_EVENT, "digest_id", digest.id)

    def _find(
        self, channel: str, thread_ts: str | None, event_type: str, key: str, value: str
    ) -> str | None:
        try:
            if thread_ts:
                response = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=_LOOKBACK, include_all_metadata=True
                )
            else:
                response = self.client.conversations_history(
                    channel=channel, limit=_LOOKBACK, include_all_metadata=True
                )
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            raise _translate(exc, "conversations lookup") from exc
        messages: list[dict[str, Any]] = list(response.get("messages") or [])
        for message in messages:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and payload.get(key) == value:
                return str(message["ts"])
        return None
