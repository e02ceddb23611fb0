"""ScopeNames completes a candidate with who is who in the scope (the user's name, who a person is)."""

from __future__ import annotations

from datetime import UTC, datetime

from contextiq.ai.extractors.speaker import introduce, person_named, with_name
from contextiq.models.memories import Memory, SearchRequest, SearchResponse, SearchResult
from contextiq.services.scope_names import ScopeNames

NOW = datetime(2026, 11, 20, tzinfo=UTC)
SCOPE = {"user_id": "carol"}


def memory(n: int, fact: str) -> Memory:
    return Memory(
        id=f"m{n}", scope=SCOPE, fact=fact, topics=[], metadata={}, create_time=NOW, update_time=NOW,
        event_time=NOW, version=1,
    )  # fmt: skip


class FakeMemories:
    def __init__(self, *facts: str) -> None:
        self.stored = [memory(n, f) for n, f in enumerate(facts)]
        self.calls: list[str] = []

    def similar(self, tenant: str, scope: dict[str, str], text: str, top_k: int = 5) -> list[tuple[Memory, float]]:
        self.calls.append(f"similar:{text}")
        return [(m, 0.5) for m in self.stored][:top_k]

    def search(self, tenant: str, req: SearchRequest) -> SearchResponse:
        self.calls.append(f"{req.mode}:{req.query}")
        hits = [m for m in self.stored if req.query.lower() in m.fact.lower()]
        return SearchResponse(results=[SearchResult(memory=m, score=1.0) for m in hits][: req.top_k])


def test_the_users_known_name_and_who_a_person_is() -> None:
    memories = FakeMemories("The user's name is Carol", "Carol's godmother Olga called Carol on 2026-10-02")
    names = ScopeNames(memories, "t", SCOPE)
    assert names.complete("The user moved from Denver to Seattle") == "Carol moved from Denver to Seattle"
    assert (
        names.complete("Olga just got hired as a carpenter") == "Carol's godmother Olga just got hired as a carpenter"
    )
    assert names.complete("Diego is moving to Porto") == "Diego is moving to Porto"  # nobody says who Diego is
    assert names.complete("The user's name is Caroline") == "The user's name is Caroline"  # a name fact stays
    assert memories.calls.count("similar:The user's name is") == 1  # looked up once per part


def test_a_name_given_earlier_in_the_job_names_later_facts() -> None:
    names = ScopeNames(FakeMemories(), "t", SCOPE)
    assert names.complete("The user is allergic to peanuts") == "The user is allergic to peanuts"
    names.learn("The user's name is Carol")
    names.learn("The user's neighbour Ruben called the user")
    assert names.complete("The user is vegan") == "Carol is vegan"
    assert names.complete("Ruben is moving to Oslo") == "Carol's neighbour Ruben is moving to Oslo"


def test_speaker_helpers() -> None:
    assert with_name("The user asks the assistant to never book the user on night flights", "Carol") == (
        "Carol asks the assistant to never book Carol on night flights"
    )
    assert with_name("The user likes tea", None) == "The user likes tea"
    assert person_named("Olga got hired") == "Olga" and person_named("The user got hired") is None
    assert person_named("Lisbon is lovely") == "Lisbon"
    assert introduce("Lisbon is lovely", ["Carol lives in Lisbon"]) == "Lisbon is lovely"
    assert introduce("Ravi got a dog", ["The user's cousin is Ravi, we talk every day"]) == (
        "The user's cousin Ravi got a dog"
    )
