"""When each current join token was issued or first seen, from the files swarmtui keeps.

The audit record gives the time of a rotation by swarmtui that issued the
token (matched by fingerprint). The token history gives the time swarmtui
first saw the token, which for a token rotated by another tool is later
than the rotation itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from swarmtui.audit import read_rotation_events, token_issued_at
from swarmtui.errors import SwarmTuiError
from swarmtui.models import Role, SwarmView

if TYPE_CHECKING:
    from swarmtui.service import TokenService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenOrigin:
    """When a token was issued ("audit"), first seen after a change ("history"),
    or first seen with no change known ("seen")."""

    fingerprint: str
    at: datetime
    source: Literal["audit", "history", "seen"]


def read_events_quietly(
    audit_path: Path | None, cluster_id: str
) -> list[dict[str, Any]]:
    """Return a cluster's rotation events, or none when the file cannot be read.

    The failure is logged only, because what the console reads from the
    record adds detail to what it shows.
    """
    if audit_path is None:
        return []
    try:
        return read_rotation_events(audit_path, cluster_id)
    except SwarmTuiError as error:
        log.info("audit file not read: %s", error)
        return []


def token_origins(
    service: TokenService,
    view: SwarmView,
    audit_path: Path | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict[Role, TokenOrigin]:
    """Look up the origin of both current tokens; a role with none is left out.

    `events` are the audit record's, when the caller read them already. An
    audit file that cannot be read is logged and skipped.
    """
    if events is None:
        events = read_events_quietly(audit_path, view.cluster_id)
    current_since = getattr(service.history, "current_since", None)
    first_seen = getattr(service.history, "first_seen", None)
    origins: dict[Role, TokenOrigin] = {}
    for role in Role:
        token_fingerprint = view.token_fingerprint(role)
        issued = token_issued_at(events, view.cluster_id, role.value, token_fingerprint)
        if issued is not None:
            origins[role] = TokenOrigin(token_fingerprint, issued, "audit")
            continue
        seen = None
        if callable(current_since):
            seen = current_since(view.cluster_id, role, token_fingerprint)
        if isinstance(seen, datetime):
            origins[role] = TokenOrigin(token_fingerprint, seen, "history")
            continue
        if callable(first_seen):
            seen = first_seen(view.cluster_id, role, token_fingerprint)
        if isinstance(seen, datetime):
            origins[role] = TokenOrigin(token_fingerprint, seen, "seen")
    return origins
