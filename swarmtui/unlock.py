"""The manager unlock key of an autolocked swarm: fingerprint, mask and redact it.

The engine shows the key as ``SWMKEY-1-<base64>``. It decrypts the Raft data
of every manager, so it is as secret as the manager join token.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from swarmtui.tokens import to_base36

UNLOCK_KEY_PATTERN = re.compile(r"SWMKEY-[0-9]+-[A-Za-z0-9+/=]+")

_FINGERPRINT_KEY = b"swarmtui unlock key fingerprint v1"


def unlock_key_fingerprint(key: str) -> str:
    """Return a short, non-reversible fingerprint of an unlock key, like ``kfp:…``."""
    mac = hmac.new(_FINGERPRINT_KEY, key.strip().encode("utf-8"), hashlib.sha256)
    text = to_base36(int.from_bytes(mac.digest()[:8], "big"), 13)[-12:]
    return f"kfp:{text[0:4]}-{text[4:8]}-{text[8:12]}"


def mask_unlock_key(key: str) -> str:
    """Hide an unlock key except its ``SWMKEY-1-`` prefix."""
    prefix, separator, _ = key.strip().rpartition("-")
    if not separator or not prefix.startswith("SWMKEY"):
        return "•" * 12
    return f"{prefix}-" + "•" * 24


def redact_unlock_keys(text: str) -> str:
    """Replace every unlock-key-like word in `text` with its fingerprint."""
    return UNLOCK_KEY_PATTERN.sub(
        lambda match: f"<unlock key {unlock_key_fingerprint(match[0])}>", text
    )
