"""Who is who in a scope, for consolidation: the user's name and the people its memories name.

A candidate is completed with what the scope already knows before it is decided (docs/extraction.md,
"Facts kept apart"): "The user moved to Seattle" becomes "Carol moved to Seattle" when the scope holds "The
user's name is Carol", and "Olga got hired as a carpenter" becomes "Carol's godmother Olga got hired as a
carpenter" when a memory says who Olga is. Facts of the part being consolidated count too, so a name given
earlier in the same job (another extraction chunk) names the later facts.
"""

from __future__ import annotations

from typing import Protocol

from contextiq.ai.extractors.speaker import introduce, name_in, person_named, with_name
from contextiq.models.memories import Memory, SearchRequest, SearchResponse

#: How many memories one look-up reads (the user's name; who a person is).
LOOKUP = 5


class MemoryLookup(Protocol):
    def similar(self, tenant: str, scope: dict[str, str], text: str, top_k: int = 5) -> list[tuple[Memory, float]]: ...

    def search(self, tenant: str, req: SearchRequest) -> SearchResponse: ...


class ScopeNames:
    def __init__(self, memories: MemoryLookup, tenant: str, scope: dict[str, str]) -> None:
        self._memories = memories
        self._tenant = tenant
        self._scope = scope
        self._user_name: str | None = None
        self._looked_up = False
        self._seen: list[str] = []

    def user_name(self) -> str | None:
        if not self._looked_up:
            self._looked_up = True
            stored = self._memories.similar(self._tenant, self._scope, "The user's name is", LOOKUP)
            self._user_name = self._user_name or next((n for m, _ in stored if (n := name_in(m.fact))), None)
        return self._user_name

    def _about(self, person: str) -> list[str]:
        req = SearchRequest(scope=self._scope, query=person, top_k=LOOKUP, mode="keyword")
        return [*self._seen, *(r.memory.fact for r in self._memories.search(self._tenant, req).results)]

    def complete(self, fact: str) -> str:
        """``fact`` naming the user by name and saying who a person it opens with is, when known."""
        name = self.user_name()
        person = person_named(fact)
        if person and person != name:
            fact = introduce(fact, self._about(person), name)
        return with_name(fact, name)

    def learn(self, fact: str) -> None:
        """Remember a fact of this job (a name given in an earlier chunk names the later facts)."""
        self._user_name = name_in(fact) or self._user_name
        self._seen.append(fact)
