"""Start the console from parsed command-line options.

Nothing here imports the docker SDK: the backend is built by a factory that
the app calls in a worker thread, after the first frame is on screen.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from swarmtui.config import Settings, default_config_path, load_settings
from swarmtui.errors import ConfigError

if TYPE_CHECKING:
    from swarmtui.service import TokenService


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
