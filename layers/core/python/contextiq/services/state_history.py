"""A session's state at any point of its history, rebuilt from what the history keeps.

The state "at seq N" is the state a reader saw while N was the last seq: the initial state, then in
order every event's ``state_delta`` up to N and every PATCH made before event N + 1. That is what a
checkpoint taken at N records, and at the session's last seq it is its current state. The replay uses
the very function the writes used (``apply_state_change``), on the values they stored, so it is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contextiq.models.checkpoints import StateChange
from contextiq.models.sessions import Event
from contextiq.services.sessions import apply_state_change


class StateReplay:
    """Feed the events in seq order (page by page is fine), then ``finish``.

    ``patches`` are the session's PATCHes with ``seq <= upto_seq``, in (seq, version) order; with
    ``upto_version``, those made after that version are left out (a checkpoint's cut).
    """

    def __init__(self, initial: dict[str, Any], patches: Sequence[StateChange], upto_version: int | None = None):
        self._state = dict(initial)
        self._patches = [p for p in patches if upto_version is None or p.version <= upto_version]
        self._next = 0  # index of the first patch not applied yet
        self._seq = 0

    def _apply_patches_before(self, seq: int) -> None:
        while self._next < len(self._patches) and self._patches[self._next].seq < seq:
            patch = self._patches[self._next]
            self._state = apply_state_change(self._state, patch.set, patch.remove)
            self._next += 1

    def event(self, event: Event) -> None:
        if event.seq != self._seq + 1:
            raise ValueError(f"events out of order: {event.seq} after {self._seq}")
        self._apply_patches_before(event.seq)
        if event.state_delta:
            self._state = apply_state_change(self._state, event.state_delta)
        self._seq = event.seq

    def finish(self) -> dict[str, Any]:
        """The state at the last event fed (with the patches made before the next one)."""
        self._apply_patches_before(self._seq + 1)
        return self._state

    @property
    def kept_patches(self) -> list[StateChange]:
        """The patches the replay used (what a fork copies)."""
        return [p for p in self._patches if p.seq <= self._seq]
