"""Reading the newest audit events from the end of the file back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tui_polish import make_app, settle
from textual.widgets import DataTable, Static
from tui_support import demo_backend

from swarmtui import audit as audit_module
from swarmtui.audit import (
    AuditLog,
    TailRequest,
    _LinesBackward,
    contains_text,
    read_audit,
    read_audit_tail,
)
from swarmtui.cli import main
from swarmtui.service import TokenService
from swarmtui.tui.audit_screen import AUDIT_SCREEN_LIMIT, AuditScreen


def event_line(number: int, cluster: str) -> str:
    return json.dumps(
        {
            "time": f"2026-12-0{1 + number % 5}T00:00:00Z",
            "action": "copy",
            "n": number,
            "cluster_id": cluster,
        }
    )


# A line of the audit file: an event of cluster a or b, a damaged line, or
# a blank one.
LINES = st.one_of(
    st.builds(event_line, st.integers(0, 99), st.sampled_from(["aaaa", "bbbb"])),
    st.sampled_from(["{damaged", "", "   ", '"not an object"']),
)


def of_cluster_a(event: dict[str, Any]) -> bool:
    return event.get("cluster_id") == "aaaa"


def any_event(event: dict[str, Any]) -> bool:
    return True


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(LINES, max_size=14),
    ending=st.sampled_from(["", "\n", "\n\n"]),
    block_size=st.sampled_from([1, 2, 3, 7, 64, 1 << 16]),
    count=st.integers(0, 9),
    only_a=st.booleans(),
    prefilter=st.booleans(),
    since_day=st.sampled_from([None, 3]),
)
def test_tail_matches_forward_reading(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    ending: str,
    block_size: int,
    count: int,
    only_a: bool,
    prefilter: bool,
    since_day: int | None,
) -> None:
    path = tmp_path_factory.mktemp("tail") / "audit.jsonl"
    path.write_text("\n".join(lines) + ending, encoding="utf-8")
    since = None if since_day is None else datetime(2026, 12, since_day, tzinfo=UTC)
    accepts = of_cluster_a if only_a else any_event
    may_match = contains_text("aaaa") if only_a and prefilter else None
    forward = read_audit(path, since)
    expected = [event for event in forward.events if accepts(event)]
    expected = expected[max(0, len(expected) - count) :]

    original = _LinesBackward.BLOCK_SIZE
    _LinesBackward.BLOCK_SIZE = block_size
    try:
        tail = read_audit_tail(path, [TailRequest(accepts, count, may_match)], since)
    finally:
        _LinesBackward.BLOCK_SIZE = original

    assert tail.events == expected
    if may_match is not None:
        # Damaged lines without the cluster's text are not parsed.
        assert set(tail.damaged_lines) <= set(forward.damaged_lines)
    elif tail.complete:
        assert tail.damaged_lines == forward.damaged_lines
    else:
        # Only the damaged lines of the part read, with their true numbers.
        found = len(tail.damaged_lines)
        assert (
            tail.damaged_lines
            == forward.damaged_lines[len(forward.damaged_lines) - found :]
        )


def test_tail_stops_once_counts_met(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = ["{damaged at the start"]
    lines += [event_line(number, "bbbb") for number in range(5000)]
    lines += ["{damaged near the end", event_line(1, "aaaa"), event_line(2, "bbbb")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    tail = read_audit_tail(path, [TailRequest(any_event, 2)])
    assert [event["n"] for event in tail.events] == [1, 2]
    assert not tail.complete
    assert tail.damaged_lines == []

    tail = read_audit_tail(path, [TailRequest(any_event, 3)])
    assert [event["n"] for event in tail.events] == [4999, 1, 2]
    assert not tail.complete
    assert tail.damaged_lines == [5002]

    # Cluster aaaa has one event: looking for two reads the whole file.
    tail = read_audit_tail(path, [TailRequest(of_cluster_a, 2)])
    assert [event["cluster_id"] for event in tail.events] == ["aaaa"]
    assert tail.complete
    assert tail.damaged_lines == [1, 5002]


def test_tail_keeps_events_of_each_test(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [event_line(number, "aaaa") for number in range(3)]
    lines += [event_line(number, "bbbb") for number in range(10, 20)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    tail = read_audit_tail(
        path, [TailRequest(any_event, 2), TailRequest(of_cluster_a, 2)]
    )
    assert [(event["cluster_id"], event["n"]) for event in tail.events] == [
        ("aaaa", 1),
        ("aaaa", 2),
        ("bbbb", 18),
        ("bbbb", 19),
    ]


def test_tail_skips_lines_without_filter_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [event_line(1, "aaaa")]
    lines += [event_line(number, "bbbb") for number in range(100)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed: list[bytes] = []
    parse = audit_module._parse_line

    def counting(raw: bytes) -> Any:
        parsed.append(raw)
        return parse(raw)

    monkeypatch.setattr(audit_module, "_parse_line", counting)
    requests = [
        TailRequest(any_event, 2),
        TailRequest(of_cluster_a, 1, contains_text("aaaa")),
    ]

    tail = read_audit_tail(path, requests)

    assert [event["cluster_id"] for event in tail.events] == ["aaaa", "bbbb", "bbbb"]
    # The last two lines for the first request, then the cluster's line only.
    assert len(parsed) == 3


def test_tail_of_a_missing_file(tmp_path: Path) -> None:
    tail = read_audit_tail(tmp_path / "missing.jsonl", [TailRequest(any_event, 5)])
    assert tail.missing
    assert tail.events == []


def test_cli_limit_names_damaged_lines_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    lines = ["{damaged at the start"]
    lines += [event_line(number, "bbbb") for number in range(50)]
    lines += ["{damaged near the end", event_line(7, "aaaa")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert main(["audit", "--file", str(path), "--limit", "2"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert (
        f"skipped 1 damaged line(s) in the lines read from the end of {path}: "
        "line 52." in captured.err
    )

    assert main(["audit", "--file", str(path)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 52
    assert f"skipped 2 damaged line(s) in {path}: line 1, 52." in captured.err

    # A filter with a limit reads back until it has enough matching events,
    # and parses only the lines with its text, so no damaged line is seen.
    assert (
        main(["audit", "--file", str(path), "--cluster", "aaaa", "--limit", "5"]) == 0
    )
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert captured.err == ""


async def test_audit_view_swarm_events_behind_others(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    audit = AuditLog(audit_path, environment={})
    app = make_app(TokenService(demo_backend(tmp_path), audit=audit), tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("w", "r")
        await settle(app, pilot)
        # Another swarm's events follow, more than the view lists.
        with audit_path.open("a", encoding="utf-8") as handle:
            for number in range(AUDIT_SCREEN_LIMIT + 50):
                handle.write(event_line(number, "zzzz9999other") + "\n")
        await pilot.press("l")
        await settle(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one("#audit-table", DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[2]) == "rotate"
        await pilot.press("f")
        await settle(app, pilot)
        assert table.row_count == AUDIT_SCREEN_LIMIT
        assert all(
            str(table.get_row_at(row)[1]) == "zzzz9999othe"
            for row in range(table.row_count)
        )
        status = str(app.screen.query_one("#audit-status", Static).content)
        assert status.startswith(f"{AUDIT_SCREEN_LIMIT} latest event(s) of every swarm")


def test_tail_of_file_without_size() -> None:
    # /proc files report a size of 0 and have text all the same.
    path = Path("/proc/self/status")
    forward = read_audit(path)

    tail = read_audit_tail(path, [TailRequest(any_event, 3)])

    assert tail.complete
    assert forward.damaged_lines
    assert len(tail.damaged_lines) == len(forward.damaged_lines)


def test_last_of_each_request() -> None:
    from swarmtui.audit import AuditReading, _last_of_each

    events = [
        {"n": number, "cluster_id": "aaaa" if number < 3 else "bbbb"}
        for number in range(8)
    ]
    reading = AuditReading(path=Path("x"), events=list(events))

    selected = _last_of_each(
        reading, [TailRequest(any_event, 2), TailRequest(of_cluster_a, 2)]
    )

    assert [event["n"] for event in selected.events] == [1, 2, 6, 7]
