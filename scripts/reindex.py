"""Drop and rebuild the vector index from the memories table (the system of record).

    python scripts/reindex.py            # against the running local stack (.contextiq/local.json)
    CONTEXTIQ_... env vars set           # against a cloud stage (run with the stage's settings/credentials)

Stored vectors are reused when they were made by the configured embedding model; memories embedded
by another model are re-embedded (``--reembed`` forces it for all).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run(container, drop: bool = True, reembed: bool = False) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from contextiq.services.indexing import rebuild
    from contextiq.stores.vector.factory import index_info_for

    embedder = container.embedder
    index = container.vector_index
    if drop:
        index.drop()
        index.ensure(index_info_for(embedder))
    counts = {"reembedded": 0}

    def memories() -> Iterator[Any]:
        for stored in container.memory_store.scan_all():
            if not stored.deleted and (reembed or stored.vector is None or stored.embedding_model != embedder.model_id):
                counts["reembedded"] += 1
                stored = replace(
                    stored, vector=embedder.embed([stored.memory.fact])[0], embedding_model=embedder.model_id
                )
            yield stored

    counts.update(rebuild(index, memories()))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-drop", action="store_true", help="upsert into the existing index instead")
    parser.add_argument("--reembed", action="store_true", help="re-embed every memory")
    parser.add_argument("--state", type=Path, default=ROOT / ".contextiq" / "local.json")
    args = parser.parse_args(argv)
    if args.state.exists():
        os.environ.update(json.loads(args.state.read_text())["env"])
    from contextiq.config import Settings
    from contextiq.container import Container

    counts = run(Container(Settings()), drop=not args.no_drop, reembed=args.reembed)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
