"""The ``WebClient`` builds, one that retries on its own (commands, clicks, lookups) and one that never
does (the outbox, which owns its retries and rate), and the client of a command's ``response_url``.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from chatops.slack.metrics import Metrics
from chatops.slack.web.instrumented import InstrumentedWebClient

__all__ = ["outbox_web_client", "response_url_client", "web_client"]


class _ServerErrors(ServerErrorRetryHandler):
    """5xx of every kind Slack answers in an incident (slack_sdk's own handler skips 502 and 504)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


class _OwnBudget(RetryHandler):
    """Gives ``inner`` its own retry count within one call.

    slack_sdk checks every handler's ``max_retry_count`` against the call's total retries, so after
    two 429s a 503 was never retried and the reply was lost; here each kind of failure has its own
    budget (the call still ends: at most the sum of the budgets).
    """

    def __init__(self, inner: RetryHandler) -> None:
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self._inner = inner
        self._key = f"chatops-retries-{type(inner).__name__}"

    def _own(self, state: RetryState) -> RetryState:
        return RetryState(current_attempt=int((state.custom_values or {}).get(self._key, 0)))

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return self._inner.can_retry(
            state=self._own(state), request=request, response=response, error=error
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        own = self._own(state)  # the inner handler waits (Retry-After, back-off) by its own count
        self._inner.prepare_for_next_attempt(
            state=own, request=request, response=response, error=error
        )
        state.custom_values = {**(state.custom_values or {}), self._key: own.current_attempt}
        state.next_attempt_requested = True
        state.increment_current_attempt()


def _retries() -> list[RetryHandler]:
    """429 Retry-After honoured 5 times, 5xx and connection errors retried twice each, each kind
    counted on its own within a call."""
    return [
        _OwnBudget(RateLimitErrorRetryHandler(max_retry_count=5)),
        _OwnBudget(_ServerErrors(max_retry_count=2)),
        _OwnBudget(ConnectionErrorRetryHandler(max_retry_count=2)),
    ]


def web_client(
    token: str,
    base_url: str,
    *,
    timeout_s: int = 10,
    metrics: Metrics | None = None,
    rehearsal: bool = False,
) -> WebClient:
    """A WebClient that honours 429 Retry-After (5 times) and retries 5xx and connection errors
    (twice each), each kind counted on its own within a call; its calls are recorded in
    ``metrics`` and, in a ``rehearsal``, its messages marked (``InstrumentedWebClient``)."""
    return InstrumentedWebClient(
        metrics=metrics,
        rehearsal=rehearsal,
        token=token,
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=_retries(),
    )


def response_url_client(url: str, *, timeout_s: int = 10) -> WebhookClient:
    """The client of one ``response_url`` (a command's or a click's), retrying as ``web_client``.

    A response_url needs no token and no membership of the channel: Slack gave it to answer the
    person, wherever they typed. It takes five posts in thirty minutes.
    """
    return WebhookClient(url, timeout=timeout_s, retry_handlers=_retries())


def outbox_web_client(
    token: str,
    base_url: str,
    *,
    timeout_s: int = 10,
    metrics: Metrics | None = None,
    rehearsal: bool = False,
) -> WebClient:
    """A WebClient with no retry handlers: the outbox retries, once it knows nothing was posted (a
    silent retry of a post could duplicate it); recorded and marked as ``web_client``'s."""
    return InstrumentedWebClient(
        metrics=metrics,
        rehearsal=rehearsal,
        token=token,
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=[],
    )
