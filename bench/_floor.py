"""The floor of the ack benchmark: a minimal Bolt app that only acks, served exactly as ``chatops serve
--http`` serves ours (``make_wsgi`` + ``HealthServer``: Bolt's WSGI adapter on waitress, same threads).

    python -m bench._floor --port N --slack-url URL --signing-secret S
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from types import FrameType

from slack_bolt import Ack, App
from slack_sdk import WebClient

from chatops.slack.metrics import Metrics
from chatops.slack.server import HealthServer, make_wsgi


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--signing-secret", required=True)
    args = parser.parse_args()

    app = App(
        client=WebClient(token="xoxb-floor", base_url=args.slack_url),
        signing_secret=args.signing_secret,
        token_verification_enabled=False,
    )

    @app.command("/lottery")
    def on_command(ack: Ack) -> None:
        ack()

    wsgi = make_wsgi(app, lambda: {"ok": True}, Metrics(), signing_secret=args.signing_secret)
    server = HealthServer(wsgi, "127.0.0.1", args.port)
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
