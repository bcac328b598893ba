"""Messages that the app's thread workers post back to the UI thread.

A read goes ServiceReady (first time only) then SwarmRead or ReadFailed; a
rotation goes Rotated, RotationConflicted or RotationFailed. Each read
carries the sequence number it started with, so a read that began before a
rotation finished can be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from swarmtui.errors import (
    RotationConflictError,
    RotationOutcomeUnknownError,
    SwarmTuiError,
)
from swarmtui.models import Role, RotationResult, SwarmView
from swarmtui.token_age import TokenOrigin


class ServiceReady(Message):
    """The token service exists and its endpoint label is known."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint


class SwarmRead(Message):
    def __init__(self, sequence: int, view: SwarmView) -> None:
        super().__init__()
        self.sequence = sequence
        self.view = view


class ReadFailed(Message):
    def __init__(self, sequence: int, error: SwarmTuiError) -> None:
        super().__init__()
        self.sequence = sequence
        self.error = error


class Rotated(Message):
    """A rotation took effect; `own` when it was the console's own `r` rotation.

    Join window closes and the leak response rotate too, while a rotation
    of the console's own may still be running. `announce` is False when the
    sender shows a notice of the rotation itself.
    """

    def __init__(
        self, result: RotationResult, own: bool = False, announce: bool = True
    ) -> None:
        super().__init__()
        self.result = result
        self.own = own
        self.announce = announce


class RotationConflicted(Message):
    """A rotation that a change by someone else stopped; `action` is its audit name."""

    def __init__(
        self, role: Role, error: RotationConflictError, action: str = "rotate"
    ) -> None:
        super().__init__()
        self.role = role
        self.error = error
        self.action = action


class RotationFailed(Message):
    def __init__(self, role: Role, error: SwarmTuiError) -> None:
        super().__init__()
        self.role = role
        self.error = error


class LeakOutcomeUnknown(Message):
    """The leak response's rotation of both tokens ended with an unknown outcome."""

    def __init__(self, error: RotationOutcomeUnknownError) -> None:
        super().__init__()
        self.error = error


class LocalCopyFinished(Message):
    """A local clipboard tool ran; `error` is empty when it succeeded.

    `tmux_note` names the tmux options that OSC 52 still needs, if any.
    """

    def __init__(
        self, tool: str, error: str, subject: str, osc52: bool, tmux_note: str = ""
    ) -> None:
        super().__init__()
        self.tool = tool
        self.error = error
        self.subject = subject
        self.osc52 = osc52
        self.tmux_note = tmux_note


@dataclass(frozen=True, slots=True)
class SettledRotation:
    """The outcome of a rotation that the audit record listed as unknown.

    `role` is None for a rotation of the unlock key, whose fingerprints
    `before` and `after` are then.
    """

    role: Role | None
    before: str
    after: str
    recorded_at: datetime | None

    @property
    def took_effect(self) -> bool:
        return self.after != self.before


class TokenOriginsFound(Message):
    """The audit record and token history were read for a cluster's tokens."""

    def __init__(
        self,
        cluster_id: str,
        origins: dict[Role, TokenOrigin],
        settled: list[SettledRotation] | None = None,
    ) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.origins = origins
        # Rotations recorded as unknown before this console started, whose
        # outcome the worker has just recorded.
        self.settled = settled or []
