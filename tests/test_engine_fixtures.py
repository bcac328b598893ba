"""The engine fixtures skip without dockerd locally and fail under CI=true."""

from __future__ import annotations

import pytest
from engine_fixtures import (
    EngineUnavailable,
    address_prefix,
    engine_unavailable,
    lease_address,
    new_daemon,
)


def test_missing_dockerd_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARMTUI_TEST_DOCKERD", "/nonexistent/dockerd")

    with pytest.raises(EngineUnavailable, match="not executable"):
        new_daemon()


def test_unavailable_engine_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="no Docker engine"):
        engine_unavailable("dockerd is not installed")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_unavailable_engine_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)

    with pytest.raises(pytest.fail.Exception, match="cannot run under CI=true"):
        engine_unavailable("dockerd is not installed")


def test_address_prefix_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARMTUI_TEST_ADDR_PREFIX", "127.0.42.")

    assert address_prefix() == "127.0.42"


@pytest.mark.parametrize("value", ["10.0.0", "127.0", "127.0.x", "127.0.9.1"])
def test_address_prefix_rejects_other_ranges(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SWARMTUI_TEST_ADDR_PREFIX", value)

    with pytest.raises(ValueError, match="loopback"):
        address_prefix()


def test_leases_are_distinct() -> None:
    first = lease_address()
    second = lease_address()
    try:
        assert (first.address, first.port) != (second.address, second.port)
        assert first.address.startswith(address_prefix() + ".")
    finally:
        first.release()
        second.release()
