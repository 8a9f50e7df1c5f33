"""The live progress message of a long command, posted and edited on its own thread.

Progress never breaks a command: every Slack failure here is logged and counted, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from chatops.slack.blocks.progress import progress_blocks, progress_text
from chatops.slack.metrics import Metrics
from commands.reply import Reply

__all__ = ["FINISH_TIMEOUT_S", "INTERVAL_S", "SHOW_AFTER_S", "ProgressMessage"]

logger = logging.getLogger(__name__)

# A command done within this long answers with its reply alone: no message to post and edit.
SHOW_AFTER_S = 1.0
# chat.update is Tier 3 (about 50 a minute per workspace): one edit a second per message at most.
INTERVAL_S = 1.0
# How long the command waits for its final state to show before its reply is posted anyway.
FINISH_TIMEOUT_S = 5.0
# Consecutive failed edits after which the message is left as it is.
MAX_FAILURES = 3
# The latest lines shown (a step and what was checked after it).
TAIL_LINES = 3


class ProgressMessage:
    """One command's progress message; ``report`` is the runner's ``progress`` callback.

    Posted in the channel (or in a thread, e.g. the thread of an approval request whose execution it
    follows) once the command has run for ``show_after_s``, edited in place (``chat.update``) as its
    steps advance, at most once every ``interval_s``, and always left showing how the command ended.
    ``report`` only hands a line to this message's own thread; a Slack failure there is logged with
    Slack's error word (never a token or the text) and counted.

    With ``thread_ts`` the message is a reply in that thread, whose other replies give the details
    of how it ended (the approval flow's result note), so it points there instead of at ``user``.
    """

    def __init__(
        self,
        client: WebClient,
        *,
        channel: str,
        user: str,
        command: str,
        thread_ts: str | None = None,
        metrics: Metrics | None = None,
        show_after_s: float = SHOW_AFTER_S,
        interval_s: float = INTERVAL_S,
        finish_timeout_s: float = FINISH_TIMEOUT_S,
    ) -> None:
        self._client = client
        self._channel = channel
        self._user = user
        self._command = command
        self._thread_ts = thread_ts
        self._metrics = metrics
        self._interval_s = interval_s
        self._finish_timeout_s = finish_timeout_s
        self._first_at_s = time.monotonic() + show_after_s
        self._cond = threading.Condition()
        self._lines: deque[str] = deque(maxlen=TAIL_LINES)
        self._outcome: Reply | None = None
        self._is_finished = False
        self._is_dirty = False  # something new to show
        self._thread: threading.Thread | None = None
        self._ts: str | None = None
        self._failures = 0
        self._has_given_up = False

    @property
    def ts(self) -> str | None:
        """The message's ts, once posted."""
        return self._ts

    def report(self, line: str) -> None:
        """Show ``line`` as the latest progress (soon, not at once). Never blocks on Slack, never raises."""
        with self._cond:
            if self._is_finished:
                return
            self._lines.append(line)
            self._is_dirty = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="chatops-progress", daemon=True
                )
                try:
                    self._thread.start()
                except RuntimeError:  # no thread to be had: the command goes on without progress
                    logger.warning("progress message: no thread available", exc_info=True)
                    self._has_given_up = True
            self._cond.notify()

    def finish(self, outcome: Reply) -> None:
        """Leave the message (if one was posted) showing how the command ended.

        Waits until that is shown, at most ``finish_timeout_s``, so the final reply comes after it;
        a message still being retried (429) then gets its final state later, on its own thread.
        """
        with self._cond:
            self._is_finished = True
            self._outcome = outcome
            self._is_dirty = True
            self._cond.notify()
            thread = self._thread
        if thread is None or self._has_given_up:
            return
        thread.join(self._finish_timeout_s)
        if thread.is_alive():
            logger.warning(
                "progress message: final state not shown within %.0f s; the reply goes on",
                self._finish_timeout_s,
                extra={"channel": self._channel},
            )

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # a bug here must never reach the command
            logger.exception("progress message failed", extra={"channel": self._channel})

    def _loop(self) -> None:
        next_at_s = self._first_at_s
        while not self._has_given_up:
            with self._cond:
                while True:
                    if self._is_finished and self._ts is None:
                        return  # done before it was worth showing: the reply says it all
                    wait_s = next_at_s - time.monotonic()
                    if self._is_dirty and wait_s <= 0:
                        break
                    self._cond.wait(wait_s if self._is_dirty else None)
                self._is_dirty = False
                is_final = self._is_finished
                lines = list(self._lines)
                outcome = self._outcome if is_final else None
            self._send(
                progress_text(self._command, lines, outcome),
                progress_blocks(
                    self._command,
                    self._user,
                    lines,
                    outcome,
                    details_in_thread=self._thread_ts is not None,
                ),
            )
            # Counted from the answer, so two calls reach Slack at least interval_s apart.
            next_at_s = time.monotonic() + self._interval_s
            if is_final:
                return

    def _send(self, text: str, blocks: list[dict[str, Any]]) -> None:
        method = "chat.postMessage" if self._ts is None else "chat.update"
        try:
            if self._ts is None:
                response = self._client.chat_postMessage(
                    channel=self._channel, text=text, blocks=blocks, thread_ts=self._thread_ts
                )
                self._ts = str(response["ts"])
            else:
                self._client.chat_update(
                    channel=self._channel, ts=self._ts, text=text, blocks=blocks
                )
        except SlackApiError as exc:  # ok:false, or still 429/5xx after the client's own retries
            self._failed(method, str(exc.response.get("error") or exc.response.status_code))
        except (SlackClientError, OSError) as exc:  # connection errors after the client's retries
            self._failed(method, type(exc).__name__)
        else:
            self._failures = 0

    def _failed(self, method: str, error: str) -> None:
        self._failures += 1
        # Without a first message there is nothing to edit; repeated edit failures mean it is gone.
        self._has_given_up = method == "chat.postMessage" or self._failures >= MAX_FAILURES
        logger.warning(
            "progress message: %s failed (%s); the command goes on%s",
            method,
            error,
            " without it" if self._has_given_up else "",
            extra={"channel": self._channel},
        )
