"""Who said what: telling the user's turns from the agent's."""

from __future__ import annotations

from datetime import UTC, datetime

from contextiq.ai.extractors.base import Turn

USER_ROLES = frozenset({"user", "human"})
NON_USER_AUTHORS = frozenset({"model", "agent", "assistant", "tool", "system"})


def is_user_turn(turn: Turn) -> bool:
    """A user turn: role "user" (or "human"); with no role, an author other than model/agent/tool/system."""
    if turn.role is not None:
        return turn.role.strip().lower() in USER_ROLES
    return turn.author.strip().lower() not in NON_USER_AUTHORS


def role_of(turn: Turn) -> str:
    """ "user", or the turn's own role ("model", "tool"...), or "assistant" for a non-user author."""
    if is_user_turn(turn):
        return "user"
    return (turn.role or "assistant").strip().lower()


def iso_utc(value: datetime) -> str:
    """ISO-8601 UTC to the second; a naive timestamp is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
