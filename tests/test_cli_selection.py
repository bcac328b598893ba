"""Engine selection, --timeout and --demo options: invalid ones exit with code 2."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swarmtui.cli import main
from swarmtui.errors import ExitCode

# A host name of 254 characters, one over the DNS limit, in labels of 63.
TOO_LONG_NAME = ".".join(["a" * 63] * 3 + ["b" * 62])


@pytest.fixture(autouse=True)
def no_engine_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("ftp://x", "'ftp://' is not a scheme that the docker CLI takes"),
        ("tcp://127.0.8.1:99999", "its port 99999 is out of range"),
        ("tcp://[::1", "its IPv6 address has no closing bracket"),
        ("unix:///", "it has no socket path"),
        ("tcp://127.0.8.1:abc", "its port 'abc' is not a number"),
        ("tcp://127.0.8.1:0", "port 0 is not a port to connect to"),
        ("npipe:////./pipe/docker_engine", "only on Windows"),
        ("ssh://", "the ssh hostname is empty"),
        ("ssh://admin@", "the ssh hostname is empty"),
        ("ssh://:2222", "the ssh hostname is empty"),
        ("ssh://127.0.8.1:0", "port 0 is not a port to connect to"),
        ("ssh://127.0.8.1:65536", "its port 65536 is out of range"),
        ("ssh://admin@[::1]:0", "port 0 is not a port to connect to"),
        ("ssh://::1", "an IPv6 address must be written in brackets"),
        ("ssh://[fe80::zz]", "'fe80::zz' in brackets is not an IPv6 address"),
        ("tcp://a b:1", "its host name 'a b' contains a space"),
        ("a b:1", "its host name 'a b' contains a space"),
        ("tcp://a%20b:1", "its host name 'a%20b' contains the character '%'"),
        ("tcp://127.0.8.1:1/a b", "it contains a space"),
        ("http://127.0.8.1:1", "the docker CLI takes no http:// or https:// host"),
        ("https://127.0.8.1:1", "the docker CLI takes no http:// or https:// host"),
        ("TCP://127.0.8.1:1", "the scheme must be written in lowercase, as tcp://"),
        ("fd://", "a client cannot connect to"),
        ("tcp://\uff11\uff12\uff17.0.0.1:2375", "contains the character"),
        ("ssh://-oProxyCommand=x", "its user or host name starts with '-'"),
        ("ssh://-F@[::1]:2223", "its user or host name starts with '-'"),
        ("/tmp/no.sock", "a socket path needs unix:// in front, as in unix:///tmp"),
        ("ssh://127.0.8.1/a%00b", "its socket path contains the character \\x00"),
        ("ssh://127.0.8.1/a%20b", "its socket path contains a space"),
        ("ssh://u[@127.0.8.1", "its user name contains the character '['"),
        ("ssh://u]@127.0.8.1", "its user name contains the character ']'"),
        ("ssh://a b@127.0.8.1", "its user name contains a space"),
        ("tcp://a..b:2375", "its host name has an empty label"),
        ("tcp://.a:2375", "its host name has an empty label"),
        ("a..b", "its host name has an empty label"),
        ("tcp://" + "a" * 64 + ":2375", "its host name has a label of 64 characters"),
        ("tcp://" + TOO_LONG_NAME + ":2375", "its host name has 254 characters"),
        ("ssh://admin@a..b", "its host name has an empty label"),
        ("ssh://admin@" + "a" * 64, "its host name has a label of 64 characters"),
        ("ssh://" + TOO_LONG_NAME + "/run/x.sock", "its host name has 254 characters"),
    ],
)
def test_invalid_docker_host_is_usage_error(
    host: str,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)

    code = main(["join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.USAGE, stderr
    assert f"The Docker host {host!r} from DOCKER_HOST is invalid" in stderr
    assert reason in stderr
    assert "tcp://HOST:PORT" in stderr


def test_invalid_host_flag_named(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-H", "tcp://127.0.8.1:70000", "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.USAGE, stderr
    assert "from -H/--host is invalid: its port 70000 is out of range" in stderr


def test_empty_host_flag_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-H", "", "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.USAGE, stderr
    assert "-H/--host is empty" in stderr


@pytest.mark.parametrize(
    "value", ["0", "-1", "1e-9", "0.09", "nan", "inf", "-inf", "1e300", "ten"]
)
def test_timeout_must_be_positive_finite(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([f"--timeout={value}", "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert caught.value.code == ExitCode.USAGE
    assert f"argument --timeout: {value!r} is not" in stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["--demo", "-H", "unix:///tmp/fe-none.sock"],
        ["--demo", "-c", "default"],
        ["--demo", "--host", ""],
    ],
)
def test_demo_with_engine_rejected(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*arguments, "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert caught.value.code == ExitCode.USAGE
    assert "choose either the demo swarm (--demo) or an engine" in stderr


def test_demo_with_docker_host_allowed(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/fe-none.sock")
    state = tmp_path / "demo.toml"

    code = main(["--demo", "--demo-state", str(state), "join-token", "-q", "worker"])

    output = capsys.readouterr()
    assert code == ExitCode.OK, output.err
    assert output.out.startswith("SWMTKN-1-")


@pytest.mark.parametrize(
    ("option", "value"), [("--demo-state", "/tmp/fe-demo.toml"), ("--demo-seed", "3")]
)
def test_demo_options_need_demo(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([option, value, "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert caught.value.code == ExitCode.USAGE
    assert f"{option} applies only to the demo swarm: add --demo" in stderr


def test_missing_config_file_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.toml"
    link = tmp_path / "dangling.toml"
    link.symlink_to(tmp_path / "gone.toml")
    state = str(tmp_path / "demo.toml")

    first = main(["--config", str(missing), "--demo", "--demo-state", state, "audit"])
    first_err = capsys.readouterr().err
    second = main(["--config", str(link), "--demo", "--demo-state", state, "audit"])
    second_err = capsys.readouterr().err

    assert first == ExitCode.OK, first_err
    assert f"warning: the config file {missing} does not exist" in first_err
    assert second == ExitCode.OK, second_err
    assert "is a symbolic link to a missing file" in second_err


def test_config_link_loop_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "loop1"
    second = tmp_path / "loop2"
    first.symlink_to(second.name)
    second.symlink_to(first.name)
    state = str(tmp_path / "demo.toml")
    arguments = ["--config", str(first), "--demo", "--demo-state", state]

    code = main([*arguments, "join-token", "-q", "worker"])

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert "missing file" not in err
    assert "warning:" not in err
    assert err.count(f"The config file {first}") == 1
    assert "it is a loop of symbolic links" in err
    assert "Using the default settings." in err


def test_config_under_a_file_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    config = blocker / "config.toml"
    state = str(tmp_path / "demo.toml")
    arguments = ["--config", str(config), "--demo", "--demo-state", state]

    code = main([*arguments, "join-token", "-q", "worker"])

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert "does not exist" not in err
    assert err.count(f"The config file {config}") == 1
    assert f"{blocker} is a file, not a folder" in err


def test_empty_ssh_host_flag_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-H", "ssh://", "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.USAGE, stderr
    assert "The Docker host 'ssh://' from -H/--host is invalid" in stderr
    assert "the ssh hostname is empty" in stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["-H", "unix:///tmp/fe-a.sock", "-H", "unix:///tmp/fe-b.sock", "join-token"],
        ["-H", "unix:///tmp/fe-a.sock", "join-token", "--host=unix:///tmp/fe-b.sock"],
        ["join-token", "-H", "unix:///tmp/fe-a.sock", "-H", "unix:///tmp/fe-b.sock"],
        ["-H", "unix:///tmp/fe-a.sock", "--host", "unix:///tmp/fe-b.sock"],
    ],
    ids=["before", "before-and-after", "after", "console"],
)
def test_second_host_option_rejected(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    command = [*arguments, "worker"] if "join-token" in arguments else arguments

    with pytest.raises(SystemExit) as caught:
        main(command)

    stderr = capsys.readouterr().err
    assert caught.value.code == ExitCode.USAGE
    assert "specify only one -H/--host" in stderr


@pytest.mark.parametrize(
    "host", ["ssh://", "npipe:////./pipe/docker", "ssh://u[@127.0.8.1"]
)
def test_console_rejects_malformed_host(host: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "swarmtui", "-H", host],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)},
    )

    assert result.returncode == 2
    assert f"The Docker host '{host}' from -H/--host is invalid" in result.stderr


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("tcp://a\nb:1", "'tcp://a\\x0ab:1'"),
        ("tcp://a\x1bb:1", "'tcp://a\\x1bb:1'"),
        ("ssh://a\tb", "'ssh://a\\x09b'"),
    ],
)
def test_control_character_in_host_rejected(
    host: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["-H", host, "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.USAGE, stderr
    assert f"The Docker host {shown} from -H/--host is invalid" in stderr
    assert stderr.count("\n") == 1


@pytest.mark.parametrize("value", [" ", "\t", " \n "])
def test_blank_docker_host_rejected(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", value)

    code = main(["join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.USAGE, stderr
    assert "DOCKER_HOST contains only spaces, which name no engine." in stderr
    assert "unset it to use the current docker context" in stderr


def test_context_with_invalid_host_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = tmp_path / "docker" / "contexts" / "meta"
    folder = meta / hashlib.sha256(b"spaced").hexdigest()
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(
        json.dumps(
            {"Name": "spaced", "Endpoints": {"docker": {"Host": "tcp://a b:2375"}}}
        )
    )

    code = main(["-c", "spaced", "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.USAGE, stderr
    assert (
        "The Docker host 'tcp://a b:2375' from docker context 'spaced' is invalid: "
        "its host name 'a b' contains a space"
    ) in stderr


@pytest.mark.parametrize(
    ("name", "shown"), [("a\nb.sock", "a\\x0ab.sock"), ("a\x1bb.sock", "a\\x1bb.sock")]
)
def test_socket_path_escaped_in_message(
    name: str, shown: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["-H", f"unix://{tmp_path / name}", "join-token", "worker"])

    stderr = capsys.readouterr().err
    assert code == ExitCode.ENGINE_UNREACHABLE, stderr
    assert f"Cannot connect to the Docker engine at unix://{tmp_path / shown}." in (
        stderr
    )
    assert stderr.count("\n") == 1
