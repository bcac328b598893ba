"""Start the console from parsed command-line options.

Nothing here imports the docker SDK: the backend is built by a factory that
the app calls in a worker thread, after the first frame is on screen.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from swarmtui.config import Settings, default_config_path, load_settings
from swarmtui.errors import ConfigError

if TYPE_CHECKING:
    from textual.app import App

    from swarmtui.service import TokenService

# Log records kept while the console owns the terminal, replayed after it.
HELD_RECORDS = 1000


def endpoint_hint(args: argparse.Namespace) -> str:
    """Name the engine the options select, before anything is resolved."""
    if args.demo:
        return "the demo swarm"
    if args.host:
        return str(args.host)
    if args.context:
        return f"context {args.context}"
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    if os.environ.get("DOCKER_CONTEXT"):
        return f"context {os.environ['DOCKER_CONTEXT']}"
    return "the current docker context"


WORKER_THREAD_PREFIX = "swarmtui-call"


class DetachingExecutor(ThreadPoolExecutor):
    """A thread pool whose shutdown does not wait for running calls.

    asyncio.run waits for the default executor when the app exits, so a hung
    engine call would keep a blank terminal until its timeout. The threads
    still finish (each call has a timeout) before the interpreter exits.
    """

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


def _pending_calls() -> int:
    return sum(
        1
        for thread in threading.enumerate()
        if thread.name.startswith(WORKER_THREAD_PREFIX) and thread.is_alive()
    )


class HoldingHandler(logging.Handler):
    """Keep the latest records in memory and pass them to the app's log.

    A stream handler would write over the console's screen, so the records
    wait here until the console exits.
    """

    def __init__(self, app: App[Any]) -> None:
        super().__init__()
        self.app = app
        self.records: collections.deque[logging.LogRecord] = collections.deque(
            maxlen=HELD_RECORDS
        )

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.app.log.logging(self.format(record))


@contextmanager
def logs_held(app: App[Any]) -> Iterator[None]:
    """Route the root logger away from the terminal while the console runs."""
    from swarmtui.logs import RedactingFilter

    root = logging.getLogger()
    saved = list(root.handlers)
    holder = HoldingHandler(app)
    holder.addFilter(RedactingFilter())
    for handler in saved:
        root.removeHandler(handler)
    root.addHandler(holder)
    try:
        yield
    finally:
        root.removeHandler(holder)
        for handler in saved:
            root.addHandler(handler)
        for record in holder.records:
            root.handle(record)


def run_console(args: argparse.Namespace) -> int:
    """Run the console until the user quits; return the exit code."""
    config_path = args.config or default_config_path()
    config_error: ConfigError | None = None
    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        settings = Settings()
        config_error = error
    if args.timeout is None:
        args.timeout = settings.timeout

    def make() -> TokenService:
        from swarmtui.cli import make_service

        return make_service(args)  # type: ignore[no-any-return]

    from swarmtui.tui.app import SwarmConsole

    app = SwarmConsole(
        service_factory=make,
        endpoint_hint=endpoint_hint(args),
        settings=settings,
        config_path=config_path,
        config_error=config_error,
    )
    app.worker_executor = DetachingExecutor(thread_name_prefix=WORKER_THREAD_PREFIX)
    try:
        with logs_held(app):
            result = app.run()
    finally:
        if _pending_calls():
            # Closing the backend would wait for the hung call's lock.
            print(
                f"swarmtui: waiting up to {args.timeout:g} s for an engine call "
                "to time out before exiting.",
                file=sys.stderr,
            )
        elif app.service is not None:
            app.service.backend.close()
    return result or 0
