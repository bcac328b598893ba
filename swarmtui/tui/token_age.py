"""The "when did this token change" line of each token pane.

Each pane describes its own token only: what this console saw happen to
it, else what the audit record or the token history store, else that it has
not changed since the console started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from swarmtui.token_age import TokenOrigin
from swarmtui.tui.widgets import relative_time


@dataclass(frozen=True, slots=True)
class SeenChange:
    """A change of one token that this console saw: its own rotation or another's."""

    fingerprint: str
    at: datetime
    outside: bool


def change_text(
    fingerprint: str,
    seen: SeenChange | None,
    origin: TokenOrigin | None,
    now: datetime,
) -> str:
    """Describe when the token with `fingerprint` changed, for its pane."""
    if origin is not None and origin.fingerprint != fingerprint:
        origin = None
    if seen is not None and seen.fingerprint == fingerprint:
        if not seen.outside:
            return f"rotated by this console {relative_time(seen.at, now)}"
        # The audit record has the real time when another swarmtui rotated it.
        at = origin.at if origin is not None and origin.source == "audit" else seen.at
        return f"rotated outside this console {relative_time(at, now)}"
    if origin is not None and origin.source == "audit":
        return f"rotated {relative_time(origin.at, now)} (audit record)"
    if origin is not None:
        return f"first seen {relative_time(origin.at, now)}"
    return "unchanged since the console started"
