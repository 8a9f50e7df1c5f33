"""Command line: argv -> Settings -> logging -> the chosen subcommand (``chatops --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from chatops import __version__, logs
from chatops.config import ConfigError, Settings, load_settings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatops", description="Run the lottery_multi operations runbook from Slack or a terminal."
    )
    parser.add_argument("--version", action="version", version=f"chatops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    devnet = sub.add_parser("devnet", help="serve the local lottery_multi devnet (RPC-compatible)")
    devnet.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    devnet.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    devnet.add_argument(
        "--strict-views",
        action="store_true",
        help="refuse non-#[view] functions on /rpc/v3/view, as a real node does",
    )
    devnet.add_argument("--state", type=Path, default=None, help="save and reload state in FILE")
    devnet.add_argument(
        "--admin-key-file",
        type=Path,
        default=Path(".chatops-devnet-admin.key"),
        help="Ed25519 key of the package account (created if missing, mode 0600)",
    )
    devnet.add_argument("--chain-id", type=int, default=255, help="chain id to report (default 255)")
    devnet.add_argument(
        "--vrf-delay-secs", type=int, default=0, help="devnet seconds before dVRF fulfils a request"
    )
    return parser


def _run_devnet(args: argparse.Namespace) -> int:
    from chatops.chain.devnet.server import run_devnet

    run_devnet(
        host=args.host,
        port=args.port,
        strict_views=args.strict_views,
        state_file=args.state,
        admin_key_file=args.admin_key_file,
        chain_id=args.chain_id,
        vrf_delay_s=args.vrf_delay_secs,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chatops`` console script and ``python -m chatops``."""
    args = _parser().parse_args(argv)
    try:
        settings: Settings = load_settings()
    except ConfigError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level_number, settings.secrets())
    if args.command == "devnet":
        return _run_devnet(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
