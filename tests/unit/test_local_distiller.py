"""The local distiller's rules (R1-R5), session -> steps, the deprecation rule and the Markdown export."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contextiq.ai.distillers.local import LocalDistiller, generalise
from contextiq.api.markdown import procedure_markdown
from contextiq.models.procedures import Procedure, ProcedureStats, Step
from contextiq.models.sessions import Event
from contextiq.models.trajectories import Outcome, Trajectory, TrajectoryStep
from contextiq.services.procedure_learning import masked_task
from contextiq.services.procedure_search import smoothed_success
from contextiq.services.procedures import should_deprecate
from contextiq.services.trajectories import steps_from_events

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def traj(task: str, steps: list[TrajectoryStep], n: int = 0) -> Trajectory:
    return Trajectory(
        id=f"t{n}",
        scope={"u": "1"},
        task=task,
        steps=steps,
        outcome=Outcome(status="success"),
        metadata={},
        create_time=NOW,
    )


def weather(city: str, unit: str, n: int) -> Trajectory:
    return traj(
        f"What is the weather in {city} today?",
        [
            TrajectoryStep(
                thought=f"Look up {city}",
                tool="get_weather",
                arguments={"location": {"city": city}, "unit": unit},
                observation=f"It is sunny in {city}. 21 degrees.",
            ),
            TrajectoryStep(thought=f"Tell the user it is sunny in {city}"),
            TrajectoryStep(observation="(ignored: no tool, no thought)"),
        ],
        n,
    )


def test_r1_r2_r4_variation_becomes_parameters_and_text_is_generalised() -> None:
    p = LocalDistiller().distill([weather("Paris", "C", 1), weather("Oslo", "C", 2)])
    assert p is not None
    assert p.name == "What is the weather in {city} today?"
    assert p.description.startswith("Use for tasks like: What is the weather in {city} today?")
    assert [s.model_dump(exclude_none=True) for s in p.steps] == [
        {
            "instruction": "Look up {city}",
            "tool": "get_weather",
            "arguments": {"location": {"city": "{city}"}, "unit": "C"},  # nested key; constant kept
            "expected": "It is sunny in {city}.",
        },
        {"instruction": "Tell the user it is sunny in {city}"},
    ]
    assert [(x.name, x.description, x.required) for x in p.parameters] == [("city", "e.g. Paris, Oslo", True)]
    assert p.trajectory_ids == ("t1", "t2")


def test_r3_a_single_run_is_generalised_by_its_task() -> None:
    p = LocalDistiller().distill([weather("Lisbon", "F", 1)])
    assert p is not None and p.name == "What is the weather in {city} today?"
    assert p.steps[0].arguments == {"location": {"city": "{city}"}, "unit": "F"}  # "F" is 1 char: a constant


def test_values_that_vary_together_share_a_parameter_and_missing_ones_are_optional() -> None:
    def run(a: str, extra: dict[str, Any], n: int) -> Trajectory:
        return traj(
            f"Ship to {a}",
            [
                TrajectoryStep(tool="quote", arguments={"to": a, **extra}),
                TrajectoryStep(tool="ship", arguments={"destination": a}),
            ],
            n,
        )

    p = LocalDistiller().distill([run("Rome", {"insured": True}, 1), run("Oslo", {}, 2)])
    assert p is not None and p.kind.value == "workflow"
    assert p.steps[0].arguments == {"to": "{to}", "insured": "{insured}"}
    assert p.steps[1].arguments == {"destination": "{to}"}
    assert {x.name: x.required for x in p.parameters} == {"to": True, "insured": False}


def test_r5_one_step_is_a_skill_and_nothing_to_reuse_is_none() -> None:
    one = LocalDistiller().distill([traj("Translate hello", [TrajectoryStep(tool="translate", arguments={})])])
    assert one is not None and one.kind.value == "skill" and one.steps[0].instruction == "Call `translate`"
    assert LocalDistiller().distill([traj("x", [TrajectoryStep(observation="o")])]) is None
    assert LocalDistiller().distill([]) is None


def test_generalise_is_whole_word_and_longest_first() -> None:
    assert generalise("Paris, Parisian, paris", {"city": "Paris"}) == "{city}, Parisian, {city}"
    assert generalise("New York and York", {"a": "York", "b": "New York"}) == "{b} and {a}"
    assert masked_task(weather("Rome", "C", 1)) == "What is the weather in {value} today?"


arguments = st.dictionaries(
    st.text(min_size=1, max_size=8), st.one_of(st.text(max_size=12), st.integers(), st.booleans()), max_size=3
)
step = st.builds(
    TrajectoryStep,
    thought=st.one_of(st.none(), st.text(min_size=1, max_size=40)),
    tool=st.one_of(st.none(), st.sampled_from(["a", "b"])),
    arguments=st.one_of(st.none(), arguments),
    observation=st.one_of(st.none(), st.text(min_size=1, max_size=40)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=60), st.lists(step, max_size=5)), min_size=1, max_size=3))
def test_any_runs_give_a_valid_procedure_or_none(runs: list[tuple[str, list[TrajectoryStep]]]) -> None:
    result = LocalDistiller().distill([traj(task, steps, n) for n, (task, steps) in enumerate(runs)])
    if result is not None:
        for s in result.steps:
            Step.model_validate(s.model_dump())  # within the API's own limits
        assert len(result.steps) >= 1 and len(result.name) <= 80


def event(eid: str, seq: int, role: str, content: dict[str, Any]) -> Event:
    return Event(id=eid, session_id="s", seq=seq, author=role, role=role, content=content, timestamp=NOW, metadata={})


def test_session_events_become_steps_with_their_event_ids() -> None:
    task, steps = steps_from_events(
        [
            event("e1", 1, "user", {"text": "Find me a hotel in Rome"}),
            event(
                "e2",
                2,
                "model",
                {
                    "text": "Searching",
                    "parts": [
                        {"functionCall": {"name": "search_hotels", "args": {"city": "Rome"}}},
                        {"tool_call": {"name": "get_map", "arguments": {"q": "Rome"}}},
                    ],
                },
            ),
            event("e3", 3, "tool", {"parts": [{"tool_result": {"name": "get_map", "content": "map"}}]}),
            event("e4", 4, "tool", {"text": "2 hotels"}),
            event("e5", 5, "user", {"text": "thanks"}),
            event("e6", 6, "model", {"parts": [{"toolResult": {"output": {"ok": True}}}]}),
            event("e7", 7, "model", {"text": "Done"}),
        ]
    )
    assert task == "Find me a hotel in Rome"
    assert [(s.tool, s.thought, s.observation, s.event_ids) for s in steps] == [
        ("search_hotels", "Searching", "2 hotels", ["e2", "e4"]),
        ("get_map", None, "map", ["e2", "e3"]),
        (None, None, '{"ok":true}', ["e6"]),
        (None, "Done", None, ["e7"]),
    ]


def test_deprecation_rule_and_smoothing() -> None:
    assert not should_deprecate(4, 0)  # too few outcomes
    assert should_deprecate(5, 1)  # 20 %
    assert not should_deprecate(10, 3)  # 30 % is not below 30 %
    assert smoothed_success(ProcedureStats()) == 0.5
    assert smoothed_success(ProcedureStats(uses=3, successes=3)) == 0.8


def test_markdown_keeps_every_step_on_its_own_item() -> None:
    p = Procedure(
        id="p1",
        scope={"u": "1"},
        kind="workflow",
        name='Say "hi"',
        description="When greeting\nanyone",
        steps=[Step(instruction="line one\nline two", tool="say", arguments={"text": "{greeting}"})],
        parameters=[],
        topics=[],
        metadata={},
        status="active",
        stats=ProcedureStats(),
        create_time=NOW,
        update_time=NOW,
        version=1,
    )
    md = procedure_markdown(p)
    assert md.startswith('---\nname: "Say \\"hi\\""\ndescription: "When greeting\\nanyone"\n')
    assert '1. line one line two\n   - Tool: `say`\n   - Arguments: `{"text": "{greeting}"}`' in md


def test_a_blank_thought_is_not_a_step() -> None:
    """Found by the property test above: a whitespace-only thought made an empty instruction."""
    steps = [TrajectoryStep(thought="\r"), TrajectoryStep(thought="greet the user")]
    p = LocalDistiller().distill([traj("say hi", steps, 1), traj("say hi", steps, 2)])
    assert p is not None
    assert [s.instruction for s in p.steps] == ["greet the user"]


def test_a_blank_thought_of_a_tool_step_names_the_tool() -> None:
    """Found by the property test above: a tool step whose thought is whitespace made an empty instruction."""
    steps = [TrajectoryStep(thought="\r", tool="a")]
    p = LocalDistiller().distill([traj("0", steps, 1)])
    assert p is not None
    assert [(s.instruction, s.tool) for s in p.steps] == [("Call `a`", "a")]
