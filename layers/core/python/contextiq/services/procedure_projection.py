"""What the vector index holds for a procedure: the document projection, its texts and filters.

Shared by the service's write-through (services/procedures.py) and the procedures-table stream indexer
(services/procedure_indexing.py). Procedures are their own document kind (``kind="procedure"``), so
memory search never returns a procedure and procedure search never returns a memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from contextiq.ids import epoch
from contextiq.models.memories import scope_key
from contextiq.models.procedures import Procedure
from contextiq.stores.dynamo.procedures import StoredProcedure
from contextiq.stores.vector.base import Condition, IndexedMemory, VectorIndex

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def procedure_filters(kinds: Sequence[str], statuses: Sequence[str]) -> tuple[Condition, ...]:
    """Index attribute filters: a procedure is indexed with ``procedure_kind`` and ``status`` attributes."""
    return (Condition("procedure_kind", tuple(kinds)), Condition("status", tuple(statuses)))


def index_text(p: Procedure) -> str:
    """What search matches: name, description (when to use it) and the steps."""
    steps = "\n".join(s.instruction + (f" ({s.tool})" if s.tool else "") for s in p.steps)
    # "{origin}" -> "origin": the braces only split the word apart for the embedding model and BM25
    return _PLACEHOLDER.sub(r"\1", f"{p.name}\n{p.description}\n{steps}")


def embedding_text(p: Procedure) -> str:
    """What the vector encodes: the name and the description (when to use it), which is what a task
    request paraphrases; the steps stay in the keyword text (``index_text``)."""
    return _PLACEHOLDER.sub(r"\1", f"{p.name}\n{p.description}")


def indexed_procedure(stored: StoredProcedure) -> IndexedMemory:
    p = stored.procedure
    assert stored.vector is not None
    return IndexedMemory(
        tenant=stored.tenant,
        memory_id=p.id,
        scope_key=scope_key(p.scope),
        fact=index_text(p),
        topics=(),
        attrs={"procedure_kind": (p.kind.value,), "status": (p.status.value,)},
        kind="procedure",
        vector=stored.vector,
        version=p.version,
        expire_at=epoch(p.expire_time) if p.expire_time else None,
    )


def apply_procedure_to_index(index: VectorIndex, stored: StoredProcedure) -> None:
    if stored.deleted or stored.vector is None:
        index.delete(stored.tenant, stored.procedure.id, stored.procedure.version)
    else:
        index.upsert([indexed_procedure(stored)])
