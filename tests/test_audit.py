"""The audit record: format, file mode, redaction, damaged lines, failures."""

from __future__ import annotations

import errno
import json
import os
import pwd
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tui_support import DelegatingBackend, RecordingAudit

from swarmtui.audit import (
    REPLACED,
    AuditLog,
    default_audit_path,
    last_rotations,
    read_audit,
    read_rotation_events,
    ssh_client_address,
    token_issued_at,
    token_retired_at,
)
from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.backends.demo import DemoBackend
from swarmtui.cli import main
from swarmtui.errors import (
    AuditReadError,
    AuditWriteError,
    EngineError,
    JoinRejectedError,
    SwarmTuiError,
)
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tokens import ca_digest, make_token, parse_token

PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def secret_of(token: str) -> str:
    return parse_token(token).secret


@pytest.fixture
def demo_service(tmp_path: Path) -> tuple[TokenService, AuditLog]:
    audit = AuditLog(tmp_path / "state" / "audit.jsonl", environment={})
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=11)
    return TokenService(backend, audit=audit), audit


def test_audit_file_mode_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "audit.jsonl"
    audit = AuditLog(path, environment={"SSH_CLIENT": "192.0.2.7 51000 22"})
    audit.record("rotate", endpoint="unix:///x.sock", cluster_id="c1", role="worker")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600
    events = read_audit(path).events
    assert len(events) == 1
    event = events[0]
    assert event["action"] == "rotate"
    assert event["ssh_client"] == "192.0.2.7"
    assert event["cluster_id"] == "c1"
    assert event["user"]
    assert event["time"].endswith("Z")


def test_audit_user_ignores_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "someone-else")
    path = tmp_path / "audit.jsonl"

    AuditLog(path, environment={}).record("show", role="worker")

    user = read_audit(path).events[0]["user"]
    assert user == pwd.getpwuid(os.getuid()).pw_name


def test_audit_user_without_passwd_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.setenv("USER", "someone-else")
    path = tmp_path / "audit.jsonl"

    AuditLog(path, environment={}).record("show", role="worker")

    assert read_audit(path).events[0]["user"] == f"uid:{os.getuid()}"


def test_audit_never_writes_token(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    token = make_token(ca_digest(PEM))
    damaged = token[:-3] + "-ab"
    audit = AuditLog(path, environment={})
    audit.record(
        "check-token",
        note=f"pasted {token} here",
        nested={"list": [token, {"deep": damaged}]},
        **{f"key {token}": "value"},
    )
    text = path.read_text()
    assert secret_of(token) not in text
    assert token[-10:] not in text
    assert "SWMTKN" not in text.replace("<token fp:", "")


def test_audit_replaces_value_still_token_like(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import swarmtui.audit as audit_module

    # If redaction missed a token, the value must still be replaced whole.
    monkeypatch.setattr(audit_module, "redact", lambda text: text)
    token = make_token(ca_digest(PEM))
    event = AuditLog(tmp_path / "audit.jsonl", environment={}).event(
        "x", note=f"see {token}"
    )
    assert event["note"] == REPLACED


def test_audit_never_writes_unlock_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    key = "SWMKEY-1-7c37Cc8654o6p38HnroywCi19pllOnGtbdZEgtKxZu8"
    AuditLog(path, environment={}).record("x", detail=f"key {key}")
    text = path.read_text()
    assert "7c37Cc8654o6p38HnroywCi19" not in text
    assert "kfp:" in text


def test_audit_write_failure_is_kept(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    audit = AuditLog(blocker / "audit.jsonl", environment={})
    with pytest.raises(AuditWriteError) as caught:
        audit.record("rotate")
    assert str(blocker) in caught.value.message

    backend = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    service = TokenService(backend, audit=audit)
    seen: list[AuditWriteError] = []
    service.on_audit_error = seen.append
    result = service.rotate([Role.WORKER])
    assert result.after.worker_fingerprint != result.before.worker_fingerprint
    assert len(service.audit_failures) == 1
    assert seen == service.audit_failures
    assert "rotate" in service.audit_failures[0].message


def test_read_audit_skips_damaged_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, environment={})
    audit.record("first")
    with path.open("a") as handle:
        handle.write("{not json\n")
        handle.write('{"action": "no time"}\n')
        handle.write("\n")
        handle.write("[" * 200_000 + "]" * 200_000 + "\n")
        handle.write('{"time": ' + "9" * 5000 + "}\n")
    audit.record("second")
    reading = read_audit(path)
    assert [event["action"] for event in reading.events] == ["first", "second"]
    assert reading.damaged_lines == [2, 3, 5, 6]


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:00-01:00"]
)
def test_audit_time_outside_utc_damaged(tmp_path: Path, moment: str) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [
        {"time": "2026-12-05T10:00:00Z", "action": "copy"},
        {
            "time": moment,
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"worker": "fp:w", "manager": "fp:m"},
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    reading = read_audit(path)

    assert [event["action"] for event in reading.events] == ["copy"]
    assert reading.damaged_lines == [2]


def test_event_times_turned_into_utc() -> None:
    events = [
        {
            "time": "0001-01-01T00:30:00-01:00",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"worker": "fp:w"},
        }
    ]

    found = last_rotations(events, "c1")

    assert found["worker"] == datetime(1, 1, 1, 1, 30, tzinfo=UTC)
    assert found["worker"].tzinfo is UTC


HAND_EDITED_TIMES = [
    ("2026-12-05T10:00:00+02:00", "2026-12-05T08:00:00Z"),
    ("2026-12-05T09:30:00", "2026-12-05T09:30:00Z"),
    ("2026-12-05T11:00:00.250-01:00", "2026-12-05T12:00:00Z"),
    ("2026-12-05T12:30:00Z", "2026-12-05T12:30:00Z"),
]


def write_hand_edited(path: Path) -> None:
    lines = [{"time": stored, "action": "copy"} for stored, _ in HAND_EDITED_TIMES]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_read_audit_times_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_hand_edited(path)

    reading = read_audit(path)

    assert reading.damaged_lines == []
    times = [event["time"] for event in reading.events]
    assert times == [shown for _, shown in HAND_EDITED_TIMES]


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_audit_prints_utc_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    path = tmp_path / "audit.jsonl"
    write_hand_edited(path)

    code = main(["audit", "--file", str(path), *(["--json"] if as_json else [])])

    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    if as_json:
        times = [json.loads(line)["time"] for line in lines]
    else:
        assert lines[0].startswith("TIME (UTC)  ")
        times = [line.split()[0] for line in lines[1:]]
    assert times == [shown for _, shown in HAND_EDITED_TIMES]


def test_cli_audit_since_zoneless_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    write_hand_edited(path)

    code = main(["audit", "--file", str(path), "--since", "2026-12-05T09:30:00"])

    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    times = [line.split()[0] for line in lines[1:]]
    assert times == [
        "2026-12-05T09:30:00Z",
        "2026-12-05T12:00:00Z",
        "2026-12-05T12:30:00Z",
    ]


def test_cli_audit_json_escapes_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ESC, a C1 CSI and a right-to-left override, which a terminal acts on.
    endpoint = "unix:///a\x1b]0;X\x07b\x9bc\u202ed.sock"
    path = tmp_path / "audit.jsonl"
    event = {"time": "2026-12-05T10:00:00Z", "action": "show", "endpoint": endpoint}
    path.write_text(json.dumps(event, ensure_ascii=False) + "\n", encoding="utf-8")

    code = main(["audit", "--json", "--file", str(path)])

    assert code == 0
    output = capsys.readouterr().out
    assert output.isascii()
    assert "\\u001b]0;X\\u0007" in output
    assert "\\u009b" in output
    assert "\\u202e" in output
    assert json.loads(output)["endpoint"] == endpoint


def test_read_audit_redacts_foreign_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = make_token(ca_digest(PEM))
    secret = secret_of(token)
    unlock_key = "SWMKEY-1-" + "A" * 43
    folded = "\u017fwm\u212aey-1-" + "B" * 43
    digest, secret = token.rsplit("-", 1)
    broken = f"{digest}\u2010{secret}"
    underscored = f"x_{token.removeprefix('SWMTKN-1-')}_y"
    path = tmp_path / "audit.jsonl"
    lines = [
        {"time": "2026-12-05T10:00:00Z", "action": "rotate", "user": token},
        {"time": "2026-12-05T10:01:00Z", "action": "rotate", "error": f"boom {token}"},
        {"time": "2026-12-05T10:02:00Z", "action": "x", "nested": {token: [token]}},
        {"time": "2026-12-05T10:03:00Z", "action": "body", "note": token[9:]},
        {"time": "2026-12-05T10:04:00Z", "action": "key", "note": unlock_key},
        # The long s and the Kelvin sign match s and k case-insensitively.
        {"time": "2026-12-05T10:04:30Z", "action": "folded", "note": folded},
        {"time": "2026-12-05T10:04:40Z", "action": "broken", "note": broken},
        {"time": "2026-12-05T10:04:50Z", "action": "underscored", "note": underscored},
    ]
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    assert "\u017f" in text
    # JSON escapes hide the token's letters from a search of the raw line.
    escaped = json.dumps(token).replace("S", "\\u0053").replace("-", "\\u002d")
    text += (
        f'{{"time": "2026-12-05T10:05:00Z", "action": "escaped", "note": {escaped}}}\n'
    )
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)

    reading = read_audit(path)
    actions = [event["action"] for event in reading.events]
    assert actions == [
        "rotate",
        "rotate",
        "x",
        "body",
        "key",
        "folded",
        "broken",
        "underscored",
        "escaped",
    ]
    assert secret not in json.dumps(reading.events)
    assert unlock_key not in json.dumps(reading.events)
    assert "<token fp:" in reading.events[0]["user"]
    assert reading.events[3]["note"].startswith("<token fp:")
    assert reading.events[4]["note"].startswith("<unlock key kfp:")
    assert reading.events[5]["note"].startswith("<unlock key kfp:")
    assert reading.events[6]["note"].startswith("<token fp:")
    assert reading.events[7]["note"].startswith("x_<token fp:")
    assert reading.events[8]["note"].startswith("<token fp:")

    for arguments in (["audit"], ["audit", "--json"]):
        assert main([*arguments, "--file", str(path)]) == 0
        output = capsys.readouterr()
        assert secret not in output.out
        assert secret not in output.err
        assert "<token fp:" in output.out


def test_read_audit_path_through_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")

    with pytest.raises(AuditReadError) as caught:
        read_audit(blocker / "audit.jsonl")

    assert f"({blocker} is a file, not a folder)" in caught.value.message
    assert "permissions" not in str(caught.value)


@pytest.mark.skipif(
    not Path("/proc/self/mem").exists(), reason="needs Linux /proc/self/mem"
)
def test_read_audit_io_error() -> None:
    with pytest.raises(AuditReadError) as caught:
        read_audit("/proc/self/mem")

    assert caught.value.message == (
        "The audit file /proc/self/mem could not be read (input/output error)."
    )
    assert caught.value.exit_code == 7


def test_read_audit_since_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = [
        {"time": "2026-01-01T00:00:00Z", "action": "a"},
        {"time": "2026-01-02T00:00:00Z", "action": "b"},
        {"time": "2026-01-03T00:00:00Z", "action": "c"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    since = datetime(2026, 1, 2, tzinfo=UTC)
    assert [e["action"] for e in read_audit(path, since=since).events] == ["b", "c"]
    assert [e["action"] for e in read_audit(path, limit=1).events] == ["c"]
    assert read_audit(tmp_path / "missing.jsonl").missing


def test_service_rotation_audited_without_tokens(
    demo_service: tuple[TokenService, AuditLog],
) -> None:
    service, audit = demo_service
    before = service.read()
    result = service.rotate([Role.WORKER, Role.MANAGER])
    text = audit.path.read_text()
    for view in (before, result.after):
        for role in Role:
            assert secret_of(view.token(role)) not in text
    event = read_audit(audit.path).events[-1]
    assert event["action"] == "rotate"
    assert event["result"] == "ok"
    assert event["role"] == "manager+worker"
    assert event["old_fingerprints"]["worker"] == before.worker_fingerprint
    assert event["new_fingerprints"]["manager"] == result.after.manager_fingerprint


def test_last_rotations_per_role() -> None:
    events = [
        {
            "time": "2026-01-01T00:00:00Z",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"worker": "fp:a", "manager": "fp:b"},
        },
        {
            "time": "2026-01-05T00:00:00Z",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"worker": "fp:c"},
        },
        {
            "time": "2026-01-06T00:00:00Z",
            "action": "rotate",
            "result": "failed",
            "cluster_id": "c1",
            "new_fingerprints": {"manager": "fp:d"},
        },
        {
            "time": "2026-01-07T00:00:00Z",
            "action": "rotate",
            "result": "ok",
            "cluster_id": "other",
            "new_fingerprints": {"manager": "fp:e"},
        },
    ]
    found = last_rotations(events, "c1")
    assert found["worker"] == datetime(2026, 1, 5, tzinfo=UTC)
    assert found["manager"] == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "action", ["rotate", "rotate-checked-token", "leak-response", "join-window-close"]
)
def test_token_issue_time_per_action(action: str) -> None:
    events = [
        {
            "time": "2026-01-02T03:04:05Z",
            "action": action,
            "result": "ok",
            "cluster_id": "c1",
            "new_fingerprints": {"manager": "fp:m"},
        }
    ]

    issued = token_issued_at(events, "c1", "manager", "fp:m")

    assert issued == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_token_retire_time_from_old_fingerprints() -> None:
    rotation = {
        "action": "rotate",
        "cluster_id": "c1",
        "old_fingerprints": {"worker": "fp:w"},
    }
    events = [
        {**rotation, "time": "2026-01-02T03:04:05Z", "result": "failed"},
        {**rotation, "time": "2026-01-02T03:05:00Z", "result": "ok"},
        {**rotation, "time": "2026-01-03T00:00:00Z", "result": "ok"},
        {
            **rotation,
            "time": "2026-01-01T00:00:00Z",
            "result": "ok",
            "cluster_id": "c2",
        },
    ]

    retired = token_retired_at(events, "c1", "worker", "fp:w")

    assert retired == datetime(2026, 1, 2, 3, 5, tzinfo=UTC)
    assert token_retired_at(events, "c1", "manager", "fp:w") is None


@pytest.mark.parametrize(
    ("outcome", "counted"), [("took-effect", True), ("not-rotated", False)]
)
def test_settled_rotation_dated_by_rotation(outcome: str, counted: bool) -> None:
    events = [
        {
            "time": "2026-01-02T03:00:00Z",
            "action": "rotate",
            "result": "unknown",
            "cluster_id": "c1",
            "old_fingerprints": {"worker": "fp:a"},
        },
        {
            "time": "2026-01-02T05:00:00Z",
            "action": "rotate-outcome",
            "result": outcome,
            "cluster_id": "c1",
            "old_fingerprints": {"worker": "fp:a"},
            "new_fingerprints": {"worker": "fp:b"},
        },
    ]
    rotated = datetime(2026, 1, 2, 3, 0, tzinfo=UTC) if counted else None

    assert token_issued_at(events, "c1", "worker", "fp:b") == rotated
    assert token_retired_at(events, "c1", "worker", "fp:a") == rotated
    assert token_issued_at(events, "c2", "worker", "fp:b") is None


def test_settled_rotation_alone_uses_own_time() -> None:
    events = [
        {
            "time": "2026-01-02T05:00:00Z",
            "action": "rotate-outcome",
            "result": "took-effect",
            "cluster_id": "c1",
            "old_fingerprints": {"worker": "fp:a"},
            "new_fingerprints": {"worker": "fp:b"},
        },
    ]

    issued = token_issued_at(events, "c1", "worker", "fp:b")

    assert issued == datetime(2026, 1, 2, 5, 0, tzinfo=UTC)


def test_default_audit_path_env(tmp_path: Path) -> None:
    target = tmp_path / "custom.jsonl"
    assert default_audit_path({"SWARMTUI_AUDIT_FILE": str(target)}) == target
    assert default_audit_path({}).name == "audit.jsonl"


def test_audit_path_folder_with_slash(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    from_env = default_audit_path({"SWARMTUI_AUDIT_FILE": f"{folder}/"})
    config = tmp_path / "config.toml"
    config.write_text(f'audit_file = "{folder}/"\n')
    from_config = default_audit_path({}, config_path=config)

    assert from_env == folder / "audit.jsonl"
    assert from_config == folder / "audit.jsonl"


def test_audit_path_with_nul_ignored(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('audit_file = "/tmp/a\\u0000b"\n')

    path = default_audit_path({}, config_path=config)

    assert "\0" not in str(path)
    assert path.name == "audit.jsonl"


def test_ssh_client_address_sources() -> None:
    assert ssh_client_address({}) is None
    assert ssh_client_address({"SSH_CONNECTION": "::1 5 ::1 22"}) == "::1"
    assert ssh_client_address({"SSH_CLIENT": "10.0.0.9 5 22"}) == "10.0.0.9"


def test_audit_appends_one_line_per_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, environment={})
    for index in range(5):
        audit.record("copy", index=index, since=datetime.now(UTC) - timedelta(1))
    lines = path.read_text().splitlines()
    assert len(lines) == 5
    assert [json.loads(line)["index"] for line in lines] == [0, 1, 2, 3, 4]


def test_default_audit_path_from_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    target = tmp_path / "from-config.jsonl"
    config.write_text(f'audit_file = "{target}"\n')
    assert default_audit_path({}, config_path=config) == target
    override = tmp_path / "env.jsonl"
    environment = {"SWARMTUI_AUDIT_FILE": str(override)}
    assert default_audit_path(environment, config_path=config) == override
    config.write_text("audit_file = 5\n")
    assert default_audit_path({}, config_path=config).name == "audit.jsonl"


def test_demo_join_audited_with_cluster(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", environment={})
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    service = TokenService(backend, audit=audit)
    view = service.read()
    old_worker = view.worker_token
    service.rotate([Role.WORKER])

    node = service.try_join(view.manager_token, "audited-node")
    with pytest.raises(JoinRejectedError):
        service.try_join(old_worker, "stale-node")
    with pytest.raises(JoinRejectedError):
        service.try_join("not a token", "bad-node")

    joins = [
        event
        for event in read_audit(audit.path).events
        if event["action"] == "demo-join"
    ]
    assert [event["result"] for event in joins] == ["ok", "rejected", "rejected"]
    for event in joins:
        assert event["cluster_id"] == view.cluster_id
    assert joins[0]["role"] == "manager"
    assert joins[0]["node_id"] == node.id
    assert joins[0]["token_fingerprint"] == view.manager_fingerprint
    assert joins[1]["token_fingerprint"] == view.worker_fingerprint
    assert "token_fingerprint" not in joins[2]
    text = audit.path.read_text()
    for token in (view.manager_token, old_worker):
        assert secret_of(token) not in text


def test_join_token_output_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit_file = tmp_path / "audit.jsonl"
    state = tmp_path / "demo.toml"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(audit_file))
    for options in ([], ["-q"], ["--json"]):
        demo = ["--demo", "--demo-state", str(state), "--demo-seed", "5"]
        assert main([*demo, "join-token", *options, "manager"]) == 0

    view = TokenService(DemoBackend(path=state, seed=5)).read()
    events = read_audit(audit_file).events
    assert [event["action"] for event in events] == ["show", "show", "show"]
    assert [event["item"] for event in events] == ["command", "token", "json"]
    for event in events:
        assert event["role"] == "manager"
        assert event["fingerprints"] == {"manager": view.manager_fingerprint}
    assert secret_of(view.manager_token) not in audit_file.read_text()


def test_audit_folder_in_place_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "audit.jsonl"
    folder.mkdir()
    audit = AuditLog(folder, environment={})

    with pytest.raises(AuditWriteError) as caught:
        audit.record("copy")

    assert "the copy action went ahead but was not recorded" in caught.value.message
    assert f"({folder} is a folder)" in caught.value.message
    assert f"Move the folder {folder} away." in caught.value.hint
    assert "SWARMTUI_AUDIT_FILE" in caught.value.hint


def test_audit_path_through_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    audit = AuditLog(blocker / "audit.jsonl", environment={})

    with pytest.raises(AuditWriteError) as caught:
        audit.record("copy")

    assert f"({blocker} is a file, not a folder)" in caught.value.message
    assert "File exists" not in str(caught.value)
    assert f"Move {blocker} away" in caught.value.hint


class UpdateFailing(DelegatingBackend):
    """Raises `error` from update_swarm without touching the swarm."""

    def __init__(self, inner: Any, error: BaseException) -> None:
        super().__init__(inner)
        self.error = error

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        raise self.error


def test_failed_rotation_record_names_cluster(tmp_path: Path) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    error = EngineError("The update failed.", "Retry.")
    audit = RecordingAudit()
    service = TokenService(UpdateFailing(inner, error), audit=audit)
    cluster_id = TokenService(inner).read().cluster_id

    with pytest.raises(EngineError):
        service.rotate([Role.WORKER])

    action, fields = audit.events[-1]
    assert action == "rotate"
    assert fields["result"] == "failed"
    assert fields["cluster_id"] == cluster_id
    assert set(fields["old_fingerprints"]) == {"worker"}


def test_interrupted_rotation_recorded_unknown(tmp_path: Path) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    audit = RecordingAudit()
    service = TokenService(UpdateFailing(inner, KeyboardInterrupt()), audit=audit)

    with pytest.raises(KeyboardInterrupt):
        service.rotate([Role.MANAGER])

    action, fields = audit.events[-1]
    assert action == "rotate"
    assert fields["result"] == "unknown"
    assert fields["error"] == "Interrupted"
    assert fields["cluster_id"] is not None


class InterruptedReads(UpdateFailing):
    """Rejects the update as out of sequence; reads after it are interrupted."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner, UpdateOutOfSequence())
        self.updates = 0

    def update_swarm(self, version: int, spec: dict[str, Any], **flags: bool) -> None:
        self.updates += 1
        super().update_swarm(version, spec, **flags)

    def inspect_swarm(self) -> Any:
        if self.updates:
            raise KeyboardInterrupt
        return super().inspect_swarm()


def test_interrupt_after_rejected_update_failed(tmp_path: Path) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    audit = RecordingAudit()
    backend = InterruptedReads(inner)
    service = TokenService(backend, audit=audit)

    with pytest.raises(KeyboardInterrupt):
        service.rotate([Role.WORKER])

    assert backend.updates == 1
    action, fields = audit.events[-1]
    assert action == "rotate"
    assert fields["result"] == "failed"
    assert fields["error"] == "Interrupted"
    assert not service.interrupted_during_update


def test_interrupt_before_update_failed(tmp_path: Path) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    audit = RecordingAudit()
    backend = UpdateFailing(inner, AssertionError("no update may be sent"))
    service = TokenService(backend, audit=audit)
    seen = service.read()
    TokenService(inner).rotate([Role.MANAGER])

    def interrupted_read() -> Any:
        raise KeyboardInterrupt

    # The swarm moved on since `seen`, so the service reads it again for the
    # conflict, and the interrupt comes before any update.
    service.read = interrupted_read  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        service.rotate([Role.WORKER], expected=seen)

    action, fields = audit.events[-1]
    assert action == "rotate"
    assert fields["result"] == "failed"
    assert fields["error"] == "Interrupted"
    assert not service.interrupted_during_update


def test_interrupted_leak_response_recorded(tmp_path: Path) -> None:
    inner = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    audit = RecordingAudit()
    service = TokenService(UpdateFailing(inner, KeyboardInterrupt()), audit=audit)
    since = datetime.now(UTC) - timedelta(hours=1)

    with pytest.raises(KeyboardInterrupt):
        service.respond_to_leak(since)

    action, fields = audit.events[-1]
    assert action == "leak-response"
    assert fields["result"] == "unknown"
    assert fields["role"] == "manager+worker"
    assert "since" in fields


def test_cli_interrupted_rotation_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from swarmtui import cli

    audit_file = tmp_path / "audit.jsonl"
    monkeypatch.setenv("SWARMTUI_AUDIT_FILE", str(audit_file))
    build = cli.make_service

    def interrupted_service(args: Any) -> TokenService:
        service: TokenService = build(args)
        service.backend = UpdateFailing(service.backend, KeyboardInterrupt())
        return service

    monkeypatch.setattr(cli, "make_service", interrupted_service)
    demo = ["--demo", "--demo-state", str(tmp_path / "demo.toml")]

    assert main([*demo, "join-token", "--rotate", "worker"]) == 130

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "interrupted during a rotation" in captured.err
    assert "swarmtui --demo --demo-state" in captured.err
    assert "join-token --json worker' (or manager) shows another one" in captured.err
    assert "audit --limit 1')" in captured.err
    events = read_audit(audit_file).events
    assert events[-1]["action"] == "rotate"
    assert events[-1]["result"] == "unknown"
    before = events[-1]["old_fingerprints"]["worker"]

    assert main(["audit", "--limit", "1"]) == 0
    assert f"worker {before}" in capsys.readouterr().out


def test_cut_short_write_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, environment={})
    audit.record("copy", role="worker")
    before = path.read_bytes()
    real_write = os.write

    calls = []

    def full_disk(descriptor: int, data: bytes) -> int:
        # As on a full disk: part of the data, then ENOSPC.
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(descriptor, bytes(data[: len(data) // 2]))

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(AuditWriteError) as caught:
        audit.record("rotate", role="worker")
    monkeypatch.setattr(os, "write", real_write)

    assert len(calls) == 2
    assert "no space left on the device" in caught.value.message
    assert path.read_bytes() == before
    audit.record("reveal", role="worker")
    reading = read_audit(path)
    assert [event["action"] for event in reading.events] == ["copy", "reveal"]
    assert reading.damaged_lines == []


def test_fragment_kept_apart_from_next_event(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, environment={})
    audit.record("copy", role="worker")
    with path.open("ab") as handle:
        handle.write(b'{"time": "2026-12-05T13:10:42Z", "us')

    audit.record("rotate", role="worker")

    reading = read_audit(path)
    assert [event["action"] for event in reading.events] == ["copy", "rotate"]
    assert reading.damaged_lines == [2]


def test_loose_audit_mode_tightened(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    path.chmod(0o644)

    AuditLog(path, environment={}).record("copy", role="worker")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(read_audit(path).events) == 1


def test_unsettled_rotations_per_role() -> None:
    from swarmtui.audit import unsettled_rotations

    def rotation(role: str, old: str, result: str, action: str = "rotate") -> dict:
        return {
            "time": "2026-12-05T08:00:00Z",
            "action": action,
            "cluster_id": "c1",
            "old_fingerprints": {role: old},
            "result": result,
        }

    events = [
        rotation("worker", "fp:w1", "unknown"),
        rotation("manager", "fp:m1", "unknown"),
        rotation("manager", "fp:m2", "ok"),
        rotation("worker", "fp:w3", "unknown", action="leak-response"),
        {**rotation("worker", "fp:w9", "unknown"), "cluster_id": "c2"},
    ]
    settled = [*events, rotation("worker", "fp:w3", "took-effect", "rotate-outcome")]

    pending = unsettled_rotations(events, "c1")

    assert list(pending) == ["worker"]
    assert pending["worker"][0] == "fp:w3"
    assert pending["worker"][1] == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert unsettled_rotations(settled, "c1") == {}
    assert list(unsettled_rotations(events, "c2")) == ["worker"]


def test_audit_path_too_long_named_in_warning(tmp_path: Path) -> None:
    path = tmp_path / ("a" * 5000)
    backend = DemoBackend(path=tmp_path / "demo.toml", seed=3)
    service = TokenService(backend, audit=AuditLog(path, environment={}))

    service.read()
    service.record("show", roles=[Role.WORKER], result="ok")

    (failure,) = service.audit_failures
    assert "could not be written to " in failure.message
    assert "… (" in failure.message
    assert "(file name too long)" in failure.message
    assert "SWARMTUI_AUDIT_FILE, or audit_file" in failure.hint
    assert len(failure.message) < 300


def mixed_record(path: Path) -> None:
    """Write events of several clusters and actions, some with escapes or damage."""
    token = make_token(ca_digest(PEM))
    events: list[dict[str, Any]] = [
        {"action": "copy", "cluster_id": "c1", "role": "worker"},
        {
            "action": "rotate",
            "cluster_id": "c1",
            "result": "ok",
            "old_fingerprints": {"worker": "fp:a"},
            "new_fingerprints": {"worker": "fp:b"},
        },
        {
            "action": "rotate",
            "cluster_id": "c2",
            "result": "ok",
            "old_fingerprints": {"worker": "fp:x"},
            "new_fingerprints": {"worker": "fp:y"},
        },
        {
            "action": "leak-response",
            "cluster_id": "c1",
            "result": "unknown",
            "old_fingerprints": {"worker": "fp:b", "manager": "fp:m"},
        },
        {
            "action": "rotate-outcome",
            "cluster_id": "c1",
            "result": "took-effect",
            "old_fingerprints": {"worker": "fp:b"},
            "new_fingerprints": {"worker": "fp:c"},
        },
        {
            "action": "rotate-unlock-key",
            "cluster_id": "c1",
            "result": "unknown",
            "old_key_fingerprint": "fp:k",
        },
        {
            "action": "join-window-close",
            "cluster_id": "c1",
            "result": "ok",
            "new_fingerprints": {"manager": "fp:n"},
        },
        {"action": "join-window-open", "cluster_id": "c1", "role": "worker"},
        {"action": "reveal", "cluster_id": "c1", "note": f"pasted {token}"},
        {"action": "rotate-checked-token", "cluster_id": "c1x", "result": "ok"},
    ]
    lines = []
    for minute, event in enumerate(events):
        stamped = {"time": f"2026-12-01T10:{minute:02d}:00Z", **event}
        lines.append(json.dumps(stamped, ensure_ascii=False))
    # Escapes written by another program or an edit spell the same values.
    lines.append(
        '{"time": "2026-12-01T11:00:00Z", "action": "\\u0072otate", '
        '"cluster_id": "\\u00631", "result": "ok", "note": "' + token + '", '
        '"new_fingerprints": {"manager": "fp:o"}}'
    )
    lines.append('{"time": "2026-12-01T11:01:00Z", "action": "rotate", "cluster_id": ')
    path.write_text("\n".join(lines) + "\n")


def test_rotation_events_match_full_read(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    mixed_record(path)
    rotation_actions = {
        "rotate",
        "rotate-checked-token",
        "leak-response",
        "join-window-close",
        "rotate-outcome",
        "rotate-unlock-key",
    }

    for cluster_id in ("c1", "c2", "c1x", "none"):
        expected = [
            event
            for event in read_audit(path).events
            if event["action"] in rotation_actions and event["cluster_id"] == cluster_id
        ]
        assert read_rotation_events(path, cluster_id) == expected


def test_rotation_events_of_one_cluster(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    mixed_record(path)

    events = read_rotation_events(path, "c1")

    actions = [event["action"] for event in events]
    assert actions == [
        "rotate",
        "leak-response",
        "rotate-outcome",
        "rotate-unlock-key",
        "join-window-close",
        "rotate",
    ]
    assert events[-1]["new_fingerprints"] == {"manager": "fp:o"}
    assert "SWMTKN" not in json.dumps(events)
    assert token_issued_at(events, "c1", "manager", "fp:o") == datetime(
        2026, 12, 1, 11, 0, tzinfo=UTC
    )


def test_rotation_events_missing_or_unreadable(tmp_path: Path) -> None:
    assert read_rotation_events(tmp_path / "none.jsonl", "c1") == []
    with pytest.raises(AuditReadError, match="could not be read"):
        read_rotation_events(tmp_path, "c1")


def test_declined_rotation_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=3))
    service.audit = AuditLog(path, environment={})
    view = service.read()
    service.record_declined("leak-response", list(Role), view)

    assert main(["audit", "--file", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    columns = lines[1].split()
    assert columns[2:5] == ["rotation-declined", "manager+worker", "declined"]
    details = lines[1].split("  ")[-1]
    assert details == (
        f"declined leak-response; manager {view.manager_fingerprint}; "
        f"worker {view.worker_fingerprint}"
    )
    # A declined rotation is no rotation: the leak start ignores it.
    assert last_rotations(read_audit(path).events, view.cluster_id) == {}


def test_copy_and_reveal_name_their_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=3))
    service.audit = AuditLog(path, environment={})
    view = service.read()
    service.record("reveal", roles=[Role.WORKER], view=view)
    service.record("copy", roles=[Role.MANAGER], view=view, item="join-command")
    service.record("copy-unlock-key", view=view, key_fingerprint="kfp:aaaa-bbbb-cccc")

    assert main(["audit", "--file", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    details = [line.split("  ")[-1] for line in lines[1:]]
    assert details == [
        f"worker {view.worker_fingerprint}",
        f"manager {view.manager_fingerprint}; item: join-command",
        "key kfp:aaaa-bbbb-cccc",
    ]


def test_rejected_hostname_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    service = TokenService(DemoBackend(path=tmp_path / "demo.toml", seed=3))
    service.audit = AuditLog(path, environment={})
    token = service.read().worker_token
    body = token[len("SWMTKN-1-") : -1]

    with pytest.raises(SwarmTuiError) as caught:
        service.try_join(token, body)

    secret = parse_token(token).secret
    assert secret[:20] not in str(caught.value)
    assert secret[:20] not in path.read_text()
    assert f"(a text of {len(body)} characters that may hold a secret)" in str(
        caught.value
    )
