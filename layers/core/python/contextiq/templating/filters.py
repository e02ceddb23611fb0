"""The filters ContextIQ adds to Jinja's (docs/templates.md lists them with Jinja's safe built-ins)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from contextiq.templating.tokens import estimate_tokens

DEFAULT_DATETIME_FORMAT = "%Y-%m-%d %H:%M"


def datetime_filter(value: Any, fmt: str = DEFAULT_DATETIME_FORMAT) -> str:
    """A datetime or ISO-8601 string, in UTC, formatted with ``strftime`` codes (``%Y-%m-%d %H:%M``)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise TypeError(f"datetime expects a datetime or an ISO-8601 string, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if len(fmt) > 100:
        raise ValueError("the datetime format is limited to 100 characters")
    return value.astimezone(UTC).strftime(fmt)


def truncate_tokens(text: Any, max_tokens: int, end: str = "…") -> str:
    """``text`` cut at a word boundary to at most ``max_tokens`` estimated tokens (``end`` marks a cut)."""
    text = str(text)
    if estimate_tokens(text) <= max_tokens:
        return text
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:  # the longest prefix of whole words that fits, with the end marker
        mid = (low + high + 1) // 2
        if estimate_tokens(" ".join(words[:mid]) + end) <= max_tokens:
            low = mid
        else:
            high = mid - 1
    return (" ".join(words[:low]) + end) if low else ""


def bullet_list(items: Iterable[Any], attribute: str | None = None, bullet: str = "- ") -> str:
    """One line per item: ``bullet`` then the item (or its ``attribute``); line breaks inside are folded."""
    lines = []
    for item in items:
        value = item.get(attribute) if attribute is not None and isinstance(item, dict) else item
        lines.append(bullet + " ".join(str(value).split()))
    return "\n".join(lines)


def tokens(text: Any) -> int:
    """The estimated token count of ``text`` (the estimate the budget uses)."""
    return estimate_tokens(str(text))


CUSTOM_FILTERS: dict[str, Callable[..., Any]] = {
    "datetime": datetime_filter,
    "truncate_tokens": truncate_tokens,
    "bullet_list": bullet_list,
    "tokens": tokens,
}
