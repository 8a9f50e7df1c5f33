"""A worker process for the restart tests: ``python -m tests.chatops.slack.outbox_worker_main``.

argv: REDIS_URL SLACK_API_URL INTERVAL_MS LEASE_MS. Sends outbox items through the Slack poster
until killed (the tests send SIGKILL at random points).
"""

from __future__ import annotations

import sys
import threading

import redis

from chatops.notify.outbox_worker import OutboxWorker
from chatops.slack.web.client import outbox_web_client
from chatops.slack.web.outbox_poster import OutboxPoster
from tests.fakes.slack_web_api import DEFAULT_BOT_TOKEN


def main(argv: list[str]) -> int:
    redis_url, api_url, interval_ms, lease_ms = argv
    client = redis.Redis.from_url(redis_url)
    poster = OutboxPoster(outbox_web_client(DEFAULT_BOT_TOKEN, api_url, timeout_s=5))
    worker = OutboxWorker(client, poster, interval_ms=int(interval_ms), lease_ms=int(lease_ms))
    worker.run(threading.Event(), poll_s=0.005)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
