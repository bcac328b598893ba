"""No join token reaches a log record or an exception message on a real engine."""

from __future__ import annotations

import logging

import pytest
from engine_fixtures import Daemon, DaemonPool, join_token, run_swarmtui

from swarmtui.backends.engine import EngineBackend
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import EngineError, SwarmTuiError
from swarmtui.models import Role
from swarmtui.service import TokenService
from swarmtui.tokens import fingerprint

pytestmark = pytest.mark.engine


def current_tokens(daemon: Daemon) -> list[str]:
    return [join_token(daemon, "worker"), join_token(daemon, "manager")]


def assert_no_token(text: str, tokens: list[str]) -> None:
    for token in tokens:
        assert token not in text
        # Anyone with the CA digest can rebuild the token from its secret.
        assert token.rsplit("-", 1)[1] not in text


def test_service_logs_no_token(
    daemons: DaemonPool, caplog: pytest.LogCaptureFixture
) -> None:
    swarm = daemons.swarm()
    tokens = current_tokens(swarm)
    backend = EngineBackend(EndpointChoice(host=swarm.host, environment={}))
    service = TokenService(backend)
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "docker", "swarmtui"):
        caplog.set_level(logging.DEBUG, logger=name)

    try:
        view = service.read()
        result = service.rotate([Role.WORKER, Role.MANAGER], expected=view)
        service.check_token(tokens[0])
        service.check_token(result.after.worker_token)
        service.check_token(tokens[1][:-3] + "a b")
    finally:
        backend.close()
    tokens += current_tokens(swarm)

    assert len(set(tokens)) == 4
    messages = [record.getMessage() for record in caplog.records]
    assert any("rotated" in message for message in messages)
    assert any("engine call GET" in message for message in messages)
    assert_no_token(caplog.text, tokens)
    assert_no_token("\n".join(messages), tokens)
    assert fingerprint(tokens[0]) in caplog.text


def test_verbose_cli_logs_no_token(manager: Daemon) -> None:
    before = current_tokens(manager)

    result = run_swarmtui(
        "-vv", "join-token", "--rotate", "-q", "worker", host=manager.host
    )

    assert result.returncode == 0, result.stderr
    after = current_tokens(manager)
    assert result.stdout == after[0] + "\n"
    assert "rotated worker token" in result.stderr
    assert fingerprint(before[0]) in result.stderr
    assert_no_token(result.stderr, before + after)


def test_engine_error_hides_token(manager: Daemon) -> None:
    tokens = current_tokens(manager)
    backend = EngineBackend(EndpointChoice(host=manager.host, environment={}))

    try:
        with pytest.raises(SwarmTuiError) as caught:
            backend.inspect_node(tokens[0])
    finally:
        backend.close()

    assert isinstance(caught.value, EngineError)
    assert "404" in str(caught.value)
    assert fingerprint(tokens[0]) in str(caught.value)
    assert_no_token(str(caught.value), tokens)
    assert_no_token(repr(caught.value.args), tokens)


def test_failed_join_check_hides_token(daemons: DaemonPool) -> None:
    lone = daemons.daemon()
    backend = EngineBackend(EndpointChoice(host=lone.host, environment={}))
    service = TokenService(backend)
    token = "SWMTKN-1-" + "3" * 50 + "-" + "k" * 25

    try:
        with pytest.raises(SwarmTuiError) as caught:
            service.check_token(token)
    finally:
        backend.close()

    assert caught.value.exit_code == 4
    assert_no_token(str(caught.value), [token])
