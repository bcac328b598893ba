"""The "when did this token change" line of each token pane.

Each pane describes its own token only: what this console saw happen to
it, else what the audit record or the token history store (a change, or
when an earlier process first saw the token), else that it has not changed
since the console started. Times are absolute (UTC, to the
minute), so the line never changes while the token does not, and an idle
console writes nothing to its terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from swarmtui.token_age import TokenOrigin


def stamp(moment: datetime) -> str:
    """Write a time as ``at YYYY-MM-DD HH:MM UTC``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("at %Y-%m-%d %H:%M UTC")


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
    swarm_since: datetime | None = None,
) -> str:
    """Describe when the token with `fingerprint` changed, for its pane.

    `swarm_since` is when the console first read the swarm on screen, when
    that swarm replaced another one after the console started.
    """
    if origin is not None and origin.fingerprint != fingerprint:
        origin = None
    if seen is not None and seen.fingerprint == fingerprint:
        if not seen.outside:
            return f"rotated by this console {stamp(seen.at)}"
        # The audit record has the real time when another swarmtui rotated it.
        at = origin.at if origin is not None and origin.source == "audit" else seen.at
        return f"rotated outside this console {stamp(at)}"
    if origin is not None and origin.source == "audit":
        return f"rotated {stamp(origin.at)} (audit record)"
    if origin is not None and origin.source == "seen":
        return f"unchanged since first seen {stamp(origin.at)}"
    if origin is not None:
        # The token history saw the token before this one, so the token
        # changed before swarmtui first read it.
        return f"changed, first seen {stamp(origin.at)} (token history)"
    if swarm_since is not None:
        return f"unchanged since first read by this console {stamp(swarm_since)}"
    return "unchanged since the console started"
