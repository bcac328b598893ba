"""Shared pytest fixtures; the engine fixtures live in engine_fixtures.py."""

from engine_fixtures import daemons, manager, manager_host

__all__ = ["daemons", "manager", "manager_host"]
