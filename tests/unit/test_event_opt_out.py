"""Per-app opt-out of event indexing (services/event_opt_out.py) with fakes: the operator's list overrides
the tenant's choice, the tenant's choice is cached briefly per (tenant, app), a policy change record
forgets the cache and purges the app's indexed turns only when indexing went from on to off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from contextiq.services.event_opt_out import EventOptOut, apply_app_index_change, purge_app_events
from contextiq.stores.dynamo.streams import AppIndexChange, parse_app_index_record
from contextiq.stores.vector.documents import EVENT_VERSION


@dataclass
class Policy:
    index_events: bool


class FakePolicies:
    def __init__(self) -> None:
        self.policies: dict[tuple[str, str], Policy] = {}
        self.reads = 0

    def get(self, tenant: str, app_name: str) -> Policy | None:
        self.reads += 1
        return self.policies.get((tenant, app_name))


class FakeIndex:
    def __init__(self) -> None:
        self.deleted: list[tuple[str, str, int]] = []

    def delete(self, tenant: str, doc_id: str, version: int) -> None:
        self.deleted.append((tenant, doc_id, version))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_tenants_choice_per_app_is_cached_briefly() -> None:
    policies, clock = FakePolicies(), Clock()
    opt_out = EventOptOut(policies, ttl=30, clock=clock)
    assert not opt_out("t1", "diary")  # no policy: indexed
    policies.policies[("t1", "diary")] = Policy(index_events=False)
    assert not opt_out("t1", "diary") and policies.reads == 1  # cached
    clock.now = 31
    assert opt_out("t1", "diary") and policies.reads == 2
    assert not opt_out("t2", "diary")  # another tenant's app of the same name
    assert not opt_out("t1", None) and policies.reads == 3  # no app, no lookup
    policies.policies[("t1", "diary")] = Policy(index_events=True)
    opt_out.forget("t1", "diary")
    assert not opt_out("t1", "diary")


def test_the_operator_list_overrides() -> None:
    policies = FakePolicies()
    policies.policies[("t1", "diary")] = Policy(index_events=True)
    opt_out = EventOptOut(policies, operator=lambda tenant, app: tenant == "t1")
    assert opt_out("t1", "diary") and opt_out("t1", None)
    assert policies.reads == 0


def _item(seq: int) -> dict[str, Any]:
    return {"tenant": "t1", "session_id": "s1", "seq": seq}


def test_purge_deletes_each_event_at_the_removal_version() -> None:
    index = FakeIndex()
    assert purge_app_events(index, [_item(1), _item(2)]) == 2  # type: ignore[arg-type]
    assert index.deleted == [("t1", "s1/1", EVENT_VERSION + 1), ("t1", "s1/2", EVENT_VERSION + 1)]


def test_a_change_purges_only_when_indexing_goes_from_on_to_off() -> None:
    policies, index = FakePolicies(), FakeIndex()
    opt_out = EventOptOut(policies)
    scanned: list[tuple[str, str]] = []

    def app_events(tenant: str, app: str) -> list[dict[str, Any]]:
        scanned.append((tenant, app))
        return [_item(1)]

    def change(before: bool, now: bool) -> str:
        return apply_app_index_change(AppIndexChange("t1", "diary", before, now), opt_out, index, app_events)  # type: ignore[arg-type]

    assert opt_out("t1", "diary") is False  # cached "indexed"
    policies.policies[("t1", "diary")] = Policy(index_events=False)
    assert change(True, False) == "purged 1" and scanned == [("t1", "diary")]
    assert opt_out("t1", "diary") is True  # the cache entry was forgotten
    assert change(False, False) == "skipped" and change(False, True) == "skipped" and change(True, True) == "skipped"
    assert len(scanned) == 1


def _record(name: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> DynamoDBRecord:
    def image(item: dict[str, Any]) -> dict[str, Any]:
        return {k: {"S": v} for k, v in item.items()}

    data: dict[str, Any] = {"Keys": {"pk": {"S": "T#t1#GP#diary"}, "sk": {"S": "POLICY"}}}
    if new is not None:
        data["NewImage"] = image(new)
    if old is not None:
        data["OldImage"] = image(old)
    return DynamoDBRecord({"eventName": name, "dynamodb": data})


def test_parse_app_index_record() -> None:
    base = {"pk": "T#t1#GP#diary", "sk": "POLICY", "tenant": "t1", "app_name": "diary"}
    off = {**base, "policy": '{"index_events":false}'}
    on = {**base, "policy": '{"every_n_events":5}'}
    assert parse_app_index_record(_record("INSERT", off, None)) == AppIndexChange("t1", "diary", True, False)
    assert parse_app_index_record(_record("MODIFY", on, off)) == AppIndexChange("t1", "diary", False, True)
    assert parse_app_index_record(_record("REMOVE", None, off)) == AppIndexChange("t1", "diary", False, True)
    session = {"pk": "T#t1#S#s1", "sk": "SESSION", "tenant": "t1", "app_name": "diary"}
    assert parse_app_index_record(_record("INSERT", session, None)) is None
