"""A real Docker Engine: a unix socket through `UnixSocketClient`, any other
host (tcp://, TLS, ssh://) through the docker SDK's low-level APIClient.

The docker SDK is imported only when the first call to such a host is made,
so that a command that never talks to one does not pay for the import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeVar

from swarmtui.backends.base import UpdateOutOfSequence
from swarmtui.backends.replies import (
    ReplyShapeError,
    engine_info_from_api,
    node_from_api,
    nodes_from_api,
    snapshot_from_api,
    unlock_key_from_api,
    version_fields,
)
from swarmtui.backends.tls_errors import TlsSource, chained_exceptions, tls_error
from swarmtui.backends.unix_http import (
    EngineHTTPError,
    ResponseTooLargeError,
    UnixSocketClient,
)
from swarmtui.endpoint import (
    DEFAULT_HOST,
    EndpointChoice,
    ResolvedEndpoint,
    resolve_endpoint,
)
from swarmtui.errors import (
    ApiTooOldError,
    EngineError,
    EngineUnreachableError,
    ManagerNotReadyError,
    NotAManagerError,
    NotInSwarmError,
    PermissionDeniedError,
    RequestTimeoutError,
    SwarmLockedError,
    SwarmTuiError,
    TlsError,
    not_in_swarm_hint,
)
from swarmtui.models import EngineInfo, NodeInfo, SwarmSnapshot
from swarmtui.shell import shell_word
from swarmtui.timetext import seconds_text
from swarmtui.tokens import redact

if TYPE_CHECKING:
    from typing import TypeAlias

    from docker import APIClient

    Client: TypeAlias = APIClient | UnixSocketClient

log = logging.getLogger(__name__)

SWARM_MIN_API = (1, 24)
UNLOCK_KEY_MIN_API = (1, 25)
DEFAULT_TIMEOUT = 10.0
# Maximum engine response body read. A node's JSON is a few KB, so this
# fits thousands of nodes, and a stray server cannot fill the memory.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Maximum length of an engine error message shown to the user.
MAX_ERROR_CHARACTERS = 300
CALL_THREAD_NAME = "swarmtui-engine-call"
# The newest API version requested, docker SDK 7.2's default. An older engine
# gets its own version, since every call made here exists from 1.24 or 1.25 on.
NEWEST_API = (1, 45)

# Seconds to wait for an ssh process that closed its stdout to exit.
SSH_EXIT_WAIT = 1.0
# Bytes read from the end of an ssh process's stderr for an error message.
SSH_STDERR_TAIL = 4096
CLOSED_WITHOUT_RESPONSE = "it closed the connection without a response"
BODY_CUT_SHORT = "the response body ended before its stated length"
MALFORMED_BODY = "the response body is malformed"

T = TypeVar("T")


def shorten(text: str, limit: int = MAX_ERROR_CHARACTERS) -> str:
    """Cut `text` to `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "\u2026"


@dataclass
class _SshProcess:
    """The ssh process behind one ssh:// connection, and the file with its stderr."""

    process: subprocess.Popen[bytes]
    stderr: IO[bytes]


@dataclass
class _CallState:
    """The sockets and clients of one engine call, freed if it passes its deadline."""

    sockets: list[Any] = field(default_factory=list)
    connections: list[Any] = field(default_factory=list)
    clients: list[Any] = field(default_factory=list)
    ssh_processes: list[_SshProcess] = field(default_factory=list)
    abandoned: bool = False


class _CappedBody:
    """A response's raw stream that fails once more than `limit` bytes arrive."""

    def __init__(self, raw: Any, limit: int) -> None:
        self._raw = raw
        self._limit = limit

    def stream(self, amount: int | None = None, **options: Any) -> Iterator[bytes]:
        total = 0
        for chunk in self._raw.stream(amount, **options):
            total += len(chunk)
            if total > self._limit:
                raise ResponseTooLargeError(total)
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def parse_api_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


class EngineBackend:
    """The token service's view of one Docker Engine.

    Each call has `timeout` seconds in total, and so has the version check
    (GET /version) that precedes the first one. A server that responds
    slowly, byte by byte, or never, makes the call fail with
    RequestTimeoutError, and the connection it used is dropped so that the
    next call connects again. On a unix socket the socket itself ends
    the call at the deadline, in the caller's thread. The docker SDK's
    clients (tcp://, TLS, ssh://) cannot do that, so their calls run in a
    daemon thread that the caller stops waiting for.
    """

    def __init__(
        self,
        choice: EndpointChoice | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._choice = choice or EndpointChoice()
        self._timeout = timeout
        self._resolved: ResolvedEndpoint | None = None
        self._client: Client | None = None
        self._api_version: tuple[int, int] | None = None
        self._engine_version = ""
        self._lock = threading.Lock()
        self._label: str | None = None
        self._calls: dict[int, _CallState] = {}

    # -- connection -------------------------------------------------------

    @property
    def endpoint(self) -> str:
        if self._label is None:
            self._label = self._resolve().label
        return self._label

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def unlock_command(self) -> str:
        """Return 'docker swarm unlock' with the options that reach this engine."""
        return f"{self.docker_cli} swarm unlock"

    @property
    def docker_cli(self) -> str:
        """Return 'docker' with the options that reach this engine."""
        resolved = self._resolved
        if resolved is None:
            return "docker"
        if resolved.context:
            return f"docker --context {shell_word(resolved.context)}"
        # Plain 'docker' reaches the default socket only when no -H,
        # DOCKER_HOST or DOCKER_CONTEXT chose the engine.
        chosen = self._choice.host or self._choice.environment.get("DOCKER_HOST")
        if resolved.base_url == DEFAULT_HOST and not chosen:
            return "docker"
        return f"docker -H {shell_word(redact(resolved.base_url))}"

    def _resolve(self) -> ResolvedEndpoint:
        if self._resolved is None:
            self._resolved = resolve_endpoint(self._choice)
            if self._resolved.unverified_tls_warning:
                log.warning("%s", self._resolved.unverified_tls_warning)
        return self._resolved

    def _new_client(self, resolved: ResolvedEndpoint, version: str) -> Client:
        state = self._calls.get(threading.get_ident())
        if resolved.base_url.startswith("unix://"):
            client: Client = UnixSocketClient(
                resolved.base_url.removeprefix("unix://"),
                version,
                timeout=self._timeout,
                max_response_bytes=MAX_RESPONSE_BYTES,
                on_connection=self._note_connection,
            )
        else:
            client = self._new_sdk_client(resolved, version)
        if state is not None:
            state.clients.append(client)
        return client

    def _note_connection(self, connection: Any) -> None:
        state = self._calls.get(threading.get_ident())
        if state is not None:
            state.connections.append(connection)

    def _new_sdk_client(self, resolved: ResolvedEndpoint, version: str) -> APIClient:
        import docker

        try:
            client = docker.APIClient(
                base_url=sdk_base_url(resolved.base_url),
                version=version,
                timeout=self._timeout,
                tls=resolved.tls,
                use_ssh_client=resolved.use_ssh_client,
            )
        except Exception as error:  # the SDK raises many types at set-up
            raise self._translate(error) from None
        if resolved.tls is not None:
            _keep_tls_verify(client)
        if resolved.unverified_tls_warning:
            _silence_insecure_request_warnings()
        client.hooks["response"].append(self._on_response)
        for adapter in client.adapters.values():
            if hasattr(adapter, "get_connection") and hasattr(adapter, "pools"):
                self._track_connections(adapter)
        return client

    def _track_connections(self, adapter: Any) -> None:
        """Note each new connection of the SDK's unix and ssh adapters.

        A call past its deadline can then close a connection that has not
        answered at all, such as an ssh process waiting for the host's banner.
        """
        original = adapter.get_connection

        def get_connection(*args: Any, **kwargs: Any) -> Any:
            pool = original(*args, **kwargs)
            if not getattr(pool, "_swarmtui_tracked", False):
                make = pool._new_conn

                def new_conn() -> Any:
                    connection = make()
                    self._note_connection(connection)
                    # The SDK's ssh:// connections run ssh unless they have
                    # a paramiko transport, which swarmtui never requests.
                    if getattr(connection, "ssh_host", None) and not getattr(
                        connection, "ssh_transport", None
                    ):
                        connection.connect = lambda: self._connect_ssh(connection)
                    return connection

                pool._new_conn = new_conn
                pool._swarmtui_tracked = True
            return pool

        adapter.get_connection = get_connection

    def _connect_ssh(self, connection: Any) -> None:
        """Connect one of the SDK's ssh:// connections, keeping ssh's stderr.

        This starts the command that docker SDK 7.2's `SSHSocket.connect`
        starts, `ssh [-l USER] [-p PORT] -- HOST 'docker system dial-stdio'`
        with SIGINT ignored, but sends ssh's stderr to a temporary file. On
        the terminal, ssh's messages would land in the middle of the
        console's screen, and an error could not quote them. ssh_command
        adds the options BatchMode=yes and LogLevel=VERBOSE.
        """
        from docker.transport.sshconn import SSHSocket

        # SSHSocket splits its host argument at each ":" (docker SDK 7.2),
        # which fails on an IPv6 address such as [::1]:22. The socket never
        # uses that host, because ssh_command builds the command from the URL.
        sock = SSHSocket("localhost")
        sock.settimeout(connection.timeout)
        command = ssh_command(self._resolve().base_url)
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the call
        try:
            # NOTE: preexec_fn is not safe with threads, as the subprocess
            # documentation warns. The SDK uses it here too, and
            # process_group=0 instead would stop an ssh password prompt.
            sock.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                preexec_fn=_ignore_sigint,
            )
        except BaseException:
            stderr.close()
            raise
        connection.sock = sock
        state = self._calls.get(threading.get_ident())
        if state is None:
            # Every SDK call runs in _run's thread, which has a state.
            stderr.close()
            return
        # urllib3 drops a connection's socket when the connection fails, so
        # the state keeps the process for the error message.
        state.sockets.append(sock)
        state.ssh_processes.append(_SshProcess(sock.proc, stderr))

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Log the call, note its socket and cap its body, before the body is read."""
        request = response.request
        log.debug(
            "engine call %s %s: HTTP %s after %.0f ms",
            request.method,
            request.path_url,
            response.status_code,
            response.elapsed.total_seconds() * 1000,
        )
        state = self._calls.get(threading.get_ident())
        connection = getattr(response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if state is not None and sock is not None:
            state.sockets.append(sock)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_RESPONSE_BYTES:
            response.close()
            raise ResponseTooLargeError(int(length))
        if hasattr(response.raw, "stream"):
            response.raw = _CappedBody(response.raw, MAX_RESPONSE_BYTES)
        return response

    def _shared_api(self, until: float | None) -> Client:
        """Return the client that the calls share, negotiating its API version.

        The lock is held only to read or store the client, never during
        network I/O, so that a call stuck past its deadline blocks no other.
        """
        with self._lock:
            if self._client is not None:
                return self._client
        resolved = self._resolve()
        probe = self._new_client(resolved, "1.24")
        if until is not None and isinstance(probe, UnixSocketClient):
            probe = probe.with_deadline(until)
        try:
            version = self._call(lambda: probe.version(api_version=False))
        finally:
            probe.close()
        server_api, engine_version = self._parsed(lambda: version_fields(version))
        try:
            server_version = parse_api_version(server_api)
        except ValueError:
            raise EngineError(
                f"The engine at {resolved.label} reported an unreadable API "
                f"version {server_api[:20]!r}.",
                "Check that the address points at a Docker engine.",
            ) from None
        if server_version < SWARM_MIN_API:
            raise ApiTooOldError(
                f"The engine at {resolved.label} speaks API {server_api}; "
                "swarm join tokens need API 1.24 or newer.",
                "Upgrade Docker Engine on that host.",
            )
        chosen = min(server_version, NEWEST_API)
        client = self._new_client(resolved, f"{chosen[0]}.{chosen[1]}")
        state = self._calls.get(threading.get_ident())
        with self._lock:
            if state is not None and state.abandoned:
                client.close()
                raise self._timed_out()
            if self._client is not None:
                client.close()
                return self._client
            self._api_version = chosen
            self._engine_version = engine_version
            self._client = client
            return client

    def close(self) -> None:
        """Close the client, and end the calls still waiting in other threads.

        At exit, a call that a signal or a quit cut short still waits in its
        thread, and its ssh process would outlive swarmtui until the engine
        replies.
        """
        for ident in list(self._calls):
            self._abandon(ident)
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- deadline ---------------------------------------------------------

    def _run(self, operation: Callable[[Client], T]) -> T:
        """Run `operation` on a client within the deadline.

        The version check that precedes the first call (GET /version) has a
        deadline of its own, so no single request waits more than `timeout`
        seconds, and the first call may take up to twice that in total.
        """
        if self._resolve().base_url.startswith("unix://"):
            # Starting a thread for each call cost about 0.2 ms in a trace.
            client = self._shared_api(time.monotonic() + self._timeout)
            if isinstance(client, UnixSocketClient):
                client = client.with_deadline(time.monotonic() + self._timeout)
            return operation(client)
        with self._lock:
            shared = self._client
        if shared is None:
            shared = self._in_thread(lambda: self._shared_api(None))
        client = shared
        return self._in_thread(lambda: operation(client))

    def _in_thread(self, work: Callable[[], T]) -> T:
        """Run `work` in a daemon thread, and stop waiting for it at the deadline.

        The thread is a daemon because a thread pool's threads are joined at
        interpreter exit, so a call stuck in the network would keep the
        process alive.
        """
        outcome: list[Any] = []
        failure: list[BaseException] = []
        done = threading.Event()

        def run() -> None:
            self._calls[threading.get_ident()] = _CallState()
            try:
                outcome.append(work())
            except BaseException as error:  # handed to the waiting thread
                failure.append(error)
            finally:
                state = self._calls.pop(threading.get_ident(), None)
                if state is not None:
                    _end_ssh_processes(state.ssh_processes)
                done.set()

        worker = threading.Thread(target=run, name=CALL_THREAD_NAME, daemon=True)
        worker.start()
        if not done.wait(self._timeout):
            not_logged_in = self._ssh_not_logged_in(worker.ident)
            self._abandon(worker.ident)
            raise not_logged_in or self._timed_out()
        if failure:
            raise failure[0]
        return outcome[0]  # type: ignore[no-any-return]

    def _abandon(self, ident: int | None) -> None:
        """Close the sockets and clients of a call that passed its deadline."""
        state = self._calls.get(ident or 0)
        if state is None:
            return
        state.abandoned = True
        # NOTE: a tcp:// connection, or a reused keep-alive one, is known only
        # once response headers arrive. If headers drip in slowly, its daemon
        # thread lives on until the server stops, though the caller has its error.
        log.debug("engine call to %s abandoned after its deadline", self._label)

        sockets = list(state.sockets)
        sockets += [getattr(c, "sock", None) for c in state.connections]
        for sock in sockets:
            if sock is None:
                continue
            with contextlib.suppress(OSError, AttributeError):
                sock.shutdown(socket.SHUT_RDWR)
            process = getattr(sock, "proc", None)
            if process is not None:
                # The SDK's ssh:// socket is an ssh process, which keeps the
                # terminal's stderr open until it ends.
                with contextlib.suppress(OSError):
                    process.terminate()
        with self._lock:
            if self._client is not None and self._client in state.clients:
                self._client = None
        for client in state.clients:
            try:
                client.close()
            except Exception as error:  # closing is best effort
                log.debug("closing an abandoned client failed: %s", error)

    def _ssh_not_logged_in(self, ident: int | None) -> RequestTimeoutError | None:
        """Return the timeout error for a call whose ssh process has not logged in.

        ssh runs with LogLevel=VERBOSE, so a process that is still running
        without an "Authenticated to" line has not finished its login, and
        the request has not reached dockerd.
        """
        state = self._calls.get(ident or 0)
        if state is None or not state.ssh_processes:
            return None
        ssh = state.ssh_processes[-1]
        if ssh.process.poll() is not None:
            return None
        if any(line.startswith(SSH_LOGGED_IN) for line in _stderr_lines(ssh.stderr)):
            return None
        url = self._resolve().base_url
        return RequestTimeoutError(
            f"The ssh server for {self._address_label()} did not respond within "
            f"{seconds_text(self._timeout)}, so ssh had not logged in and the "
            "request did not reach dockerd.",
            "Check that an ssh server listens at that address and port and that "
            f"'ssh {_ssh_login(url)}' logs in, then retry, or raise the timeout "
            "with --timeout.",
            sent=False,
        )

    def _address_label(self) -> str:
        """Return the endpoint's label, which names the engine's address.

        A docker context's label is its name followed by its host.
        """
        resolved = self._resolved
        return self._label or (resolved.label if resolved else "?")

    def _timed_out(self) -> RequestTimeoutError:
        label = self._address_label()
        return RequestTimeoutError(
            f"The engine at {label} did not respond within "
            f"{seconds_text(self._timeout)}.",
            "Check that dockerd is running and not overloaded, and that the "
            "swarm's managers have quorum (a manager that lost it holds "
            "requests until it returns), then retry, or raise the timeout "
            "with --timeout.",
        )

    def _not_an_engine(self, detail: str) -> EngineError:
        label = self._address_label()
        # A connection closed at once is no response, so the message does
        # not say that the endpoint responded.
        verb = "responded"
        if detail == CLOSED_WITHOUT_RESPONSE:
            verb = "accepted the connection"
        return EngineError(
            f"The endpoint {label} {verb}, but not as a Docker Engine API: "
            f"{shorten(detail, 120)}.",
            "Check that the address points at dockerd's API socket or port, "
            "or choose another engine with -H, -c, DOCKER_HOST or DOCKER_CONTEXT.",
        )

    def _parsed(self, parse: Callable[[], T]) -> T:
        """Return `parse()`, turning a reply of an unexpected shape into EngineError."""
        try:
            return parse()
        except ReplyShapeError as error:
            raise self._not_an_engine(str(error)) from None

    # -- error translation ------------------------------------------------

    def _call(self, function: Any) -> Any:
        try:
            return function()
        except SwarmTuiError:
            raise
        except Exception as error:
            raise self._translate(error) from None

    def _translate(self, error: BaseException) -> SwarmTuiError:
        """Map an SDK, requests or socket failure to a user-facing error.

        Failures to reach the engine name its address too; the engine's own
        errors name only the endpoint's label.
        """
        label = self._address_label()
        text = redact(str(error))
        log.debug("engine call to %s failed: %s", label, shorten(text, 2000))

        if isinstance(error, TimeoutError | _loaded("requests.exceptions", "Timeout")):
            return self._timed_out()
        if "Permission denied" in text or isinstance(error, PermissionError):
            hint = "Run as root or as a member of the docker group."
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                hint = (
                    "Check the socket's owner and mode with 'ls -l', and any "
                    "security policy that limits root on this host."
                )
            return PermissionDeniedError(
                f"Permission denied on the engine socket {label}.", hint
            )
        if isinstance(error, _loaded("requests.exceptions", "SSLError")):
            return tls_error(label, text, error, *self._tls_settings())
        not_engine = _not_engine_detail(error)
        if not_engine == CLOSED_WITHOUT_RESPONSE or (
            not not_engine and _is_connection_failure(error)
        ):
            ssh_failure = self._ssh_failure(label)
            if ssh_failure is not None:
                return ssh_failure
        if self._api_version is not None and not_engine in (
            CLOSED_WITHOUT_RESPONSE,
            BODY_CUT_SHORT,
            MALFORMED_BODY,
        ):
            # The endpoint already responded as an engine, so it stopped or
            # restarted during the call rather than being something else.
            cut = "in the middle of a response"
            if not_engine == CLOSED_WITHOUT_RESPONSE:
                cut = "without a response"
            return EngineUnreachableError(
                f"The engine at {label} closed the connection {cut}; it may "
                "have stopped or restarted.",
                "Check that dockerd is running there, then retry.",
            )
        if not_engine:
            return self._not_an_engine(not_engine)
        if isinstance(error, EngineHTTPError | _loaded("docker.errors", "APIError")):
            name = self._label or (self._resolved.label if self._resolved else "?")
            return self._translate_api_error(error, name)
        if _is_connection_failure(error):
            if "timed out" in text.lower():
                return RequestTimeoutError(
                    f"The engine at {label} did not respond within "
                    f"{seconds_text(self._timeout)}.",
                    "Check that dockerd is running, then retry.",
                )
            return EngineUnreachableError(
                f"Cannot connect to the Docker engine at {label}.",
                "Check that dockerd is running there, or choose another engine "
                "with -H, -c, DOCKER_HOST or DOCKER_CONTEXT.",
            )
        if isinstance(error, _loaded("docker.errors", "DockerException")):
            return EngineUnreachableError(
                f"Cannot use the Docker engine at {label}: {shorten(text)}",
                "Check the host, context and TLS settings.",
            )
        return EngineError(f"The engine call to {label} failed: {shorten(text)}")

    def _tls_settings(self) -> tuple[Any, TlsSource]:
        """Return the TLSConfig in use, if any, and where its settings came from."""
        resolved = self._resolved
        if resolved is None:
            return None, TlsSource()
        return resolved.tls, TlsSource(resolved.context, redact(resolved.base_url))

    def _ssh_failure(self, label: str) -> SwarmTuiError | None:
        """Return the error for the call's last ssh process, if it failed.

        An ssh:// connection is the stdin and stdout of an ssh process that
        runs `docker system dial-stdio` on the host. When ssh cannot connect
        or log in, or the remote command fails, the process exits, and the
        SDK gets a connection closed without a response. That is not a
        server that speaks something other than HTTP, so the message quotes
        what ssh or the remote command wrote to stderr.
        """
        state = self._calls.get(threading.get_ident())
        if state is None or not state.ssh_processes:
            return None
        # A call's requests run one after another, so the failed one is last.
        failed = state.ssh_processes[-1]
        try:
            # ssh closes its stdout as it exits, so the wait is short.
            status = failed.process.wait(timeout=SSH_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            return None
        if status == 0:
            return None
        # NOTE: the status alone cannot name the cause. ssh exits with 255
        # when it cannot connect or log in, and also when the SDK stops it
        # with SIGTERM on closing the connection, which can come before the
        # remote command's own status arrives.
        url = self._resolve().base_url
        remove_key = _host_key_changed(failed.stderr)
        if remove_key:
            return EngineUnreachableError(
                f"Cannot connect to the Docker engine at {label} through ssh: the "
                "ssh server's host key has changed since it was stored in "
                "known_hosts.",
                "Another machine may pose as the host (a man-in-the-middle "
                "attack), or the host got a new key. Check the new key with the "
                f"host's admin, then remove the old one with '{remove_key}' and "
                f"connect once with 'ssh {_ssh_login(url)}' to accept the new one.",
            )
        reason = _last_stderr_line(failed.stderr) or f"ssh exited with status {status}"
        return EngineUnreachableError(
            f"Cannot connect to the Docker engine at {label} through ssh: "
            f"{_sentence(reason)}",
            _ssh_hint(reason, url),
        )

    def _tls_missing(self, label: str) -> TlsError:
        """Describe a plain HTTP request that the engine's TLS port rejected."""
        _, source = self._tls_settings()
        if source.context:
            return TlsError(
                f"The engine at {label} serves its API over TLS, and docker "
                f"context {source.context!r} has no TLS settings.",
                "Give the context the engine's CA and a client certificate and "
                f"key with '{source.update_command()}'.",
            )
        return TlsError(
            f"The engine at {label} serves its API over TLS, and the request "
            "was sent without it.",
            "Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder with "
            "ca.pem, cert.pem and key.pem, or use a docker context with TLS "
            "files.",
        )

    def _translate_api_error(self, error: Any, label: str) -> SwarmTuiError:
        # An empty explanation means a reply without a message (an empty body
        # or JSON message). str(error) would repeat the status code instead.
        given = getattr(error, "explanation", None)
        raw = redact(str(error) if given is None else str(given))
        # One line: an error page's line breaks would show as escapes.
        explanation = shorten(" ".join(raw.split()))
        lowered = explanation.lower()
        status = getattr(error, "status_code", None)
        if _is_html(error, explanation):
            # The engine's errors are JSON or plain text; an HTML page comes
            # from a web server or proxy at the address.
            return self._not_an_engine(f"HTTP {status} with an HTML page")

        if "update out of sequence" in lowered:
            return _OutOfSequence(explanation)
        if "http request to an https server" in lowered:
            return self._tls_missing(label)
        if "worker nodes can't be used" in lowered:
            return NotAManagerError(
                f"The engine at {label} is a worker node; only managers can read "
                "or rotate join tokens.",
                "Run the command against a manager node.",
            )
        if "needs to be unlocked" in lowered:
            return SwarmLockedError(
                f"The swarm manager at {label} is locked.",
                f"Unlock it with '{self.unlock_command}' and the unlock key, "
                "then retry.",
            )
        if "not a swarm manager" in lowered:
            return NotInSwarmError(
                f"The engine at {label} is not part of a swarm.",
                not_in_swarm_hint(self.docker_cli),
            )
        if "does not have a leader" in lowered or "no leader" in lowered:
            return ManagerNotReadyError(
                f"The swarm at {label} has no leader right now.",
                "Bring enough managers back online for a majority, or wait for "
                "an election, then retry.",
            )
        if "deadline exceeded" in lowered or "lost leader" in lowered:
            # Seen from dockerd 20.10 once a manager has lost quorum: on GET
            # /swarm the Raft store cannot respond within the engine's
            # deadline, and POST /swarm/update also fails with "node lost
            # leader status". Raft may still commit such an update later.
            not_ready = ManagerNotReadyError(
                f"The swarm managers behind {label} did not finish the request "
                "in time; they may have lost quorum.",
                f"Check '{self.docker_cli} node ls' on a manager, then read the "
                "tokens again before you retry a rotation.",
            )
            not_ready.update_may_apply = True
            return not_ready
        if status == 503 or "code = unavailable" in lowered:
            # Seen from dockerd 20.10 right after the node was demoted: its
            # swarm control socket was gone for a moment.
            detail = f": {_sentence(explanation)}" if explanation else " (503)."
            return ManagerNotReadyError(
                f"The swarm manager at {label} is not available right now{detail}",
                "It may be restarting or changing role. Wait a few seconds and "
                "retry; if it keeps failing, check 'docker node ls' on another "
                "manager.",
            )
        if "is too new" in lowered:
            return ApiTooOldError(
                f"The engine at {label} rejected the API version: "
                f"{_sentence(explanation)}",
                "Upgrade Docker Engine on that host.",
            )
        if "is too old" in lowered or (status == 400 and "version" in lowered):
            return ApiTooOldError(
                f"The engine at {label} rejected the API version: "
                f"{_sentence(explanation)}",
                "Update swarmtui and its docker package to releases that speak "
                "this engine's API version.",
            )
        if not explanation:
            return EngineError(
                f"The engine at {label} returned an error ({status}) with no message."
            )
        return EngineError(
            f"The engine at {label} returned an error ({status}): "
            f"{_sentence(explanation)}"
        )

    # -- calls ------------------------------------------------------------

    def engine_info(self) -> EngineInfo:
        info = self._run(lambda api: self._call(api.info))
        api_version = ".".join(str(part) for part in self._api_version or (0, 0))
        return self._parsed(
            lambda: engine_info_from_api(
                info, api_version=api_version, engine_version=self._engine_version
            )
        )

    def inspect_swarm(self) -> SwarmSnapshot:
        data = self._run(lambda api: self._call(api.inspect_swarm))
        return self._parsed(lambda: snapshot_from_api(data))

    def inspect_node(self, node_id: str) -> NodeInfo:
        data = self._run(lambda api: self._call(lambda: api.inspect_node(node_id)))
        return self._parsed(lambda: node_from_api(data, "GET /nodes/{id}"))

    def list_nodes(self) -> list[NodeInfo]:
        nodes = self._run(lambda api: self._call(api.nodes))
        return self._parsed(lambda: nodes_from_api(nodes))

    def update_swarm(
        self,
        version: int,
        spec: dict[str, Any],
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
        rotate_unlock_key: bool = False,
    ) -> None:
        if rotate_unlock_key:
            self._run(lambda api: None)  # negotiates the API version
        if rotate_unlock_key and (self._api_version or (0, 0)) < UNLOCK_KEY_MIN_API:
            raise ApiTooOldError(
                "Rotating the unlock key needs API 1.25 or newer; the engine "
                f"speaks {self._api_version}.",
                "Upgrade Docker Engine on that host.",
            )
        try:
            # The Spec read by inspect_swarm goes back unchanged: an empty or
            # rebuilt Spec would reset autolock, CA expiry, Raft and more.
            self._run(
                lambda api: self._call(
                    lambda: api.update_swarm(
                        version=version,
                        swarm_spec=spec,
                        rotate_worker_token=rotate_worker_token,
                        rotate_manager_token=rotate_manager_token,
                        rotate_manager_unlock_key=rotate_unlock_key,
                    )
                )
            )
        except _OutOfSequence as error:
            raise UpdateOutOfSequence(error.message) from None

    def unlock_key(self) -> str:
        data = self._run(lambda api: self._call(api.get_unlock_key))
        return self._parsed(lambda: unlock_key_from_api(data))


class _NeverRaised(Exception):
    """An exception class in place of one from a library that is not imported."""


def ssh_command(url: str) -> list[str]:
    """Build the ssh command that runs `docker system dial-stdio` for an ssh:// URL.

    ssh never prompts, and `-p` is passed only when the URL has a port, as
    the docker CLI does, so that a Port in ~/.ssh/config applies otherwise.
    The docker SDK's URL parser adds port 22 to a URL without one, so the
    SDK's host is not used.
    """
    parts = urllib.parse.urlsplit(url)
    # BatchMode makes ssh fail at once where it would ask on the terminal
    # (an unknown host key, a password, a key's passphrase): the prompt
    # would be drawn over the console, and the call would time out.
    # LogLevel=VERBOSE makes ssh write "Authenticated to ..." once it has
    # logged in, which distinguishes a silent ssh server from a silent dockerd.
    command = ["ssh", "-o", "BatchMode=yes", "-o", "LogLevel=VERBOSE"]
    if parts.username:
        command += ["-l", urllib.parse.unquote(parts.username)]
    if parts.port is not None:
        command += ["-p", str(parts.port)]
    remote = "docker system dial-stdio"
    if parts.path.strip("/"):
        # A socket path after the host picks the remote engine, as with the
        # docker CLI: ssh://admin@host/run/user/1000/docker.sock.
        socket_url = shlex.quote(f"unix://{urllib.parse.unquote(parts.path)}")
        remote = f"docker --host {socket_url} system dial-stdio"
    command += ["--", parts.hostname or "", remote]
    return command


def sdk_base_url(url: str) -> str:
    """Return the base URL for the docker SDK, which takes no path in an ssh:// URL.

    ssh_command puts the socket path in the remote command instead.
    """
    if not url.startswith("ssh://"):
        return url
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _ssh_login(url: str) -> str:
    """Return the `ssh` arguments that log in as an ssh:// URL does, as "-p 22 u@h"."""
    parts = urllib.parse.urlsplit(url)
    login = parts.hostname or ""
    if parts.username:
        login = f"{urllib.parse.unquote(parts.username)}@{login}"
    if parts.port is not None:
        login = f"-p {parts.port} {login}"
    return login


def _ssh_hint(reason: str, url: str) -> str:
    """Return what to do about an ssh failure whose last stderr line is `reason`."""
    login = _ssh_login(url)
    if "host key verification failed" in reason.lower():
        return (
            "swarmtui runs ssh with BatchMode=yes, so ssh cannot ask whether to "
            f"trust the host key. Connect once with 'ssh {login}' to check the "
            "key and accept it, then retry."
        )
    # ssh writes "Permission denied (publickey)." with the methods it tried.
    # The remote docker CLI's "permission denied while trying to connect"
    # is not a login failure.
    if "Permission denied (" in reason:
        return (
            "swarmtui runs ssh with BatchMode=yes, so ssh cannot ask for a "
            "password or a key's passphrase. Load the key into ssh-agent with "
            f"'ssh-add', or use a key that 'ssh {login}' accepts without a "
            "prompt."
        )
    return (
        "Check that 'ssh' logs in to that host without a prompt, and that "
        "'docker version' works there for that user."
    )


def _ignore_sigint() -> None:
    """Ignore SIGINT in an ssh child, so that Ctrl+C reaches only swarmtui."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Lines that ssh writes at LogLevel=VERBOSE on a login and as it exits,
# after any error (OpenSSH 9.2, sshconnect2.c and clientloop.c). None of
# them is the cause of a failure. "Killed by signal 15." follows a SIGTERM,
# which the docker SDK sends when it closes the connection.
SSH_VERBOSE_PREFIXES = (
    "Authenticated to ",
    "Transferred: ",
    "Bytes per second: ",
    "Killed by signal ",
)
SSH_LOGGED_IN = "Authenticated to "


def _stderr_lines(stderr: IO[bytes]) -> list[str]:
    """Return the non-empty lines at the end of an ssh process's stderr file.

    The file is read with pread, which leaves alone the file offset that
    the ssh process shares and may still write at.
    """
    try:
        size = os.fstat(stderr.fileno()).st_size
        start = max(0, size - SSH_STDERR_TAIL)
        data = os.pread(stderr.fileno(), size - start, start)
    except (OSError, ValueError):
        return []
    text = data.decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _last_stderr_line(stderr: IO[bytes]) -> str:
    """Return the last line of an ssh process's stderr that names a cause, redacted."""
    lines = [
        line
        for line in _stderr_lines(stderr)
        if not line.startswith(SSH_VERBOSE_PREFIXES)
    ]
    if not lines:
        return ""
    return shorten(redact(lines[-1]))


def _host_key_changed(stderr: IO[bytes]) -> str:
    """Return ssh's command that removes a changed host key, or "" if none changed.

    ssh prints "REMOTE HOST IDENTIFICATION HAS CHANGED", then the command
    'ssh-keygen -f "KNOWN_HOSTS" -R "HOST"', before "Host key verification
    failed." (OpenSSH 9.2). A changed key may only print "Host key for HOST
    has changed", so "ssh-keygen -R" stands for the command then.
    """
    lines = _stderr_lines(stderr)
    changed = any(
        "REMOTE HOST IDENTIFICATION HAS CHANGED" in line
        or (line.startswith("Host key for ") and " has changed" in line)
        for line in lines
    )
    if not changed:
        return ""
    for line in lines:
        if line.startswith("ssh-keygen ") and " -R " in line:
            return shorten(redact(line))
    return "ssh-keygen -R HOST"


def _end_ssh_processes(ssh_processes: list[_SshProcess]) -> None:
    """End the ssh processes of a finished call, reap them and close their files.

    With the system ssh client, docker SDK 7.2 starts one ssh process per
    connection and never reuses the connection. `APIClient.close()` does not
    end the process: it ends once the garbage collector frees the
    connection and its pipes. Until then each call would leave an ssh
    process, and a session on the host, running.
    """
    for ssh in ssh_processes:
        process = ssh.process
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.terminate()
        try:
            process.wait(timeout=SSH_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            log.debug("ssh process %s ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.wait()
        for pipe in (process.stdin, process.stdout, ssh.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _loaded(module: str, name: str) -> type[BaseException]:
    """Return `module.name` if that module is imported, else a class never raised.

    An error of the docker SDK or requests can only occur once they are
    imported, so checking for one does not import them.
    """
    found = getattr(sys.modules.get(module), name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    return _NeverRaised


def _keep_tls_verify(client: Any) -> None:
    """Keep the client's CA file when REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE is set.

    requests puts either variable in place of the CA file that the docker SDK
    sets on its session, so the engine's certificate would be checked against
    the system's CAs. Proxy settings from the environment still apply.
    """
    merge = client.merge_environment_settings

    def merge_keeping_verify(*args: Any, **kwargs: Any) -> Any:
        settings = merge(*args, **kwargs)
        settings["verify"] = client.verify
        return settings

    client.merge_environment_settings = merge_keeping_verify


def _silence_insecure_request_warnings() -> None:
    """Drop urllib3's InsecureRequestWarning for this process.

    urllib3 warns at each unverified HTTPS request, with a source line from
    site-packages, and EngineBackend has already logged one warning that
    names the setting to change.
    """
    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)


def _is_html(error: Any, explanation: str) -> bool:
    """Return True when an error response's body is an HTML page."""
    content_type = getattr(error, "content_type", None)
    if content_type is None:
        response = getattr(error, "response", None)
        headers = getattr(response, "headers", None) or {}
        content_type = headers.get("Content-Type", "")
    return "html" in str(content_type).lower() or explanation.lstrip().startswith("<")


def _is_connection_failure(error: BaseException) -> bool:
    """Return True for a socket error, or for requests' failed-connection error.

    Every error of requests is an OSError, so only its ConnectionError counts.
    """
    if isinstance(error, _loaded("requests.exceptions", "ConnectionError")):
        return True
    requests_error = _loaded("requests.exceptions", "RequestException")
    return isinstance(error, OSError) and not isinstance(error, requests_error)


def _sentence(text: str) -> str:
    """End `text` with a period unless it already ends a sentence."""
    return text if text.endswith((".", "!", "?", "\u2026")) else text + "."


def _not_engine_detail(error: BaseException) -> str:
    """Describe an answer that is not HTTP or not JSON; empty for other failures.

    A closed connection after connect, a non-HTTP status line, a broken
    chunked body, a body that is not JSON and an oversized body all show that
    something listens at the address, so "cannot connect" would be wrong.
    """
    import http.client
    import json

    if isinstance(error, ResponseTooLargeError):
        return f"the response is larger than {MAX_RESPONSE_BYTES // 2**20} MiB"
    if isinstance(
        error, json.JSONDecodeError | _loaded("requests.exceptions", "JSONDecodeError")
    ):
        return "the response body is not JSON"
    if isinstance(
        error,
        _loaded("requests.exceptions", "ChunkedEncodingError")
        | _loaded("requests.exceptions", "ContentDecodingError")
        | _loaded("requests.exceptions", "InvalidHeader"),
    ):
        return MALFORMED_BODY
    for current in chained_exceptions(error):
        if isinstance(current, http.client.RemoteDisconnected):
            return CLOSED_WITHOUT_RESPONSE
        if isinstance(current, http.client.IncompleteRead):
            return BODY_CUT_SHORT
        if isinstance(current, http.client.LineTooLong) or (
            isinstance(current, http.client.HTTPException)
            and str(current).startswith("got more than")
        ):
            # http.client's limits: 64 KiB a line and 100 header lines.
            return "the response headers are too long"
        if isinstance(current, http.client.HTTPException):
            return "the response is not HTTP"
        if isinstance(current, ConnectionResetError | BrokenPipeError):
            return CLOSED_WITHOUT_RESPONSE
    return ""


class _OutOfSequence(SwarmTuiError):
    """Internal marker turned into UpdateOutOfSequence by update_swarm."""
