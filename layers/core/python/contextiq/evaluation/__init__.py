"""Evaluation data ContextIQ generates itself: conversations, expected facts, recall questions, a demo."""

from contextiq.evaluation.dataset import (
    DemoConversation,
    EvalConversation,
    EvalQuestion,
    FactMatch,
    demo_conversation,
    expected_facts,
    fact_matches,
    generate_eval_set,
    match_facts,
)

__all__ = [
    "DemoConversation",
    "EvalConversation",
    "EvalQuestion",
    "FactMatch",
    "demo_conversation",
    "expected_facts",
    "fact_matches",
    "generate_eval_set",
    "match_facts",
]
