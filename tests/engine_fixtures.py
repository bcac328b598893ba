"""Private Docker daemons in swarm mode for the engine tests.

Each daemon gets its own short folder under the system temp folder, because
a unix socket path may have at most about 100 bytes. It also gets its own
loopback address and no networking of its own (no iptables rules, no bridge).
So several test runs and other daemons on the machine do not clash.
Addresses come from ``SWARMTUI_TEST_ADDR_PREFIX`` (default ``127.0.9``). An
address is taken only when its swarm port can be bound and its lock file, in
the temp folder, is free. On request (``new_daemon(tcp=True)``) a daemon also
serves its API in plain HTTP on a free port of its own loopback address, or
(``new_daemon(tls=...)``) in HTTPS that requires a client certificate.

When dockerd is missing or cannot start, the engine tests are skipped, or
failed when ``CI=true``, so that CI never passes without them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tls_support import TlsFiles

# A function that issues the server certificate files for a daemon's address.
ServerTls = Callable[[str], "TlsFiles"]

SWARM_PORTS = (2377, 12377, 22377)
DEFAULT_ADDR_PREFIX = "127.0.9"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
CLI_TIMEOUT = 90.0

# Variables that would point the docker CLI or the SDK at another engine.
ENGINE_VARIABLES = (
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "DOCKER_API_VERSION",
    "DOCKER_CONFIG",
)


class EngineUnavailable(Exception):
    """dockerd is missing or could not be started on this machine."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def engine_unavailable(reason: str) -> None:
    """Skip the calling test, or fail it under CI, because no engine can run."""
    if in_ci():
        pytest.fail(f"engine tests cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(f"no Docker engine for the engine tests: {reason}")


def docker_cli() -> str:
    """Return the docker CLI used to set the daemons up."""
    for candidate in ("/usr/bin/docker", "/usr/local/bin/docker"):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("docker")
    if found is None:
        raise EngineUnavailable("the docker CLI is not installed")
    return found


def dockerd_binary() -> str:
    """Return the dockerd to start: SWARMTUI_TEST_DOCKERD, or the installed one."""
    chosen = os.environ.get("SWARMTUI_TEST_DOCKERD")
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise EngineUnavailable(f"SWARMTUI_TEST_DOCKERD={chosen} is not executable")
        return chosen
    for candidate in ("/usr/sbin/dockerd", "/usr/bin/dockerd"):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("dockerd")
    if found is None:
        raise EngineUnavailable("dockerd is not installed (apt-get install docker.io)")
    return found


def swarmtui_script() -> str:
    """Return the installed `swarmtui` console script of this interpreter."""
    script = Path(sys.executable).parent / "swarmtui"
    if not script.exists():
        found = shutil.which("swarmtui")
        if found is None:
            raise FileNotFoundError("the swarmtui console script is not installed")
        return found
    return str(script)


def without_file_access(command: list[str]) -> list[str]:
    """Return `command` prefixed to run without root's power to read every file.

    For a user other than root, `command` is returned unchanged.
    """
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]


def clean_environment(**extra: str) -> dict[str, str]:
    """Return os.environ without the engine selection variables, plus `extra`."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ENGINE_VARIABLES
    }
    environment.update(extra)
    return environment


# -- addresses ------------------------------------------------------------


def address_prefix() -> str:
    prefix = os.environ.get("SWARMTUI_TEST_ADDR_PREFIX", DEFAULT_ADDR_PREFIX)
    prefix = prefix.strip().rstrip(".")
    parts = prefix.split(".")
    if len(parts) != 3 or parts[0] != "127" or not all(p.isdigit() for p in parts):
        raise ValueError(
            f"SWARMTUI_TEST_ADDR_PREFIX must be three parts of a loopback "
            f"address such as 127.0.9, not {prefix!r}."
        )
    return prefix


def _port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                return False
            raise
    return True


@dataclass
class AddressLease:
    """A loopback address and swarm port held for one daemon by a file lock."""

    address: str
    port: int
    lock_file: int

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            os.close(self.lock_file)


def lease_address() -> AddressLease:
    """Take a free loopback address and swarm port from the configured prefix.

    Port 2377 is preferred. A daemon on the same machine that listens on
    0.0.0.0:2377 occupies that port on every loopback address, so a higher port
    is tried next.
    """
    prefix = address_prefix()
    lock_dir = Path(tempfile.gettempdir()) / "swarmtui-test-addresses"
    lock_dir.mkdir(mode=0o755, exist_ok=True)
    for port in SWARM_PORTS:
        for host in range(2, 255):
            address = f"{prefix}.{host}"
            if not _port_free(address, port):
                continue
            lock_path = lock_dir / f"{address}:{port}"
            descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            if _port_free(address, port):
                return AddressLease(address, port, descriptor)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)
    raise EngineUnavailable(
        f"no free loopback address in {prefix}.2-254 on ports {SWARM_PORTS}"
    )


# -- talking to a daemon --------------------------------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def ping(socket_path: str, timeout: float = 2.0) -> bool:
    """Return whether a daemon responds to `GET /_ping` on `socket_path`."""
    return _ping(_UnixConnection(socket_path, timeout))


def ping_tcp(address: str, port: int, timeout: float = 2.0) -> bool:
    """Return whether a daemon responds to `GET /_ping` on `address:port`."""
    return _ping(http.client.HTTPConnection(address, port, timeout=timeout))


def _ping(connection: http.client.HTTPConnection) -> bool:
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@dataclass(eq=False)
class Daemon:
    """One private dockerd: its folder, socket, pid file and loopback address."""

    directory: Path
    lease: AddressLease
    process: subprocess.Popen[bytes] | None = None
    log_file: object = None
    joined_to: Daemon | None = field(default=None, repr=False)
    node_id_seen: str = ""
    tcp_port: int | None = None
    tls: TlsFiles | None = None
    tls_port: int | None = None

    @property
    def address(self) -> str:
        return self.lease.address

    @property
    def socket_path(self) -> str:
        return str(self.directory / "d.sock")

    @property
    def host(self) -> str:
        """The daemon's socket in DOCKER_HOST form."""
        return f"unix://{self.socket_path}"

    @property
    def tcp_host(self) -> str:
        """The daemon's plain-HTTP listener in DOCKER_HOST form (tcp://...)."""
        if self.tcp_port is None:
            raise RuntimeError(
                f"the daemon in {self.directory} has no tcp listener. "
                "Start it with new_daemon(tcp=True)."
            )
        return f"tcp://{self.address}:{self.tcp_port}"

    @property
    def tls_host(self) -> str:
        """The daemon's HTTPS listener in DOCKER_HOST form (tcp://...)."""
        if self.tls_port is None:
            raise RuntimeError(
                f"the daemon in {self.directory} has no TLS listener. "
                "Start it with new_daemon(tls=...)."
            )
        return f"tcp://{self.address}:{self.tls_port}"

    @property
    def pid_file(self) -> Path:
        return self.directory / "d.pid"

    @property
    def log_path(self) -> Path:
        return self.directory / "dockerd.log"

    @property
    def swarm_address(self) -> str:
        return f"{self.address}:{self.lease.port}"

    def start(self) -> None:
        """Start dockerd and wait until it responds on its socket and tcp port."""
        binary = dockerd_binary()
        # dockerd 20.10.24 logs two warnings for a tcp listener without TLS,
        # with or without --tls=false, then waits about one second before it
        # starts. It does not reject the listener.
        listeners = ["--host", self.tcp_host] if self.tcp_port is not None else []
        listeners += self._tls_arguments()
        command = [
            binary,
            "--host",
            self.host,
            *listeners,
            "--data-root",
            str(self.directory / "data"),
            "--exec-root",
            str(self.directory / "x"),
            "--pidfile",
            str(self.pid_file),
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.log_file = log
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_environment(),
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EngineUnavailable(
                    f"dockerd exited with status {self.process.returncode}: "
                    + self.log_tail()
                )
            if self._responds():
                return
            time.sleep(0.1)
        listener = self.socket_path
        if self.tcp_port is not None:
            listener += f" and {self.tcp_host}"
        if self.tls_port is not None:
            listener += f" and {self.tls_host}"
        raise EngineUnavailable(
            f"dockerd did not answer on {listener} within "
            f"{START_TIMEOUT:g} s: {self.log_tail()}"
        )

    def _responds(self) -> bool:
        """Return whether the daemon responds on its socket and its tcp port."""
        if not (os.path.exists(self.socket_path) and ping(self.socket_path)):
            return False
        if self.tls_port is not None and not self._tls_listening():
            return False
        return self.tcp_port is None or ping_tcp(self.address, self.tcp_port)

    def _tls_arguments(self) -> list[str]:
        """Return dockerd's options for an HTTPS listener that verifies clients."""
        if self.tls_port is None or self.tls is None:
            return []
        return [
            "--host",
            self.tls_host,
            "--tlsverify",
            "--tlscacert",
            str(self.tls.ca),
            "--tlscert",
            str(self.tls.cert),
            "--tlskey",
            str(self.tls.key),
        ]

    def _tls_listening(self) -> bool:
        """Return whether dockerd has logged that it serves the TLS port.

        The fixture has no client certificate, so it reads the log rather
        than pinging the port. dockerd 20.10.24 logs "API listen on ADDR:PORT"
        for a tcp listener a few milliseconds after the line for its socket.
        """
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return False
        return f"API listen on {self.address}:{self.tls_port}" in text

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def docker(
        self,
        *arguments: str,
        check: bool = True,
        timeout: float = CLI_TIMEOUT,
        host: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this daemon, by `host` if given (tcp_host)."""
        host = host or self.host
        result = subprocess.run(
            [docker_cli(), "-H", host, *arguments],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=clean_environment(DOCKER_CONFIG=str(self.directory / "cli")),
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"docker {arguments[0]} {arguments[1] if len(arguments) > 1 else ''}"
                f" failed on {host} with status {result.returncode}: "
                f"{result.stderr.strip()}"
            )
        return result

    def swarm_init(self) -> None:
        self.docker(
            "swarm",
            "init",
            "--advertise-addr",
            self.address,
            "--listen-addr",
            self.swarm_address,
        )

    def node_id(self) -> str:
        result = self.docker("info", "--format", "{{.Swarm.NodeID}}")
        self.node_id_seen = result.stdout.strip() or self.node_id_seen
        return self.node_id_seen

    def stop(self) -> None:
        """Stop dockerd by its pid file, then any containerd it left behind."""
        pid = self._pid_from_file()
        if pid is None and self.process is not None:
            pid = self.process.pid
        # A pid file left behind may name a pid that another process has
        # taken since, so only a process started from this folder is stopped.
        if pid is not None and pid in processes_using(self.directory):
            _terminate(pid)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        for leftover in processes_using(self.directory):
            _terminate(leftover)
        if self.log_file is not None:
            self.log_file.close()  # type: ignore[attr-defined]
            self.log_file = None

    def restart(self) -> None:
        self.stop()
        self.process = None
        self.start()

    def _pid_from_file(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        self.stop()
        self.lease.release()
        unmount_under(self.directory)
        shutil.rmtree(self.directory, ignore_errors=True)


def unmount_under(directory: Path) -> None:
    """Unmount what a stopped dockerd left in its folder (network namespaces)."""
    prefix = str(directory) + "/"
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    targets = [line.split()[1] for line in lines if len(line.split()) > 1]
    for target in sorted(targets, reverse=True):
        if target.startswith(prefix):
            subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def processes_using(directory: Path) -> list[int]:
    """List the pids whose command line names `directory` (our own daemons)."""
    needle = str(directory).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in command_line and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def _terminate(pid: int) -> None:
    """Send SIGTERM to `pid`, then SIGKILL if it is still alive after a while."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    # A child of this process stays a zombie until it is reaped, so read its
    # state rather than only probing with signal 0.
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = status.rpartition(")")[2].split()[0]
    return state != "Z"


def free_tcp_port(address: str) -> int:
    """Return a port on `address` that the kernel reports free right now.

    The address lease keeps other test daemons off `address`. Should another
    process take the port before dockerd binds it, dockerd exits and start()
    raises EngineUnavailable with the daemon's log.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
    return port


def new_daemon(tcp: bool = False, tls: ServerTls | None = None) -> Daemon:
    """Create, start and return a daemon; it is not in a swarm yet.

    With `tcp`, the daemon also listens in plain HTTP on a free port of its
    own loopback address (`Daemon.tcp_host`). With `tls`, a function that
    returns the server's certificate files for the daemon's address, it
    listens in HTTPS instead and accepts only clients whose certificate the
    CA in those files signed (`Daemon.tls_host`).
    """
    if tcp and tls is not None:
        # dockerd 20.10.24 applies --tlsverify to every tcp listener, so one
        # daemon cannot serve plain HTTP and HTTPS at once.
        raise ValueError("new_daemon takes tcp=True or tls, not both")
    lease = lease_address()
    directory = Path(tempfile.mkdtemp(prefix="stui", dir=tempfile.gettempdir()))
    daemon = Daemon(directory=directory, lease=lease)
    try:
        if tcp:
            daemon.tcp_port = free_tcp_port(lease.address)
        if tls is not None:
            daemon.tls = tls(lease.address)
            daemon.tls_port = free_tcp_port(lease.address)
    except BaseException:
        daemon.remove()
        raise
    if len(daemon.socket_path) > 100:
        daemon.remove()
        raise EngineUnavailable(
            f"the socket path {daemon.socket_path} is too long; set TMPDIR to a "
            "short folder"
        )
    try:
        daemon.start()
    except BaseException:
        daemon.remove()
        raise
    return daemon


# -- swarm helpers for tests ---------------------------------------------


def join_token(daemon: Daemon, role: str) -> str:
    """Return `docker swarm join-token -q ROLE` run against `daemon`."""
    return daemon.docker("swarm", "join-token", "-q", role).stdout.strip()


def join(node: Daemon, manager: Daemon, token: str) -> tuple[bool, str]:
    """Join `node` to `manager`'s swarm with `token`; return (ok, stderr)."""
    result = node.docker(
        "swarm",
        "join",
        "--token",
        token,
        "--listen-addr",
        node.swarm_address,
        "--advertise-addr",
        node.address,
        manager.swarm_address,
        check=False,
    )
    if result.returncode == 0:
        node.joined_to = manager
        node.node_id()
    return result.returncode == 0, result.stderr


def forget(node: Daemon) -> None:
    """Remove a stopped `node` from the node list of the swarm it joined."""
    manager = node.joined_to
    if manager is None or not node.node_id_seen:
        return
    manager.docker("node", "rm", "--force", node.node_id_seen, check=False)
    node.joined_to = None


def get_json(daemon: Daemon, path: str) -> Any:
    """Send `GET path` to the daemon's API and return the decoded JSON body."""
    connection = _UnixConnection(daemon.socket_path, CLI_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} returned {response.status}: {body[:200]!r}")
    return json.loads(body)


class DaemonPool:
    """Daemons started for one test, all removed when the test ends."""

    def __init__(self) -> None:
        self.daemons: list[Daemon] = []

    def daemon(self, tcp: bool = False, tls: ServerTls | None = None) -> Daemon:
        try:
            daemon = new_daemon(tcp=tcp, tls=tls)
        except EngineUnavailable as error:
            engine_unavailable(str(error))
            raise
        self.daemons.append(daemon)
        return daemon

    def swarm(self, tcp: bool = False, tls: ServerTls | None = None) -> Daemon:
        daemon = self.daemon(tcp=tcp, tls=tls)
        daemon.swarm_init()
        return daemon

    def close(self) -> None:
        # A swarm-mode dockerd takes seconds to shut down, so stop them all at
        # once before removing their folders.
        with ThreadPoolExecutor(max_workers=max(1, len(self.daemons))) as executor:
            list(executor.map(Daemon.stop, self.daemons))
        for daemon in reversed(self.daemons):
            daemon.remove()
            if not any(daemon.joined_to is other for other in self.daemons):
                forget(daemon)
        self.daemons.clear()


@contextlib.contextmanager
def daemon_pool() -> Iterator[DaemonPool]:
    pool = DaemonPool()
    try:
        yield pool
    finally:
        pool.close()


# -- fixtures (registered through tests/conftest.py) ----------------------


TCP_MANAGER_FIXTURE = "manager_tcp_host"


@pytest.fixture(scope="session")
def manager(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    """A manager of a one-node swarm, shared by the whole test session.

    It also listens on a tcp port when a selected test uses the
    `manager_tcp_host` fixture, so a session without such tests starts the
    daemon exactly as before.
    """
    tcp = any(
        TCP_MANAGER_FIXTURE in getattr(item, "fixturenames", ())
        for item in request.session.items
    )
    try:
        daemon = new_daemon(tcp=tcp)
    except EngineUnavailable as error:
        engine_unavailable(str(error))
        raise
    try:
        daemon.swarm_init()
    except BaseException:
        daemon.remove()
        raise
    yield daemon
    daemon.remove()


@pytest.fixture
def manager_host(manager: Daemon) -> str:
    """The session manager's socket in DOCKER_HOST form (unix://...)."""
    return manager.host


@pytest.fixture
def manager_tcp_host(manager: Daemon) -> str:
    """The session manager's plain-HTTP listener in DOCKER_HOST form (tcp://...)."""
    return manager.tcp_host


@pytest.fixture
def daemons() -> Iterator[DaemonPool]:
    """Start extra daemons on demand; each one is stopped when the test ends."""
    with daemon_pool() as pool:
        yield pool


@contextlib.contextmanager
def started_swarmtui(
    *arguments: str, environment: dict[str, str]
) -> Iterator[subprocess.Popen[str]]:
    """Start the installed `swarmtui` script with piped output; kill it at the end."""
    process = subprocess.Popen(
        [swarmtui_script(), *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def create_docker_context(config: Path, name: str, host: str) -> None:
    """Create docker context `name` for `host` in the docker CLI folder `config`."""
    created = subprocess.run(
        [docker_cli(), "context", "create", name, "--docker", f"host={host}"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", ""), "DOCKER_CONFIG": str(config)},
        timeout=60,
    )
    assert created.returncode == 0, created.stderr


def run_swarmtui(
    *arguments: str,
    host: str | None = None,
    timeout: float = CLI_TIMEOUT,
    environment: dict[str, str] | None = None,
    without_file_override: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `swarmtui` console script, with DOCKER_HOST set to `host`.

    `without_file_override` drops the capabilities that let root open any
    file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so root meets a socket's
    permission bits as any other user would.
    """
    extra = {"DOCKER_HOST": host} if host else {}
    env = clean_environment(**extra)
    if environment:
        env.update(environment)
    command = [swarmtui_script(), *arguments]
    if without_file_override:
        command = [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--",
            *command,
        ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=timeout,
    )


def assert_failure(
    result: subprocess.CompletedProcess[str], code: int, *phrases: str
) -> None:
    """Check a failed swarmtui run: its exit code, a one-message stderr, no token."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("swarmtui: ")
    for phrase in phrases:
        assert phrase in result.stderr
    assert "Traceback" not in result.stderr
    assert "SWMTKN" not in result.stderr


def post_json(daemon: Daemon, path: str, body: object) -> None:
    """Send `POST path` with a JSON body to the daemon's API."""
    connection = _UnixConnection(daemon.socket_path, CLI_TIMEOUT)
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"POST {path} returned {response.status}: {answer[:200]!r}")
