"""The manager unlock key of an autolocked swarm: fingerprint, mask and redact it.

The engine shows the key as ``SWMKEY-1-<base64>``. It decrypts the Raft data
of every manager, so it is as secret as the manager join token.
"""

from __future__ import annotations

from swarmtui.tokens import (
    UNLOCK_KEY_PATTERN,
    redact_unlock_keys,
    unlock_key_fingerprint,
)

__all__ = [
    "UNLOCK_KEY_PATTERN",
    "mask_unlock_key",
    "redact_unlock_keys",
    "unlock_key_fingerprint",
]


def mask_unlock_key(key: str) -> str:
    """Hide an unlock key except its ``SWMKEY-1-`` prefix."""
    prefix, separator, _ = key.strip().rpartition("-")
    if not separator or not prefix.startswith("SWMKEY"):
        return "•" * 12
    return f"{prefix}-" + "•" * 24
