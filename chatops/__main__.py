"""Command line: argv -> Settings -> logging -> the chosen subcommand (``chatops --help``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from approvals.policy import PolicyError
from chatops import __version__, logs
from chatops.config import ConfigError, Settings, load_settings
from chatops.redis_client import NoRedisServerError

__all__ = ["main"]

MULTISIG_TIMEOUT_S = 86_400  # a day for two people to approve, unless --timeout-s says otherwise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatops",
        description="Run the lottery_multi operations runbook from Slack or a terminal.",
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
        default=Path(".devnet/admin.key"),
        help="Ed25519 key of the package account (created if missing, mode 0600)",
    )
    devnet.add_argument(
        "--chain-id", type=int, default=255, help="chain id to report (default 255)"
    )
    devnet.add_argument(
        "--vrf-delay-secs", type=int, default=0, help="devnet seconds before dVRF fulfils a request"
    )
    serve = sub.add_parser(
        "serve", help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)"
    )
    serve.add_argument("--http", action="store_true", help="force HTTP mode")

    console = sub.add_parser(
        "console", help="the runbook in a terminal (embedded devnet by default)"
    )
    console.add_argument(
        "--as", dest="user", default=None, help="act as USER (default alice in the demo)"
    )
    console.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="LINE",
        help='run "/cmd args" and exit (repeatable)',
    )
    console.add_argument(
        "--json", action="store_true", help="print each reply as one JSON object per line"
    )
    console.add_argument("--no-colour", action="store_true", help="plain text output")

    manifest = sub.add_parser(
        "manifest", help="print the Slack app manifest generated from the catalog"
    )
    manifest.add_argument("--mode", choices=("socket", "http"), default="socket")
    manifest.add_argument("--url", default=None, help="public base URL (HTTP mode)")
    manifest.add_argument(
        "--write", action="store_true", help="write manifest.yml instead of printing"
    )

    journal = sub.add_parser("journal", help="the ops journal (incident_log.md) the bot keeps")
    journal_sub = journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    export = journal_sub.add_parser(
        "export", help="print the journal, newest first (REDIS_URL; empty without it)"
    )
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument(
        "--limit", type=int, default=None, help="only the N latest entries (default all)"
    )
    export.add_argument(
        "--since",
        type=_when_ms,
        default=None,
        metavar="WHEN",
        help="only entries written from WHEN (unix seconds or ISO 8601, UTC)",
    )
    export.add_argument(
        "--until",
        type=_when_ms,
        default=None,
        metavar="WHEN",
        help="only entries written up to WHEN (unix seconds or ISO 8601, UTC)",
    )

    policy = sub.add_parser("policy", help="the policy file (CHATOPS_POLICY_FILE)")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_sub.add_parser(
        "check",
        help="print the effective policy of FILE, or each problem on a line of its own (exit 1)",
    )
    check.add_argument("file", type=Path, metavar="FILE")

    commands = sub.add_parser("commands", help="print the runbook catalog")
    commands.add_argument("--json", action="store_true", help="machine-readable catalog")

    _add_multisig_parsers(sub)
    return parser


def _add_multisig_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``keygen`` and ``multisig``: the approvers' and the operator's side of the on-chain rule."""
    keygen = sub.add_parser(
        "keygen", help="make an Ed25519 key file (mode 0600) and print its address"
    )
    keygen.add_argument("--out", type=Path, required=True, help="the key file to create")

    multisig = sub.add_parser(
        "multisig", help="the package account as an on-chain multisig account (approvers' CLI)"
    )
    actions = multisig.add_subparsers(dest="multisig_command", required=True, metavar="ACTION")

    convert = actions.add_parser(
        "convert", help="convert the package account in place; its key is then revoked"
    )
    convert.add_argument(
        "--owners", required=True, help="comma-separated owner addresses, the bot's among them"
    )
    convert.add_argument("--threshold", type=int, required=True, help="yes votes a proposal needs")
    convert.add_argument(
        "--timeout-s",
        type=int,
        default=MULTISIG_TIMEOUT_S,
        help=f"how long a proposal lives, in seconds (default {MULTISIG_TIMEOUT_S}, the chain's minimum 300)",
    )
    convert.add_argument(
        "--key-file", type=Path, required=True, help="the package account's current key"
    )
    convert.add_argument(
        "--bot", default=None, help="the bot's address (default: from CHATOPS_SIGNER_KEY_FILE)"
    )
    convert.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    show = actions.add_parser("show", help="print proposal N as the chain holds it")
    show.add_argument("number", type=int, metavar="N")
    actions.add_parser("queue", help="print the pending proposals and what blocks them")
    for name, verb in (("approve", "approve"), ("reject", "reject")):
        vote = actions.add_parser(name, help=f"{verb} proposal N with your own key")
        vote.add_argument("number", type=int, metavar="N")
        vote.add_argument("--key-file", type=Path, required=True, help="your key file")
        vote.add_argument(
            "--expect-hash",
            default=None,
            metavar="H",
            help="refuse unless the proposal's payload hash is H (the hash you were shown)",
        )
    clear = actions.add_parser(
        "clear", help="remove proposal N, the head, once rejected or timed out"
    )
    clear.add_argument("number", type=int, metavar="N")
    clear.add_argument("--key-file", type=Path, required=True, help="your key file")


def _run_console(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from chatops.console.repl import Repl
    from chatops.wiring import build_app

    with build_app(settings) as app:
        user = args.user or ("alice" if app.embedded else getpass.getuser())
        colour = False if args.no_colour or args.json else None
        repl = Repl(app.runner, user=user, as_json=args.json, colour=colour)
        if args.run:
            return repl.run_script(args.run)
        return repl.interact()


def _run_commands(args: argparse.Namespace) -> int:
    import json

    from commands.registry import build_registry
    from commands.runbook_names import names_for

    registry = build_registry()
    if args.json:
        entries = [{**s.catalog_entry(), "runbook_names": names_for(s)} for s in registry]
        print(json.dumps(entries, indent=2))
        return 0
    for s in registry:
        mark = "  [approval]" if s.privileged else ""
        print(f"{s.usage:<60} {s.summary}{mark}")
    return 0


def _run_policy_check(args: argparse.Namespace) -> int:
    from chatops.policy_file import PolicyFileError, load_policy_file
    from chatops.policy_report import describe_policy
    from commands.registry import build_registry

    registry = build_registry()
    try:
        checked = load_policy_file(args.file, registry)
    except PolicyFileError as exc:
        print("\n".join(exc.problems))
        return 1
    print(describe_policy(checked, registry, source=str(args.file)))
    return 0


def _run_manifest(args: argparse.Namespace) -> int:
    from chatops.slack.manifest import build_manifest, manifest_yaml
    from commands.registry import build_registry

    text = manifest_yaml(build_manifest(build_registry(), mode=args.mode, url=args.url))
    if args.write:
        Path("manifest.yml").write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _when_ms(text: str) -> int:
    """``--since``/``--until``: unix seconds, or an ISO 8601 date or time (UTC unless it says)."""
    from datetime import UTC, datetime

    if text.strip().isdigit():
        return int(text) * 1000
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither unix seconds nor an ISO 8601 date (2026-12-01, 2026-12-01T10:00)"
        ) from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


def _run_journal(args: argparse.Namespace, settings: Settings) -> int:
    import itertools

    from chatops.notify.journal import JournalEntry, export_json_chunks, export_md_lines

    render = export_md_lines if args.format == "md" else export_json_chunks
    if settings.redis_url is None:
        # No REDIS_URL: the embedded store starts empty, so its journal is the bare table.
        empty: list[JournalEntry] = []
        sys.stdout.writelines(render(empty))
        return 0
    import redis

    from chatops.notify.journal import Journal
    from chatops.redis_client import redis_client

    client = redis_client(settings.redis_url.get_secret_value())
    try:
        # Streamed: read a page at a time, written as it is read; memory stays flat.
        entries = Journal(client).newest_first(args.since, args.until)
        if args.limit:
            entries = itertools.islice(entries, args.limit)
        sys.stdout.writelines(render(entries))
    except redis.RedisError as exc:
        print(
            f"chatops: cannot read the journal from Redis: {type(exc).__name__}",
            file=sys.stderr,
        )
        return 1
    finally:
        client.close()
    return 0


def _run_devnet(args: argparse.Namespace) -> int:
    from chatops.devnet.server import run_devnet

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
    level = settings.log_level_number
    quiet = args.command in ("console", "keygen", "multisig")
    if quiet and "log_level" not in settings.model_fields_set:
        level = max(level, logging.WARNING)  # these print their answers; logs only when asked
    logs.configure(level, settings.secrets(), fmt=settings.log_format)
    try:
        if args.command == "devnet":
            return _run_devnet(args)
        if args.command == "serve":
            from chatops.serve import serve

            return serve(settings, force_http=args.http)
        if args.command == "console":
            return _run_console(args, settings)
        if args.command == "commands":
            return _run_commands(args)
        if args.command == "policy":
            return _run_policy_check(args)
        if args.command == "manifest":
            return _run_manifest(args)
        if args.command == "journal":
            return _run_journal(args, settings)
        if args.command in ("keygen", "multisig"):
            from chatops.multisig_cli import run

            return run(args, settings)
    except (ConfigError, PolicyError, NoRedisServerError) as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
