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
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=8000)
    local.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY:TENANT",
        help="accept KEY for TENANT (repeatable); without it one key is generated and printed",
    )
    local.add_argument("--data-dir", type=Path, default=Path(".contextiq"), help="where the vector index lives")
    local.add_argument("--no-workers", action="store_true", help="do not poll the generation queues")
    local.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "local":
        from contextiq.local.runtime import parse_api_keys, serve

        try:
            keys = parse_api_keys(args.api_key)
        except ValueError as err:
            parser.error(str(err))
        with contextlib.suppress(KeyboardInterrupt):
            serve(args.host, args.port, keys, args.data_dir, workers=not args.no_workers, quiet=args.quiet)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
