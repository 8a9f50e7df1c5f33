"""The outbox's ``Poster`` for Slack: a notice (or a digest of notices) becomes one message.

It never retries: the outbox owns retries and rate, so Slack's answers become the notify errors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from chatops.notify.digest import Digest
from chatops.notify.notice import Notice
from chatops.notify.ports import PosterError, PosterRateLimitedError, PosterUnavailableError
from chatops.slack.blocks.digest import digest_blocks, digest_text
from chatops.slack.blocks.limits import MAX_BLOCKS
from chatops.slack.blocks.mrkdwn import context
from chatops.slack.blocks.notice import notice_blocks, notice_text

__all__ = [
    "DIGEST_METADATA_EVENT",
    "DOUBT_NOTE",
    "LOOKUP_ATTEMPTS",
    "METADATA_EVENT",
    "OutboxPoster",
]

logger = logging.getLogger(__name__)

METADATA_EVENT = "chatops_notice"  # message metadata event_type; event_payload {"notice_id": ...}
# A digest's event_payload: {"digest_id": ..., "count": n, "notices": [{"notice_id": ...}, ...]}
# (queue order). A list of objects, not of strings: the payload types Slack documents.
DIGEST_METADATA_EVENT = "chatops_digest"
_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout"}
)
_LOOKBACK = 200  # messages searched by find_posted (the in-doubt window is one post)
# Failed looks for an earlier post of one notice (or digest) before it is posted anyway: a lookup
# that cannot work (a missing scope, a channel the bot left) must not stall the channel for good.
LOOKUP_ATTEMPTS = 3
DOUBT_NOTE = (
    ":grey_question: This may repeat an earlier message: Slack could not say whether an "
    "earlier attempt to post it went through."
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


class OutboxPoster:
    """``Poster`` and ``PostFinder`` over one ``WebClient`` built by ``outbox_web_client``: a silent
    retry of a post could duplicate it, so the client must not retry on its own.

    Slack's answers become the notify errors: 429 -> ``PosterRateLimitedError`` (Retry-After), 5xx
    and transport failures -> ``PosterUnavailableError``, any other error -> ``PosterError``. Each
    message carries the notice id in its metadata (a digest: its digest id and its notice ids), so
    ``find_posted``/``find_digest`` can tell, after a crash, whether a post went through.
    ``on_incident`` is called once an incident's message is posted or edited (App Home lists them).
    """

    def __init__(
        self,
        client: WebClient,
        *,
        lookup_attempts: int = LOOKUP_ATTEMPTS,
        on_incident: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self._on_incident = on_incident
        self._lookup_attempts = lookup_attempts
        self._lock = threading.Lock()
        self._lookup_failures: dict[str, int] = {}  # notice or digest id -> failed lookups
        self._in_doubt: set[str] = set()  # ids posted without knowing whether they already were

    def post(self, channel: str, notice: Notice, thread_ts: str | None) -> str:
        payload = {"notice_id": notice.id}
        ts = self._post(
            channel,
            thread_ts,
            notice_text(notice),
            notice_blocks(notice),
            {"event_type": METADATA_EVENT, "event_payload": payload},
            notice.id,
        )
        self._changed(notice)
        return ts

    def _changed(self, notice: Notice) -> None:
        """An incident opened, changed or resolved in the chat: App Home tabs list them."""
        if notice.kind == "incident" and self._on_incident is not None:
            self._on_incident()

    def update(self, channel: str, ts: str, notice: Notice) -> None:
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=notice_text(notice), blocks=notice_blocks(notice)
            )
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            raise _translate(exc, "chat.update") from exc
        self._changed(notice)

    def post_digest(self, channel: str, digest: Digest, thread_ts: str | None) -> str:
        payload = {
            "digest_id": digest.id,
            "count": len(digest.notices),
            "notices": [{"notice_id": notice.id} for notice in digest.notices],
        }
        return self._post(
            channel,
            thread_ts,
            digest_text(digest),
            digest_blocks(digest),
            {"event_type": DIGEST_METADATA_EVENT, "event_payload": payload},
            digest.id,
        )

    def _post(
        self,
        channel: str,
        thread_ts: str | None,
        text: str,
        blocks: list[dict[str, Any]],
        metadata: dict[str, Any],
        key: str,
    ) -> str:
        """One message carrying ``metadata`` (what find_posted and find_digest look for), unfurling
        nothing; a post whose earlier attempt could not be looked for says it may repeat one."""
        with self._lock:
            in_doubt = key in self._in_doubt
        if in_doubt and len(blocks) < MAX_BLOCKS:
            blocks = [*blocks, context(DOUBT_NOTE).to_dict()]
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            raise _translate(exc, "chat.postMessage") from exc
        with self._lock:
            self._in_doubt.discard(key)
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
        """Our message carrying ``value`` among the latest ones, or None.

        After ``lookup_attempts`` failed lookups for ``value`` (a 429 is a wait, not a failure)
        it is None too: the post goes ahead, saying it may repeat an earlier one, rather than
        stall the channel behind a lookup that may never work.

        Raises:
            PosterRateLimitedError, PosterUnavailableError, PosterError: the lookup failed.
        """
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
            error = _translate(exc, "conversations lookup")
            if isinstance(error, PosterRateLimitedError) or not self._given_up(value, error):
                raise error from exc
            return None
        with self._lock:
            self._lookup_failures.pop(value, None)
        messages: list[dict[str, Any]] = list(response.get("messages") or [])
        for message in messages:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and payload.get(key) == value:
                return str(message["ts"])
        return None

    def _given_up(self, value: str, error: Exception) -> bool:
        """Count a failed lookup for ``value``; True (and ``value`` marked in doubt) at the last."""
        with self._lock:
            failures = self._lookup_failures.get(value, 0) + 1
            if failures < self._lookup_attempts:
                self._lookup_failures[value] = failures
                return False
            self._lookup_failures.pop(value, None)
            self._in_doubt.add(value)
        logger.warning(
            "outbox: could not look for an earlier post of %s %d times (%s); posting it, "
            "marked as a possible repeat",
            value,
            failures,
            error,
        )
        return True
