"""Keep paramiko off the import path of the docker SDK until ssh:// needs it.

docker 7.2 imports paramiko in ``docker.transport.sshconn`` whenever paramiko
is installed. That is about 90 of the 190 ms of ``import docker`` (measured
with ``python -X importtime`` on the benchmark machine) and several MiB of
memory, even for a unix socket. The SDK touches paramiko's attributes only
when it opens an ssh:// connection, so a placeholder module that imports the
real paramiko on first attribute access is enough.

``importlib.util.LazyLoader`` does not work here on Python 3.11: the import
statement reads ``__spec__`` of a module already in ``sys.modules``, which
makes the lazy module load at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_MODULE = "paramiko"
_lock = threading.Lock()


class _DeferredModule(types.ModuleType):
    """A stand-in for paramiko that imports it when an attribute is read."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_load_real_module(self), name)


def _load_real_module(placeholder: types.ModuleType) -> types.ModuleType:
    with _lock:
        if sys.modules.get(_MODULE) is placeholder:
            del sys.modules[_MODULE]
        return importlib.import_module(_MODULE)


def defer_paramiko() -> None:
    """Put the placeholder in ``sys.modules`` if paramiko is installed but unloaded."""
    if _MODULE in sys.modules or importlib.util.find_spec(_MODULE) is None:
        return
    sys.modules[_MODULE] = _DeferredModule(_MODULE)
