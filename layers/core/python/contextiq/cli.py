"""The `contextiq` command."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

# numpy's BLAS threads and torch's fight over 2 cores: query embedding went from ~10 ms to 100-400 ms.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="contextiq", description="ContextIQ memory service")
    sub = parser.add_subparsers(dest="command", required=True)
    local = sub.add_parser("local", help="run the whole service locally (moto, embedded index, local models)")
    local.add_argument("--host", default="127.0.0.1", help="API bind address (0.0.0.0: reachable from containers)")
    local.add_argument(
        "--moto-host",
        default="127.0.0.1",
        help="moto's bind address; 0.0.0.0 lets `sam local` containers reach the tables and queues (unauthenticated)",
    )
    local.add_argument("--port", type=int, default=8000)
    local.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY:TENANT",
        help="accept KEY for TENANT (repeatable); without it one key is generated and printed",
    )
    local.add_argument(
        "--data-dir", type=Path, default=Path(".contextiq"), help="where tables, queues and the index are kept"
    )
    local.add_argument("--reset", action="store_true", help="delete everything in --data-dir first: start empty")
    local.add_argument("--no-workers", action="store_true", help="do not poll the generation queues")
    local.add_argument("--quiet", action="store_true")
    add_client_commands(sub)
    args = parser.parse_args(argv)

    if args.command == "local":
        from contextiq.local.datadir import DataDirInUseError
        from contextiq.local.runtime import parse_api_keys, serve

        try:
            keys = parse_api_keys(args.api_key)
        except ValueError as err:
            parser.error(str(err))
        try:
            with contextlib.suppress(KeyboardInterrupt):
                serve(
                    args.host,
                    args.port,
                    keys,
                    args.data_dir,
                    workers=not args.no_workers,
                    quiet=args.quiet,
                    reset=args.reset,
                    moto_host=args.moto_host,
                )
        except DataDirInUseError as err:
            print(f"contextiq local: {err}", file=sys.stderr)
            return 1
        return 0
    return run_client_command(args)


def add_client_commands(sub: argparse._SubParsersAction) -> None:
    """The client commands (sessions, events, memories, generate, jobs, mcp) live in the SDK distribution."""
    try:
        from contextiq_sdk.cli import add_commands
        from contextiq_sdk.mcp_server import add_command as add_mcp_command
    except ImportError:  # the SDK is not installed (e.g. inside a Lambda layer): `local` still works
        return
    add_commands(sub)
    add_mcp_command(sub)


def run_client_command(args: argparse.Namespace) -> int:
    return int(args.run(args)) if hasattr(args, "run") else 2


if __name__ == "__main__":
    sys.exit(main())
