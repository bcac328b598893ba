"""When a leak may have started: the default start time of a leak response.

A leaked token may be either one, and any node may have joined with it since
that token was issued. So the default start is the older of the two current
tokens' issue times, taken from the last rotation of each role that this
process made or that the audit file records for the cluster. A rotation
recorded with an unknown outcome counts once a later read recorded that it
took effect. A token that another tool made after that rotation is no older
than it. When either role has no known rotation, the default is 24 hours
before now, or the swarm's creation when that is later, since no node joined
before it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmtui.audit import last_rotations, read_rotation_events, token_issued_at
from swarmtui.errors import SwarmTuiError, TimeTextError
from swarmtui.models import Role
from swarmtui.service import DEFAULT_LEAK_LOOKBACK, LeakReport, TokenService
from swarmtui.timetext import format_utc, parse_time_or_duration

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LeakStart:
    """A proposed start time for a leak response and where it comes from."""

    since: datetime
    source: str


def parse_leak_start(
    text: str, now: datetime | None = None, *, strict: bool = False
) -> datetime:
    """Parse the time a leak may have started; raise TimeTextError if it is ahead.

    No node can have joined after a time still to come, so such a start
    would list none and hide the nodes that did join. `strict` is
    parse_time_or_duration's, for a command-line option.
    """
    now = now or datetime.now(UTC)
    since = parse_time_or_duration(text, now=now, strict=strict)
    if since > now:
        raise TimeTextError(
            f"The start time {format_utc(since)} is in the future.",
            "Give the time the token may have leaked, or a duration back from "
            "now such as 2h.",
        )
    return since


def default_leak_since(
    cluster_id: str,
    *,
    known: Mapping[tuple[str, Role], datetime] | None = None,
    audit_events: Iterable[Mapping[str, Any]] = (),
    now: datetime | None = None,
    swarm_created_at: datetime | None = None,
    current: Mapping[Role, str] | None = None,
) -> LeakStart:
    """Compute the default leak start from known rotations and audit events.

    `swarm_created_at` is the swarm's `CreatedAt`, when it is known, and
    `current` the fingerprints of the current tokens, when they are known.
    """
    now = now or datetime.now(UTC)
    audit_events = list(audit_events)
    issued: dict[Role, datetime] = {}
    for role_text, moment in _last_issue_times(audit_events, cluster_id).items():
        if moment > now:
            # A future time comes from a clock set wrong or an edited line, and
            # as a start it would list no node at all.
            log.info("audit rotation time %s is in the future", moment.isoformat())
            continue
        try:
            issued[Role(role_text)] = moment
        except ValueError:
            continue
    # Roles whose current token no recorded rotation made: another tool
    # rotated it after the last rotation in the audit record.
    current = current or {}
    made_since = {
        role
        for role in issued
        if role in current
        and token_issued_at(audit_events, cluster_id, str(role), current[role]) is None
    }
    for (known_cluster, role), moment in (known or {}).items():
        if known_cluster != cluster_id:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if role not in issued or issued[role] < moment:
            issued[role] = moment
            made_since.discard(role)
    if len(issued) == len(Role):
        since = min(issued.values())
        # Of two rotations at one time, name the one another tool followed.
        oldest = min(issued, key=lambda role: (issued[role], role not in made_since))
        if oldest in made_since:
            source = (
                f"the last {oldest} token rotation in the audit record, the older "
                f"of the two; another tool made the current {oldest} token since, "
                "so no node joined with it earlier"
            )
        elif len(set(issued.values())) == 1:
            # As after a leak response, which rotates both in one update.
            source = "the last rotations of both tokens, at the same time"
        else:
            source = (
                f"the last {oldest} token rotation, the older of the two current tokens"
            )
        return LeakStart(since=_whole_seconds(since), source=source)
    missing = [role for role in Role if role not in issued]
    return _start_without_rotation(missing, now, swarm_created_at)


def _last_issue_times(
    events: list[Mapping[str, Any]], cluster_id: str
) -> dict[str, datetime]:
    """Return, per role, the time of the last rotation on a cluster that took effect.

    That is a rotation recorded as ok, or one recorded as unknown that a later
    `rotate-outcome` event settled as took-effect. The latter counts at the
    time of the rotation, not of the read that settled it.
    """
    found = last_rotations(events, cluster_id)
    for event in events:
        if event.get("action") != "rotate-outcome":
            continue
        if (
            event.get("result") != "took-effect"
            or event.get("cluster_id") != cluster_id
        ):
            continue
        new = event.get("new_fingerprints")
        if not isinstance(new, Mapping):
            continue
        for role, new_fingerprint in new.items():
            if not isinstance(new_fingerprint, str):
                continue
            moment = token_issued_at(events, cluster_id, str(role), new_fingerprint)
            if moment is not None and (role not in found or found[role] < moment):
                found[str(role)] = moment
    return found


def _whole_seconds(moment: datetime) -> datetime:
    """Return the moment without its fraction of a second.

    A duration typed for --since gives whole seconds too. Rounding down moves
    the start earlier, so a node that joined at the moment itself stays listed.
    """
    return moment.replace(microsecond=0)


def _start_without_rotation(
    missing: Iterable[Role], now: datetime, swarm_created_at: datetime | None
) -> LeakStart:
    """Return 24 hours ago, or the swarm's creation when that is later."""
    names = " or ".join(str(role) for role in missing)
    # A rotation by another tool has only the time swarmtui first saw its
    # token, which can be later than a leak, so it cannot serve as the start.
    unknown = (
        f"because the audit record has no rotation of the {names} token for this swarm"
    )
    since = _whole_seconds(now - DEFAULT_LEAK_LOOKBACK)
    if swarm_created_at is not None:
        if swarm_created_at.tzinfo is None:
            swarm_created_at = swarm_created_at.replace(tzinfo=UTC)
        if swarm_created_at > since:
            return LeakStart(
                since=_whole_seconds(swarm_created_at),
                source="the swarm's creation, less than 24 hours ago, " + unknown,
            )
    return LeakStart(since=since, source=f"24 hours ago, {unknown}")


def leak_since_for(
    service: TokenService,
    cluster_id: str,
    audit_path: Path | None = None,
    now: datetime | None = None,
    current: Mapping[Role, str] | None = None,
) -> LeakStart:
    """Compute the default leak start for a service, reading its audit file.

    The swarm's creation time is the one the service saw when it last read
    that swarm. An audit file that cannot be read only narrows what is
    known; the reason is logged and the default falls back as described in
    the module.
    """
    events: list[dict[str, Any]] = []
    if audit_path is None:
        audit_path = getattr(service.audit, "path", None)
    if audit_path is not None:
        try:
            events = read_rotation_events(audit_path, cluster_id)
        except SwarmTuiError as error:
            log.warning("audit file not read for the leak start: %s", error)
    return default_leak_since(
        cluster_id,
        known=service.rotated_at,
        audit_events=events,
        now=now,
        swarm_created_at=service.swarm_created_at.get(cluster_id),
        current=current,
    )


def nodes_summary(
    report: LeakReport, manager_mark: str = "", docker_cli: str = "docker"
) -> str:
    """Summarise the nodes that joined since the start, and how many are managers.

    The engine reports each node's current role, not the role it joined
    with, so a worker promoted since counts as a manager and a manager
    demoted since as a worker. `manager_mark` follows the manager count,
    such as " (marked !)" where the list marks managers. `docker_cli` is the
    docker CLI with the options that reach the swarm's engine.
    """
    since = format_utc(report.since, exact=True)
    if report.nodes_error:
        # An engine's own error text may lack a full stop, as in "returned
        # an error (500): boom", and the next sentence follows it.
        error = report.nodes_error.rstrip()
        if not error.endswith((".", "!", "?")):
            error += "."
        return (
            f"The nodes that joined since {since} could not be listed: "
            f"{error} List them with '{docker_cli} node ls'."
        )
    if not report.nodes:
        return f"No node joined since {since}."
    text = f"{len(report.nodes)} node(s) joined since {since}"
    managers = len(report.managers)
    if managers == 1:
        text += f", 1 of them is a manager now{manager_mark}: check each one"
    elif managers:
        text += f", {managers} of them are managers now{manager_mark}: check each one"
    return text + "."
