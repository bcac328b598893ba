"""The demo swarm under a reset that races an update or a read.

The swarms here are unseeded, so that a reset makes a new cluster id.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_support import make_demo

from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.errors import EngineError, ExitCode, StateFileError, SwarmReplacedError


def test_reset_does_not_reuse_versions(tmp_path: Path) -> None:
    backend = make_demo(tmp_path / "demo.toml", seed=None)
    for _ in range(3):
        snapshot = backend.inspect_swarm()
        backend.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    before = backend.inspect_swarm().version
    backend.reset()
    assert backend.inspect_swarm().version > before


def test_update_prepared_before_reset_is_rejected(tmp_path: Path) -> None:
    writer = make_demo(tmp_path / "demo.toml", seed=None)
    resetter = make_demo(tmp_path / "demo.toml", seed=None)
    snapshot = writer.inspect_swarm()
    resetter.reset()
    after_reset = resetter.inspect_swarm()
    assert after_reset.cluster_id != snapshot.cluster_id
    with pytest.raises(UpdateOutOfSequence):
        writer.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    unchanged = resetter.inspect_swarm()
    assert unchanged.version == after_reset.version
    assert unchanged.worker_token == after_reset.worker_token


def test_reset_of_broken_file_keeps_version_order(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    backend = make_demo(path)
    for _ in range(15):
        snapshot = backend.inspect_swarm()
        backend.update_swarm(snapshot.version, snapshot.spec, rotate_worker_token=True)
    before = backend.inspect_swarm().version
    path.write_text(path.read_text() + "\n[broken\n")
    backend.reset()
    assert make_demo(path).inspect_swarm().version > before


def test_read_racing_reset_is_a_conflict(tmp_path: Path) -> None:
    reader = make_demo(tmp_path / "demo.toml", seed=None)
    info = reader.engine_info()
    make_demo(tmp_path / "demo.toml", seed=None).reset()
    with pytest.raises(SwarmReplacedError) as raised:
        reader.inspect_node(info.node_id)
    assert "was reset while reading; retry" in raised.value.message
    assert raised.value.exit_code == ExitCode.CONFLICT


def test_unknown_node_is_still_engine_error(tmp_path: Path) -> None:
    reader = make_demo(tmp_path / "demo.toml", seed=None)
    reader.engine_info()
    with pytest.raises(EngineError, match="has no node"):
        reader.inspect_node("no-such-node")


def test_state_error_ends_with_one_period(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    backend = make_demo(path, seed=None)
    token = backend.inspect_swarm().worker_token
    path.write_text(path.read_text().replace(token, "SWMTKN-3-" + token[9:]))
    with pytest.raises(StateFileError) as raised:
        make_demo(path, seed=None).inspect_swarm()
    assert "must be 1 or 2." in raised.value.message
    assert ".." not in raised.value.message
