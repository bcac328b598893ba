"""swarmtui: a terminal console and CLI for Docker Swarm join tokens."""

__version__ = "0.1.0"
