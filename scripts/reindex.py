"""Rebuild the vector index from the memories table (the system of record).

On OpenSearch the rebuild is blue/green: a new concrete index is filled while the alias keeps serving
the old one, the alias swaps atomically, the old index is deleted, and memories written meanwhile are
applied again (search answers throughout). The local embedded index is dropped and refilled.

    python scripts/reindex.py            # the running local stack (`make run`): asks the server to do it
    CONTEXTIQ_... env vars set           # a cloud stage: run with the stage's settings and credentials

Stored vectors are reused when they were made by the configured embedding model; memories embedded
by another model are re-embedded (``--reembed`` forces it for all).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run(container: Any, drop: bool = True, reembed: bool = False) -> dict[str, int]:
    from contextiq.services.indexing import reindex

    return reindex(
        container.vector_index, container.embedder, container.index_tables(), drop=drop, reembed=reembed,
        opted_out=container.event_opt_out,
    )  # fmt: skip


def via_local_server(state: dict[str, Any], drop: bool, reembed: bool) -> dict[str, int]:
    """The local server owns the embedded index (one process per directory) and moto's data: ask it."""
    query = f"?drop={str(drop).lower()}&reembed={str(reembed).lower()}"
    request = urllib.request.Request(  # noqa: S310 - a loopback URL the local runtime wrote
        state["url"] + "/_local/reindex" + query, method="POST", headers={"x-contextiq-admin": state["admin_token"]}
    )
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        result: dict[str, int] = json.loads(response.read())
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-drop", action="store_true", help="upsert into the existing index instead")
    parser.add_argument("--reembed", action="store_true", help="re-embed every memory")
    parser.add_argument("--state", type=Path, default=ROOT / ".contextiq" / "local.json")
    args = parser.parse_args(argv)
    if args.state.exists():
        counts = via_local_server(json.loads(args.state.read_text()), not args.no_drop, args.reembed)
    else:
        from contextiq.config import Settings
        from contextiq.container import Container

        counts = run(Container(Settings()), drop=not args.no_drop, reembed=args.reembed)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
