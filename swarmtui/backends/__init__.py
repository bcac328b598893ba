"""Backends behind the token service: a real engine and the embedded demo swarm."""

from __future__ import annotations

from pathlib import Path

from swarmtui.backends.base import Backend
from swarmtui.endpoint import EndpointChoice


def make_backend(
    *,
    demo: bool = False,
    demo_state: Path | None = None,
    demo_seed: int | None = None,
    host: str | None = None,
    context: str | None = None,
    timeout: float = 10.0,
) -> Backend:
    """Build the backend that the options select, without any network call."""
    if demo:
        from swarmtui.backends.demo import DemoBackend

        return DemoBackend(path=demo_state, seed=demo_seed, timeout=timeout)
    from swarmtui.backends.engine import EngineBackend

    return EngineBackend(EndpointChoice(host=host, context=context), timeout=timeout)
