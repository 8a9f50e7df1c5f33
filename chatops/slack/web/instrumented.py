"""The WebClient every Slack call goes through: each call timed and its errors counted under its
real method name, and, in a rehearsal, every message marked as one."""

from __future__ import annotations

import time
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.slack_response import SlackResponse

from chatops.slack.metrics import Metrics

__all__ = ["REHEARSAL_BANNER", "InstrumentedWebClient"]

REHEARSAL_BANNER = (
    "REHEARSAL: chatops is running on its embedded devnet, not on the real chain; "
    "nothing here touches production."
)
_MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"}
)
_MAX_BLOCKS = 50  # Slack's limit per message: the banner never pushes a message past it


def _marked(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the banner before its text and as the first block."""
    out = dict(body)
    text = str(out.get("text") or "")
    out["text"] = f"[REHEARSAL] {text}".strip()
    blocks = out.get("blocks")
    if isinstance(blocks, list) and len(blocks) < _MAX_BLOCKS:
        banner = {"type": "context", "elements": [{"type": "mrkdwn", "text": REHEARSAL_BANNER}]}
        out["blocks"] = [banner, *blocks]
    return out


class InstrumentedWebClient(WebClient):
    """A ``WebClient`` that records every call in ``metrics`` by the method it really called
    (``chat.postEphemeral`` is not ``chat.postMessage``): its duration, retries included, in
    ``chatops_slack_api_seconds`` and its failure in ``chatops_slack_errors_total``. With
    ``rehearsal`` it marks every message it sends."""

    def __init__(
        self, *args: Any, metrics: Metrics | None = None, rehearsal: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.rehearsal = rehearsal

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        if self.rehearsal and api_method in _MESSAGE_METHODS and json is not None:
            json = _marked(json)
        started = time.monotonic()
        try:
            return super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=data,
                params=params,
                json=json,
                headers=headers,
                auth=auth,
            )
        except SlackApiError as exc:
            self._failed(api_method, str(exc.response.get("error") or exc.response.status_code))
            raise
        except (SlackClientError, URLError, OSError) as exc:
            self._failed(api_method, type(exc).__name__)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.slack_api_seconds.labels(method=api_method).observe(
                    time.monotonic() - started
                )

    def _failed(self, method: str, error: str) -> None:
        if self.metrics is not None:
            self.metrics.slack_errors.labels(method=method, error=error).inc()
