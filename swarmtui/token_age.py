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
from typing import TYPE_CHECKING, Literal

from swarmtui.audit import read_audit, token_issued_at
from swarmtui.errors import SwarmTuiError
from swarmtui.models import Role, SwarmView

if TYPE_CHECKING:
    from swarmtui.service import TokenService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenOrigin:
    """When a token was issued ("audit") or first seen ("history")."""

    fingerprint: str
    at: datetime
    source: Literal["audit", "history"]


def token_origins(
    service: TokenService, view: SwarmView, audit_path: Path | None = None
) -> dict[Role, TokenOrigin]:
    """Look up the origin of both current tokens; a role with none is left out.

    An audit file that cannot be read is logged and skipped, because the
    origin only adds detail to what the console shows.
    """
    events: list[dict[str, object]] = []
    if audit_path is not None:
        try:
            events = read_audit(audit_path).events
        except SwarmTuiError as error:
            log.info("audit file not read for the token ages: %s", error)
    current_since = getattr(service.history, "current_since", None)
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
    return origins
