"""Whatever a write accepts, the matching read returns unchanged (issue 11), through the API on moto.

Free-form JSON (any keys, any Unicode text, big integers, floats, nesting up to the limit and a little
past it) goes into every free-form field: session ``state`` and ``metadata``, event ``state_delta``,
``content`` (text and parts) and ``metadata``, PATCH state ``set``, memory ``fact`` and ``metadata``,
procedure text, step ``arguments``, ``parameters`` and ``metadata``. A value within the documented limits
(docs/limits.md) must be accepted and read back exactly (JSON types included: ``1`` is not ``1.0`` nor
``true``); a value past a limit must be a 4xx problem+json naming the field. The only documented change
is that free text is trimmed. Examples are bounded, and derandomized under CI (tests/conftest.py).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextiq import limits

EXAMPLES = 20
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**4000, max_value=10**4299)  # big, but within 4,300 digits
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
NAMES = st.text(st.characters(blacklist_characters="#", blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12)
TEXT = st.text(min_size=1, max_size=200).filter(lambda s: s.strip() != "")


def _json(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=max_leaves,
    )


@st.composite
def _nested(draw: st.DrawFn, levels_left: int) -> Any:
    """Free JSON, sometimes wrapped to exactly the depth limit or one or two levels past it."""
    value = draw(_json())
    if draw(st.integers(0, 4)) == 0:
        for _ in range(levels_left + draw(st.sampled_from([-1, 0, 0, 1, 2]))):
            value = [value] if draw(st.booleans()) else {"k": value}
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included (Python's == says 1 == 1.0 == True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _refused(resp: Any, *fields: str) -> None:
    """A 4xx problem+json naming one of ``fields`` (or a place inside one)."""
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    named = [e["field"] for e in resp.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in named for field in fields), (fields, named)


def _within(value: Any, levels: int, max_bytes: int) -> bool:
    """``levels``: how many container levels the field may hold (the body is level 1)."""
    return _depth(value) <= levels and _size(value) <= max_bytes


# state and metadata are level 2 of a session body, so they hold 31 container levels
STATE_LEVELS = limits.MAX_JSON_DEPTH - 1


@SETTINGS
@given(state=st.dictionaries(st.text(max_size=10), _nested(STATE_LEVELS - 1), max_size=6))
def test_session_state_reads_back_exactly(api, state: dict[str, Any]) -> None:
    resp = api.post("/v1/sessions", json={"user_id": "u1", "state": state})
    if not _within(state, STATE_LEVELS, limits.MAX_STATE_BYTES):
        _refused(resp, "state")
        return
    assert resp.status_code == 201, resp.text
    assert _same(resp.json()["state"], state)
    assert _same(api.get(resp.headers["Location"]).json()["state"], state)


@SETTINGS
@given(
    metadata=st.dictionaries(NAMES, _json(), max_size=limits.MAX_METADATA_KEYS + 1),
    text=st.text(max_size=300),
    parts=st.lists(st.dictionaries(st.text(max_size=8), _nested(STATE_LEVELS - 3), max_size=3), max_size=3),
    delta=st.dictionaries(st.text(max_size=8), _json(), max_size=4),
)
def test_event_content_state_delta_and_metadata_read_back_exactly(api, metadata, text, parts, delta) -> None:  # type: ignore[no-untyped-def]
    session = api.post("/v1/sessions", json={"user_id": "u1", "state": {"kept": 1}}).json()
    content = {"text": text, "parts": parts} if parts else {"text": text}
    body = {"author": "user", "content": content, "state_delta": delta, "metadata": metadata}
    resp = api.post(f"/v1/sessions/{session['id']}/events", json=body)
    broken = [
        *(
            ["metadata"]
            if len(metadata) > limits.MAX_METADATA_KEYS or _size(metadata) > limits.MAX_METADATA_BYTES
            else []
        ),
        *(["content.parts"] if _depth(parts) > limits.MAX_JSON_DEPTH - 2 else []),  # parts is level 3 of the body
    ]
    if broken:
        _refused(resp, *broken)
        return
    assert resp.status_code == 201, resp.text
    (event,) = api.get(f"/v1/sessions/{session['id']}/events").json()["items"]
    assert _same(event["content"], content) and _same(event["metadata"], metadata)
    expected = {"kept": 1}
    for key, value in delta.items():  # a shallow merge; a null value removes its key (docs/sessions)
        if value is None:
            expected.pop(key, None)
        else:
            expected[key] = value
    assert _same(api.get(f"/v1/sessions/{session['id']}").json()["state"], expected)


@SETTINGS
@given(
    set_=st.dictionaries(st.text(max_size=10), _nested(STATE_LEVELS - 2).filter(lambda v: v is not None), max_size=6)
)
def test_patch_state_set_reads_back_exactly(api, set_: dict[str, Any]) -> None:
    session = api.post("/v1/sessions", json={"user_id": "u1", "state": {"kept": [1, 2.5, True]}}).json()
    resp = api.patch(f"/v1/sessions/{session['id']}/state", json={"set": set_})
    if not _within(set_, STATE_LEVELS, limits.MAX_STATE_BYTES):
        _refused(resp, "set")
        return
    assert resp.status_code == 200, resp.text
    expected = {"kept": [1, 2.5, True], **set_}
    assert _same(resp.json()["state"], expected)
    assert _same(api.get(f"/v1/sessions/{session['id']}").json()["state"], expected)


@SETTINGS
@given(fact=TEXT, metadata=st.dictionaries(NAMES, _nested(STATE_LEVELS - 2), max_size=limits.MAX_METADATA_KEYS))
def test_memory_fact_and_metadata_read_back_exactly(api, fact: str, metadata: dict[str, Any]) -> None:
    resp = api.post("/v1/memories", json={"scope": {"user_id": "u1"}, "fact": fact, "metadata": metadata})
    if not _within(metadata, STATE_LEVELS, limits.MAX_METADATA_BYTES):
        _refused(resp, "metadata")
        return
    assert resp.status_code == 201, resp.text
    read = api.get(resp.headers["Location"]).json()
    assert read["fact"] == fact.strip() and _same(read["metadata"], metadata)
    listed = api.get("/v1/memories", params={"scope.user_id": "u1"}).json()["items"]
    assert any(m["id"] == read["id"] and _same(m["metadata"], metadata) for m in listed)


STEP = st.fixed_dictionaries(
    {"instruction": TEXT},
    optional={
        "tool": NAMES.filter(lambda s: s.strip() != ""),
        "arguments": st.dictionaries(st.text(max_size=8), _json(8), max_size=4),
        "expected": TEXT,
    },
)


@SETTINGS
@given(
    name=TEXT,
    description=TEXT,
    steps=st.lists(STEP, min_size=1, max_size=4),
    parameters=st.lists(
        st.fixed_dictionaries(
            {"name": st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,10}\Z")},
            optional={"description": st.text(max_size=40), "required": st.booleans()},
        ),
        max_size=4,
        unique_by=lambda p: p["name"],
    ),
    topics=st.lists(NAMES, max_size=4),
    metadata=st.dictionaries(NAMES, _json(), max_size=4),
)
def test_procedure_fields_read_back_exactly(api, name, description, steps, parameters, topics, metadata) -> None:  # type: ignore[no-untyped-def]
    body = {
        "scope": {"user_id": "u1"},
        "kind": "workflow",
        "name": name,
        "description": description,
        "steps": steps,
        "parameters": parameters,
        "topics": topics,
        "metadata": metadata,
    }
    resp = api.post("/v1/procedures", json=body)
    broken = [
        *(["steps"] if any(_size(s.get("arguments", {})) > limits.MAX_STEP_ARGUMENTS_BYTES for s in steps) else []),
        *(["metadata"] if _size(metadata) > limits.MAX_METADATA_BYTES else []),
    ]
    if broken:
        _refused(resp, *broken)
        return
    assert resp.status_code == 201, resp.text
    read = api.get(resp.headers["Location"]).json()
    trimmed = [
        {
            "instruction": s["instruction"].strip(),
            "tool": s["tool"].strip() if "tool" in s else None,
            "arguments": s.get("arguments"),
            "expected": s["expected"].strip() if "expected" in s else None,
        }
        for s in steps
    ]
    expected_parameters = [{"description": None, "required": True, **p} for p in parameters]
    assert read["name"] == name.strip() and read["description"] == description.strip()
    assert _same(read["steps"], trimmed)
    assert _same(read["parameters"], expected_parameters)
    assert read["topics"] == topics and _same(read["metadata"], metadata)
