"""`swarmtui audit`: print the audit record, as a table or as JSON lines.

It reads only the audit file and never connects to an engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from swarmtui.audit import (
    AUDIT_FILE_ENV,
    TailRequest,
    contains_text,
    default_audit_path,
    read_audit,
    read_audit_tail,
)
from swarmtui.cli import HelpFormatter, file_path
from swarmtui.cli.arguments import hide_engine_options, positive_int
from swarmtui.errors import ExitCode
from swarmtui.text import terminal_safe
from swarmtui.timetext import parse_time_or_duration
from swarmtui.tokens import redact

NAME = "audit"
NEEDS_SERVICE = False
EPILOG = """\
exit codes:
  0  the events were listed, or stderr says that none matched
  1  standard output cannot be written
  2  invalid command line, such as a --since time that cannot be read
  7  the audit file cannot be read: a folder, a FIFO, or a read error
"""


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        NAME,
        help="print the audit record of rotations, checks and copies",
        description="Print the events of the audit record, oldest first. The "
        "file is $SWARMTUI_AUDIT_FILE, else the config file's audit_file, else "
        "'audit.jsonl' in the user state folder. No engine is contacted. "
        "Damaged lines are skipped and reported on stderr.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="only events at or after TIME: an ISO 8601 time (UTC unless it "
        "names an offset) or a duration back from now such as 30m, 2h or 7d",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="only the last N events",
    )
    parser.add_argument(
        "--cluster",
        metavar="ID",
        help="only events of the swarm with this cluster ID; a prefix of at "
        "least 4 characters is enough, as the 12-character ID the console shows",
    )
    parser.add_argument(
        "--endpoint",
        metavar="TEXT",
        help="only events whose endpoint contains TEXT, such as a host name, "
        "a socket path or 'demo:'",
    )
    parser.add_argument(
        "--json", action="store_true", help="print each event as one JSON line"
    )
    parser.add_argument(
        "--file",
        type=file_path,
        metavar="PATH",
        help="read this audit file instead of the default one",
    )
    hide_engine_options(parser)
    return NAME


def _fingerprints(event: Mapping[str, Any]) -> str:
    old = event.get("old_fingerprints")
    new = event.get("new_fingerprints")
    parts = []
    if isinstance(new, Mapping):
        for role, value in new.items():
            before = old.get(role, "?") if isinstance(old, Mapping) else "?"
            parts.append(f"{role} {before} -> {value}")
    elif isinstance(old, Mapping):
        parts.extend(f"{role} {value}" for role, value in old.items())
    for key in ("fingerprint", "old_key_fingerprint", "new_key_fingerprint"):
        if event.get(key):
            parts.append(f"{key.replace('_', ' ')} {event[key]}")
    return "; ".join(parts)


def event_columns(event: Mapping[str, Any]) -> list[str]:
    """Return an event's fixed columns: time, user, action, role, result, endpoint.

    Control characters are escaped, because the record quotes engine text
    and environment values such as SSH_CLIENT.
    """
    who = str(event.get("user", "?"))
    if event.get("ssh_client"):
        who += f"@{event['ssh_client']}"
    columns = [
        str(event.get("time", "?")),
        who,
        str(event.get("action", "?")),
        str(event.get("role") or "-"),
        str(event.get("result") or "-"),
        str(event.get("endpoint") or "-"),
    ]
    return [terminal_safe(column) for column in columns]


def event_details(event: Mapping[str, Any]) -> str:
    """Return what follows the fixed columns: fingerprints, counts and errors."""
    parts = []
    if event.get("request"):
        # The action that a declined confirmation did not run.
        parts.append(f"declined {event['request']}")
    parts.append(_fingerprints(event))
    # The tokens or key that a copy, reveal, show or declined rotation was about.
    about = event.get("fingerprints")
    if isinstance(about, Mapping):
        parts.extend(f"{role} {value}" for role, value in about.items())
    if event.get("key_fingerprint"):
        parts.append(f"key {event['key_fingerprint']}")
    details = "; ".join(part for part in parts if part)
    if event.get("token_fingerprint"):
        details += f"; token {event['token_fingerprint']}"
    if event.get("node_id"):
        details += f"; node {str(event['node_id'])[:12]}"
    if event.get("window_id"):
        details += f"; window {event['window_id']}"
    if "until" in event or "max_joins" in event:
        # The limits of a join window as it was opened.
        details += f"; until {event.get('until') or '-'}"
        details += f", max joins {event.get('max_joins') or '-'}"
    if event.get("nodes_joined") is not None:
        details += f"; {event['nodes_joined']} node(s) joined"
        if event.get("since"):
            details += f" since {event['since']}"
        managers = event.get("joined_manager_ids")
        if isinstance(managers, list) and managers:
            # The managers are the nodes to check first after a leak.
            listed = ", ".join(str(node)[:12] for node in managers[:5])
            count = event.get("managers_joined")
            total = count if isinstance(count, int) else len(managers)
            more = f" and {total - 5} more" if total > 5 else ""
            details += f", managers {listed}{more}"
    if event.get("reason"):
        details += f"; reason: {str(event['reason']).rstrip('.')}"
    if event.get("error"):
        details += f"; error: {str(event['error']).rstrip('.')}"
    if event.get("item"):
        # What a copy or a 'show' gave out: the command, the token or JSON.
        details += f"; item: {event['item']}"
    return terminal_safe(details.strip("; "))


# The header of the text listing: the fixed columns, then the details.
HEADER_COLUMNS = ("TIME (UTC)", "USER", "ACTION", "ROLE", "RESULT", "ENDPOINT")
HEADER_DETAILS = "DETAILS"


def render_line(event: Mapping[str, Any], widths: Sequence[int] = ()) -> str:
    """Write one event as a readable line, its columns padded to `widths` cells."""
    return _padded_line(event_columns(event), event_details(event), widths)


def render_header(widths: Sequence[int] = ()) -> str:
    """Write the header line of the listing, its columns padded to `widths`."""
    return _padded_line(list(HEADER_COLUMNS), HEADER_DETAILS, widths)


def _padded_line(columns: list[str], details: str, widths: Sequence[int]) -> str:
    from rich.cells import cell_len

    padded = [
        column + " " * (width - cell_len(column))
        for column, width in zip(columns, widths, strict=False)
    ]
    line = "  ".join(padded + columns[len(padded) :])
    if details:
        line = f"{line}  {details}"
    return line.rstrip()


def column_widths(events: Iterable[Mapping[str, Any]]) -> list[int]:
    """Return the width in terminal cells of each fixed column over `events`.

    The header's names count too. A cell count, not a character count, so
    that wide characters such as CJK and combining accents keep the columns
    lined up.
    """
    from rich.cells import cell_len

    widths = [cell_len(column) for column in HEADER_COLUMNS]
    for event in events:
        columns = event_columns(event)
        widths = [
            max(width, min(cell_len(column), MAX_COLUMN_WIDTH))
            for width, column in zip(widths, columns, strict=True)
        ]
    return widths


# The widest that a column is padded to. A longer value, such as the
# endpoint of a hand-edited line, runs past its column on its own line
# instead of padding every other line to its width.
MAX_COLUMN_WIDTH = 60


def event_matches(
    event: Mapping[str, Any], cluster: str | None, endpoint: str | None
) -> bool:
    """Tell whether an event is of a cluster (ID prefix) and an endpoint (substring)."""
    if cluster and not str(event.get("cluster_id") or "").startswith(cluster):
        return False
    return not endpoint or endpoint in str(event.get("endpoint") or "")


def run(args: argparse.Namespace, service: object = None) -> int:
    if not args.file:
        from swarmtui.cli import config_settings

        # The config file names the audit file, so its errors matter here too.
        config_settings(args)
    path = args.file or default_audit_path(config_path=getattr(args, "config", None))
    since = None
    if args.since is not None:
        since = parse_time_or_duration(args.since, strict=True)
    cluster = (args.cluster or "").strip()
    if args.cluster is not None and len(cluster) < 4:
        print(
            f"swarmtui: --cluster {args.cluster!r} is too short; give at least 4 "
            "characters of the cluster ID.",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    filtered = bool(cluster or args.endpoint)
    other_file = (
        "Or pass another file to --file."
        if args.file
        else f"Or point {AUDIT_FILE_ENV} at another file."
    )

    def matches(event: Mapping[str, Any]) -> bool:
        return event_matches(event, cluster, args.endpoint)

    if args.limit is not None:
        # The last events are read from the end of the file back, and a line
        # without the text of a filter is not parsed.
        marks = [contains_text(text) for text in (cluster, args.endpoint) if text]
        request = TailRequest(
            matches,
            args.limit,
            (lambda raw: all(mark(raw) for mark in marks)) if marks else None,
        )
        reading = read_audit_tail(path, [request], since, other_file)
    else:
        reading = read_audit(path, since, other_file=other_file)
        if filtered:
            reading.events = [event for event in reading.events if matches(event)]
    # A path may hold control characters, which are escaped for the terminal.
    shown_path = terminal_safe(str(path))
    if reading.missing and args.file:
        print(
            redact(
                f"swarmtui: file error: the audit file {shown_path} given with --file "
                "does not exist. Check the path, or leave out --file to read the "
                "default record."
            ),
            file=sys.stderr,
        )
        return ExitCode.FILE_ERROR
    if reading.missing:
        print(
            redact(
                f"swarmtui: no audit record yet at {shown_path}; it is created by the "
                "first rotation, check or copy."
            ),
            file=sys.stderr,
        )
    if not reading.missing and not reading.events:
        text = f"swarmtui: no audit event in {shown_path} matches the options given."
        if not filtered and since is None:
            text = f"swarmtui: the audit file {shown_path} has no events yet."
        print(redact(text), file=sys.stderr)
    widths = [] if args.json else column_widths(reading.events)
    if reading.events and not args.json:
        print(render_header(widths))
    for event in reading.events:
        if args.json:
            # ensure_ascii escapes every control, bidi and non-ASCII
            # character as \uXXXX, so a line is safe on a terminal and a
            # JSON parser still reads back the exact value.
            print(json.dumps(event, ensure_ascii=True))
        else:
            print(render_line(event, widths))
    if reading.damaged_lines:
        numbers = ", ".join(str(number) for number in reading.damaged_lines[:20])
        more = " and more" if len(reading.damaged_lines) > 20 else ""
        where = "in" if reading.complete else "in the lines read from the end of"
        print(
            redact(
                f"swarmtui: skipped {len(reading.damaged_lines)} damaged line(s) "
                f"{where} {shown_path}: line {numbers}{more}."
            ),
            file=sys.stderr,
        )
    return ExitCode.OK
