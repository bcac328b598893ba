"""Measure swarmtui next to its baselines in one run, and write BENCHMARKS.md.

Run from the repository root as `/work/venv/bin/python benchmarks/run.py`
(as root, since it starts a private dockerd). The script starts that daemon
in swarm mode on a short directory under /tmp. It drives the console and the
minimal Textual app through pseudo-terminals and times the CLIs as
subprocesses. At the end, also after a failure, it stops the daemon by the
pid in its pid file.

These are measurements, not tests: nothing here passes or fails a build.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import importlib.metadata
import os
import platform
import pty
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyte

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stdlib_floor

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "benchmarks"
PYTHON = sys.executable
SWARMTUI = str(Path(PYTHON).parent / "swarmtui")
COLUMNS, ROWS = 100, 30
LISTEN_HOST = "127.0.5.1"
RESULTS_START = "<!-- benchmark results: start -->"
RESULTS_END = "<!-- benchmark results: end -->"

JOIN_TEXT = "docker swarm join"
TOKEN_HEAD = "SWMTKN-1-"
FINGERPRINT_PATTERN = re.compile(r"fp:[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}")
CTRL_Q = b"\x11"
CTRL_R = b"\x12"
ESCAPE = b"\x1b"


# -- machine --------------------------------------------------------------


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / 1024 / 1024:.1f} GiB"
    return "unknown"


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_facts(
    engine_version: str, docker_cli_version: str
) -> list[tuple[str, str]]:
    return [
        ("CPU", cpu_model()),
        ("cores", str(os.cpu_count())),
        ("memory", memory_total()),
        ("kernel", platform.release()),
        ("Python", platform.python_version()),
        ("textual", package_version("textual")),
        ("docker SDK", package_version("docker")),
        ("dockerd", engine_version),
        ("docker CLI", docker_cli_version),
    ]


# -- private daemon -------------------------------------------------------


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class PrivateDaemon:
    """A dockerd in swarm mode on its own socket, stopped by its pid file."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="stb", dir="/tmp"))
        self.socket = str(self.dir / "docker.sock")
        self.pid_file = self.dir / "docker.pid"
        self.process: subprocess.Popen[bytes] | None = None
        self.version = ""
        self.join_port = 0

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        log = (self.dir / "dockerd.log").open("wb")
        self.process = subprocess.Popen(
            [
                "dockerd",
                "--host",
                self.host,
                "--data-root",
                str(self.dir / "data"),
                "--exec-root",
                str(self.dir / "exec"),
                "--pidfile",
                str(self.pid_file),
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dockerd exited with {self.process.returncode}; "
                    f"see {self.dir / 'dockerd.log'}"
                )
            try:
                version = self.call("GET", "/version")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("dockerd did not respond within 30 s") from None
                time.sleep(0.1)
        self.version = str(version["Version"])
        # Port 2377 may be taken on every address by another daemon on the
        # same machine, so the swarm listens on a free port of its own.
        self.join_port = free_port(LISTEN_HOST)
        address = f"{LISTEN_HOST}:{self.join_port}"
        self.call(
            "POST",
            f"{stdlib_floor.API}/swarm/init",
            {"ListenAddr": address, "AdvertiseAddr": address},
        )

    def call(self, method: str, path: str, body: Any = None) -> Any:
        connection = stdlib_floor.UnixHTTPConnection(self.socket, timeout=30)
        try:
            return stdlib_floor.request(connection, method, path, body)
        finally:
            connection.close()

    def tokens(self) -> dict[str, str]:
        swarm = self.call("GET", f"{stdlib_floor.API}/swarm")
        return dict(swarm["JoinTokens"])

    def stop(self) -> None:
        # Leaving the swarm lets dockerd remove its ingress network. The
        # network's namespace, mounted under the exec root, can still outlive
        # the daemon, so _unmount_leftovers runs after it stops.
        with contextlib.suppress(OSError, stdlib_floor.EngineCallError):
            self.call("POST", f"{stdlib_floor.API}/swarm/leave?force=true")
        pid = None
        with contextlib.suppress(OSError, ValueError):
            pid = int(self.pid_file.read_text().strip())
        if pid is None and self.process is not None:
            pid = self.process.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if self.process is not None and self.process.pid == pid:
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.kill(pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
        self._unmount_leftovers()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _unmount_leftovers(self) -> None:
        """Unmount what the daemon left mounted under its own folder."""
        prefix = str(self.dir) + "/"
        mounts = Path("/proc/mounts").read_text().splitlines()
        points = [line.split()[1] for line in mounts]
        for point in sorted(points, reverse=True):
            if point.startswith(prefix):
                subprocess.run(["umount", point], check=False, capture_output=True)


class HangingEngine:
    """A unix socket that accepts connections and never responds."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


# -- pseudo-terminal sessions ---------------------------------------------


@dataclass
class ExitStatus:
    status: int
    max_rss_kib: int


class PtySession:
    """A program on a pseudo-terminal, with its screen rebuilt by pyte.

    A reader thread stamps each chunk of output with perf_counter() as soon
    as os.read returns it, then feeds the screen. `wait_for` returns the stamp
    of the first chunk after which the predicate holds.
    """

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.condition = threading.Condition()
        self.chunks: list[tuple[float, int]] = []
        self.closed = False
        self.exit: ExitStatus | None = None
        self.last_stamp = 0.0
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child: size the terminal, then become the program
            try:
                size = struct.pack("HHHH", ROWS, COLUMNS, 0, 0)
                fcntl.ioctl(1, termios.TIOCSWINSZ, size)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            stamp = time.perf_counter()
            with self.condition:
                if not data:
                    self.closed = True
                    self.condition.notify_all()
                    return
                self.chunks.append((stamp, len(data)))
                self.stream.feed(data)
                self.last_stamp = stamp
                self.condition.notify_all()

    def text(self) -> str:
        with self.condition:
            return "\n".join(self.screen.display)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> float:
        """Return the arrival time of the output that made `predicate` true."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                if predicate("\n".join(self.screen.display)):
                    return self.last_stamp if self.chunks else time.perf_counter()
                if self.closed:
                    raise RuntimeError(
                        "the program exited before the expected screen "
                        "appeared; its last screen was:\n"
                        + "\n".join(self.screen.display)
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        "the expected screen did not appear within "
                        f"{timeout:g} s; the screen shows:\n"
                        + "\n".join(self.screen.display)
                    )
                self.condition.wait(remaining)

    def wait_quiet(self, quiet: float, limit: float) -> None:
        """Wait until no output arrived for `quiet` seconds, or `limit` passed."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self.condition:
                last = self.chunks[-1][0] if self.chunks else self.started
            if time.perf_counter() - last >= quiet:
                return
            time.sleep(0.05)

    def bytes_between(self, start: float, end: float) -> tuple[int, int]:
        """Return the bytes and the number of reads between two stamps."""
        with self.condition:
            inside = [size for stamp, size in self.chunks if start <= stamp < end]
        return sum(inside), len(inside)

    def send(self, data: bytes) -> float:
        stamp = time.perf_counter()
        os.write(self.fd, data)
        return stamp

    def cpu_seconds(self) -> float:
        """Return the user and system CPU time of the process so far.

        /proc/PID/stat counts ticks of 1/SC_CLK_TCK s (10 ms on Linux) for
        all threads, also those that have ended.
        """
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_memory_kib(self) -> int:
        """Return VmHWM, the peak resident set of the process so far."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def quit(self, keys: bytes = CTRL_Q, timeout: float = 5.0) -> ExitStatus:
        """Press the quit key; end the process by its pid if it does not exit."""
        if self.exit is not None:
            return self.exit
        with contextlib.suppress(OSError):
            self.send(keys)
        deadline = time.monotonic() + timeout
        signals = [signal.SIGTERM, signal.SIGKILL]
        while True:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.exit = ExitStatus(status, usage.ru_maxrss)
                break
            if time.monotonic() > deadline:
                if not signals:
                    raise RuntimeError(f"process {self.pid} did not exit")
                os.kill(self.pid, signals.pop(0))
                deadline = time.monotonic() + timeout
            time.sleep(0.02)
        self.reader.join(timeout=5)
        os.close(self.fd)
        return self.exit


# -- statistics and formatting --------------------------------------------


@dataclass
class Series:
    """Repeated measurements of one quantity, in one unit."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def spread(self, unit: str, scale: float = 1.0, digits: int = 1) -> str:
        low, high = min(self.values) * scale, max(self.values) * scale
        return f"{low:.{digits}f}-{high:.{digits}f} {unit}"

    def show(self, unit: str, scale: float = 1.0, digits: int = 1) -> str:
        return f"{self.median * scale:.{digits}f} {unit}"


@dataclass
class Figure:
    name: str
    measured: str
    measured_spread: str
    baseline_name: str
    baseline: str
    baseline_spread: str
    ratio: str
    goal: str
    met: bool | None
    runs: str


def ms(series: Series) -> tuple[str, str]:
    return series.show("ms", 1000), series.spread("ms", 1000)


def mib(series: Series) -> tuple[str, str]:
    return series.show("MiB", 1 / 1024), series.spread("MiB", 1 / 1024)


# -- the console and the minimal app --------------------------------------


def base_env(home: Path) -> dict[str, str]:
    """Return an environment that keeps the console's files inside `home`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DOCKER_", "TEXTUAL", "XDG_"))
    }
    env.update(
        TERM="xterm-256color",
        COLUMNS=str(COLUMNS),
        LINES=str(ROWS),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    env.pop("COLORTERM", None)
    env.pop("NO_COLOR", None)
    # An installed package has its bytecode compiled, but this repository is
    # installed in editable mode, and with PYTHONDONTWRITEBYTECODE every
    # start would compile swarmtui from source. The caches go under `home`.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


def both_commands_shown(text: str) -> bool:
    return text.count(JOIN_TEXT) >= 2 and text.count(TOKEN_HEAD) >= 2


def console_frame_shown(text: str) -> bool:
    """Tell whether the first frame is drawn: any text on screen at all."""
    return bool(text.strip())


LINE_SHOWN = "minimal textual app ready"


def showing(part: str) -> Callable[[str], bool]:
    """Return a check that the screen's text contains `part`."""
    return lambda text: part in text


def minimal_line_shown(text: str) -> bool:
    return LINE_SHOWN in text


class Bench:
    def __init__(self, args: argparse.Namespace, daemon: PrivateDaemon) -> None:
        self.args = args
        self.daemon = daemon
        self.home = daemon.dir / "home"
        self.home.mkdir()
        self.config = self.home / "bench.toml"
        self.config.write_text(f"poll_interval = {args.poll_interval}\n")
        self.figures: list[Figure] = []
        self.notes: list[str] = []

    # -- process starters ---------------------------------------------------

    def console(
        self, *extra: str, host: str | None = None, config: Path | None = None
    ) -> PtySession:
        env = base_env(self.home)
        env["DOCKER_HOST"] = host or self.daemon.host
        argv = [SWARMTUI, "--config", str(config or self.config), *extra]
        return PtySession(argv, env)

    def minimal(self, *extra: str) -> PtySession:
        env = base_env(self.home)
        return PtySession([PYTHON, str(BENCH_DIR / "minimal_app.py"), *extra], env)

    def minimal_with_sdk(self) -> PtySession:
        return self.minimal("--with-docker-sdk")

    # -- figures ------------------------------------------------------------

    def cli(self) -> None:
        env = base_env(self.home)
        env["DOCKER_HOST"] = self.daemon.host
        expected = self.daemon.tokens()["Worker"]
        commands = {
            "swarmtui": [SWARMTUI, "join-token", "-q", "worker"],
            "docker": ["docker", "swarm", "join-token", "-q", "worker"],
            "floor": [PYTHON, str(BENCH_DIR / "stdlib_floor.py"), "worker"],
            "floor-docker": [
                PYTHON,
                str(BENCH_DIR / "stdlib_floor.py"),
                "worker",
                "--calls",
                "docker",
            ],
        }
        series = {name: Series() for name in commands}
        names = list(commands)
        for run in range(self.args.cli_runs + 1):
            order = names[run % len(names) :] + names[: run % len(names)]
            for name in order:
                start = time.perf_counter()
                result = subprocess.run(
                    commands[name], env=env, capture_output=True, text=True
                )
                elapsed = time.perf_counter() - start
                if result.returncode != 0 or result.stdout.strip() != expected:
                    raise RuntimeError(
                        f"{shlex.join(commands[name])} failed "
                        f"({result.returncode}): {result.stderr.strip()}"
                    )
                if run > 0:  # the first round warms the page cache
                    series[name].values.append(elapsed)
        runs = f"{self.args.cli_runs} each, interleaved"
        swarmtui_time = series["swarmtui"]
        for baseline_name, key, goal, limit in [
            ("`stdlib_floor.py` (same calls)", "floor", "≤ 2.5x", 2.5),
            ("`stdlib_floor.py --calls docker`", "floor-docker", "", None),
            ("`docker swarm join-token -q worker`", "docker", "", None),
        ]:
            ratio = swarmtui_time.median / series[key].median
            self.figures.append(
                Figure(
                    "CLI `swarmtui join-token -q worker`",
                    *ms(swarmtui_time),
                    baseline_name,
                    *ms(series[key]),
                    f"{ratio:.2f}x",
                    goal or "—",
                    None if limit is None else ratio <= limit,
                    runs,
                )
            )

    def startup_and_memory(self) -> None:
        names = ["minimal", "console", "minimal_sdk"]
        starters = {
            "minimal": self.minimal,
            "console": self.console,
            "minimal_sdk": self.minimal_with_sdk,
        }
        startup = {name: Series() for name in names}
        first_frame = Series()
        cpu = {name: Series() for name in names}
        hwm = {name: Series() for name in names}
        maxrss = {name: Series() for name in names}
        for name in names:
            # One unmeasured start of each fills the bytecode cache.
            warm_up = starters[name]()
            try:
                warm_up.wait_for(lambda text: "Quit" in text or LINE_SHOWN in text, 60)
            finally:
                warm_up.quit()
        for run in range(self.args.startup_runs * len(names)):
            name = names[run % len(names)]
            session = starters[name]()
            try:
                if name == "console":
                    framed = session.wait_for(console_frame_shown, timeout=60)
                    first_frame.values.append(framed - session.started)
                    shown = session.wait_for(both_commands_shown, timeout=60)
                else:
                    shown = session.wait_for(minimal_line_shown, timeout=60)
                startup[name].values.append(shown - session.started)
                cpu[name].values.append(session.cpu_seconds())
                session.wait_quiet(0.5, 5)
                hwm[name].values.append(session.peak_memory_kib())
            finally:
                status = session.quit()
            maxrss[name].values.append(status.max_rss_kib)
        runs = f"{self.args.startup_runs} each, interleaved"
        sdk_baseline = "minimal Textual app that imports the docker SDK first"
        for label, series in [
            ("Console start-up to both join commands", startup["console"]),
            ("Console start-up to its first frame (first text on screen)", first_frame),
        ]:
            ratio = series.median / startup["minimal"].median
            self.figures.append(
                Figure(
                    label,
                    *ms(series),
                    "minimal Textual app to its line",
                    *ms(startup["minimal"]),
                    f"{ratio:.2f}x",
                    "≤ 1.6x",
                    ratio <= 1.6,
                    runs,
                )
            )
        self.figures.append(
            Figure(
                "Console start-up to both join commands",
                *ms(startup["console"]),
                f"{sdk_baseline}, to its line",
                *ms(startup["minimal_sdk"]),
                f"{startup['console'].median / startup['minimal_sdk'].median:.2f}x",
                "—",
                None,
                runs,
            )
        )
        # CPU time depends less than wall time on other work on the machine.
        for baseline, name in [
            ("minimal Textual app, CPU time until its line", "minimal"),
            (f"{sdk_baseline}, CPU time until its line", "minimal_sdk"),
        ]:
            self.figures.append(
                Figure(
                    "Console CPU time until both join commands are drawn",
                    *ms(cpu["console"]),
                    baseline,
                    *ms(cpu[name]),
                    f"{cpu['console'].median / cpu[name].median:.2f}x",
                    "—",
                    None,
                    runs,
                )
            )
        for label, table in [
            ("VmHWM before quitting", hwm),
            ("ru_maxrss from wait4", maxrss),
        ]:
            ratio = table["console"].median / table["minimal"].median
            self.figures.append(
                Figure(
                    f"Peak memory ({label})",
                    *mib(table["console"]),
                    "minimal Textual app",
                    *mib(table["minimal"]),
                    f"{ratio:.2f}x",
                    "≤ 1.3x",
                    ratio <= 1.3,
                    runs,
                )
            )
        self.figures.append(
            Figure(
                "Peak memory (VmHWM before quitting)",
                *mib(hwm["console"]),
                sdk_baseline,
                *mib(hwm["minimal_sdk"]),
                f"{hwm['console'].median / hwm['minimal_sdk'].median:.2f}x",
                "—",
                None,
                runs,
            )
        )

    def rotation(self) -> None:
        """Time worker rotations in the console, the minimal app and raw calls.

        The three take turns, one rotation each, each after the engine had a
        quiet second. The engine responds to its first call after a pause more
        slowly: the three raw calls took about 3.9 ms after a pause against
        2.3 ms back to back on the machine of BENCHMARKS.md, so a program that
        rotates right after another one's calls would meet a faster engine.
        So the console polls only every ten minutes here, and ctrl+r makes
        it read the rotations of the other two. The script's own engine calls
        (the current token before each turn, the check after each rotation)
        and the console's reads that show a change are each followed by a
        quiet second. The read that the console starts 50 ms after its own
        rotation draws nothing. It starts right after the rotation's toast,
        so the engine is idle for a second after the toast less the read's
        few milliseconds.
        """
        from swarmtui.tokens import fingerprint

        console_times, minimal_times, floor_times = Series(), Series(), Series()
        config = self.home / "rotation.toml"
        config.write_text("poll_interval = 600\n")
        console = self.console(config=config)
        minimal = self.minimal("--rotate-socket", self.daemon.socket)
        try:
            console.wait_for(both_commands_shown, timeout=60)
            minimal.wait_for(minimal_line_shown, timeout=60)
            for _ in range(self.args.rotation_runs):
                # The console rotates from the state it shows, so it must
                # first have read the rotations made by the other two.
                current = fingerprint(self.daemon.tokens()["Worker"])
                if current not in console.text():
                    console.send(CTRL_R)
                    console.wait_for(showing(current), timeout=60)
                last_call = time.perf_counter()
                console.wait_quiet(1.0, 10)
                time.sleep(max(0.0, last_call + 1.0 - time.perf_counter()))
                console_times.values.append(self._rotate_on_screen(console))
                self._check_rotated_fingerprint(console)
                # The console shows a toast and reads the swarm again 50 ms
                # after its rotation, so wait for a quiet second after that.
                console.wait_quiet(1.0, 10)
                minimal_times.values.append(self._rotate_on_screen(minimal))
                self._check_rotated_fingerprint(minimal)
                time.sleep(1.0)
                start = time.perf_counter()
                stdlib_floor.rotate(self.daemon.socket, "worker")
                floor_times.values.append(time.perf_counter() - start)
        finally:
            console.quit()
            minimal.quit()
        runs = f"{self.args.rotation_runs} each, taking turns"
        name = "Worker rotation, key `r` to the new fingerprint on screen"
        ratio = console_times.median / floor_times.median
        self.figures.append(
            Figure(
                name,
                *ms(console_times),
                "raw calls: GET /swarm, POST /swarm/update, GET /swarm",
                *ms(floor_times),
                f"{ratio:.2f}x",
                "≤ 1.5x",
                ratio <= 1.5,
                runs,
            )
        )
        self.figures.append(
            Figure(
                name,
                *ms(console_times),
                "minimal Textual app making the same raw calls in a thread",
                *ms(minimal_times),
                f"{console_times.median / minimal_times.median:.2f}x",
                "—",
                None,
                runs,
            )
        )

    @staticmethod
    def _rotate_on_screen(session: PtySession) -> float:
        """Press `r`; return the time until a new fingerprint is on screen."""
        before = set(FINGERPRINT_PATTERN.findall(session.text()))
        pressed_at = session.send(b"r")
        shown_at = session.wait_for(
            lambda text: bool(set(FINGERPRINT_PATTERN.findall(text)) - before),
            timeout=60,
        )
        return shown_at - pressed_at

    def _check_rotated_fingerprint(self, session: PtySession) -> None:
        from swarmtui.tokens import fingerprint

        current = fingerprint(self.daemon.tokens()["Worker"])
        text = session.text()
        if current not in text:
            raise RuntimeError(
                f"after the rotation the screen lacks the worker fingerprint "
                f"{current}:\n{text}"
            )

    def idle(self) -> None:
        seconds = self.args.idle_seconds
        console = self.console()
        minimal = self.minimal()
        try:
            console.wait_for(both_commands_shown, timeout=60)
            minimal.wait_for(minimal_line_shown, timeout=60)
            # The first frame settles when the initial reads are drawn; later
            # output is what polling costs.
            console.wait_quiet(1.0, 5)
            minimal.wait_quiet(1.0, 5)
            before = console.text().splitlines()
            start = time.perf_counter()
            time.sleep(seconds)
            end = time.perf_counter()
            after = console.text().splitlines()
            console_bytes, console_writes = console.bytes_between(start, end)
            minimal_bytes, minimal_writes = minimal.bytes_between(start, end)
        finally:
            console.quit()
            minimal.quit()
        per_minute = 60 / (end - start)
        changed = [
            line.strip(" │")
            for old, line in zip(before, after, strict=True)
            if old != line
        ]
        if changed:
            self.notes.append(
                "Rows of the console that differ after the idle window: "
                + "; ".join(f"`{line}`" for line in changed)
            )
        self.figures.append(
            Figure(
                f"Idle output, polling every {self.args.poll_interval:g} s",
                f"{console_bytes * per_minute:.0f} bytes/min",
                f"{console_writes} reads in {end - start:.0f} s",
                "minimal Textual app, same window",
                f"{minimal_bytes * per_minute:.0f} bytes/min",
                f"{minimal_writes} reads",
                "—",
                "0 bytes/min",
                console_bytes == 0,
                f"one {seconds:g} s window, both at once",
            )
        )

    def responsiveness(self) -> None:
        hang_path = str(self.daemon.dir / "hang.sock")
        hanging = HangingEngine(hang_path)
        marker = self.args.help_marker
        try:
            session = self.console("--timeout", "300", host=f"unix://{hang_path}")

            def pending(text: str) -> bool:
                return console_frame_shown(text) and bool(hanging.accepted)

            blocked = self._key_latency(session, pending, marker)
        finally:
            hanging.close()
        live = self._key_latency(self.console(), both_commands_shown, marker)
        minimal = self._key_latency(
            self.minimal(), minimal_line_shown, "minimal help screen"
        )
        runs = f"{self.args.key_runs} presses each"
        for label, series in [
            ("Key `?` to the help screen while an engine call hangs", blocked),
            ("Key `?` to the help screen, engine idle", live),
        ]:
            self.figures.append(
                Figure(
                    label,
                    *ms(series),
                    "minimal Textual app, `?` to a one-line modal screen",
                    *ms(minimal),
                    f"{series.median / minimal.median:.2f}x",
                    "< 50 ms",
                    series.median < 0.050,
                    runs,
                )
            )

    def _key_latency(
        self, session: PtySession, ready: Callable[[str], bool], marker: str
    ) -> Series:
        """Time `?` until `marker` is on screen, then close the screen with escape."""
        times = Series()
        try:
            session.wait_for(ready, timeout=60)
            session.wait_quiet(1.0, 5)
            if marker in session.text():
                raise RuntimeError(
                    f"the help marker {marker!r} is on screen before `?` is pressed"
                )
            for _ in range(self.args.key_runs):
                pressed = session.send(b"?")
                shown = session.wait_for(lambda text: marker in text, timeout=30)
                times.values.append(shown - pressed)
                session.wait_quiet(0.3, 3)
                session.send(ESCAPE)
                session.wait_for(lambda text: marker not in text, timeout=30)
                session.wait_quiet(0.3, 3)
        finally:
            session.quit()
        return times


# -- report ---------------------------------------------------------------


def render(
    bench: Bench,
    facts: list[tuple[str, str]],
    command: str,
    started: datetime.datetime,
    duration: float,
) -> str:
    lines = [
        RESULTS_START,
        "",
        f"Measured on {started:%Y-%m-%d %H:%M} UTC by `{command}` "
        f"({duration:.0f} s in all).",
        "",
        "| machine | |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {value} |" for name, value in facts]
    lines += [
        "",
        "Times are medians, with the lowest and highest run after them.",
        "",
        "| figure | swarmtui | spread | baseline | baseline value | spread "
        "| ratio | goal | met | runs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for figure in bench.figures:
        met = {True: "yes", False: "**no**", None: "—"}[figure.met]
        lines.append(
            f"| {figure.name} | {figure.measured} | {figure.measured_spread} "
            f"| {figure.baseline_name} | {figure.baseline} "
            f"| {figure.baseline_spread} | {figure.ratio} | {figure.goal} "
            f"| {met} | {figure.runs} |"
        )
    if bench.notes:
        lines += ["", *[f"- {note}" for note in bench.notes]]
    lines += ["", RESULTS_END]
    return "\n".join(lines) + "\n"


def write_report(path: Path, results: str) -> None:
    """Replace the results section of `path`, keeping the text around it."""
    if path.exists():
        text = path.read_text()
        head, found, rest = text.partition(RESULTS_START)
        if found:
            _, found_end, tail = rest.partition(RESULTS_END)
            if found_end:
                path.write_text(head + results + tail.lstrip("\n"))
                return
        path.write_text(text.rstrip("\n") + "\n\n" + results)
        return
    path.write_text("# Benchmarks\n\n" + results)


def docker_cli_version() -> str:
    result = subprocess.run(
        ["docker", "version", "--format", "{{.Client.Version}}"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "DOCKER_HOST": "unix:///nonexistent"},
    )
    return result.stdout.strip() or "unknown"


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit so that cleanup still runs."""

    def leave(number: int, frame: Any) -> None:
        raise SystemExit(128 + number)

    previous = {
        number: signal.signal(number, leave)
        for number in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


FIGURES = ["cli", "startup", "rotation", "idle", "responsiveness"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", choices=FIGURES, default=FIGURES, help="figures to run"
    )
    parser.add_argument("--cli-runs", type=int, default=20, help="runs per CLI")
    parser.add_argument(
        "--startup-runs", type=int, default=11, help="start-ups per program"
    )
    parser.add_argument(
        "--rotation-runs", type=int, default=15, help="rotations per method"
    )
    parser.add_argument("--key-runs", type=int, default=7, help="key presses per case")
    parser.add_argument(
        "--idle-seconds", type=float, default=60.0, help="length of the idle window"
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=2.0,
        help="poll_interval in the console's config file, in seconds (the "
        "rotation figure polls every 600 s instead)",
    )
    parser.add_argument(
        "--help-marker",
        default="Keys",
        help="text that only the console's help screen shows, in its first rows",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "BENCHMARKS.md",
        help="report to update (default: BENCHMARKS.md at the repository root)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if os.geteuid() != 0:
        print("run.py starts dockerd, so it must run as root", file=sys.stderr)
        return 2
    command = shlex.join([sys.executable, "benchmarks/run.py", *sys.argv[1:]])
    started = datetime.datetime.now(datetime.UTC)
    load_before = load_average()
    clock = time.perf_counter()
    daemon = PrivateDaemon()
    with signals_as_exceptions():
        try:
            daemon.start()
            print(f"dockerd {daemon.version} in swarm mode at {daemon.socket}")
            bench = Bench(args, daemon)
            steps = {
                "cli": bench.cli,
                "startup": bench.startup_and_memory,
                "rotation": bench.rotation,
                "idle": bench.idle,
                "responsiveness": bench.responsiveness,
            }
            for name in FIGURES:
                if name in args.only:
                    print(f"measuring {name} ...", flush=True)
                    try:
                        steps[name]()
                    except (RuntimeError, TimeoutError, OSError) as error:
                        # One figure that cannot be measured must not cost
                        # the others; the report names it and why.
                        print(f"{name} failed: {error}", file=sys.stderr)
                        first_line = str(error).splitlines()[0]
                        bench.notes.append(f"`{name}` was not measured: {first_line}")
        finally:
            daemon.stop()
    facts = machine_facts(daemon.version, docker_cli_version())
    # Other work on the machine slows both sides of every ratio, but not
    # always evenly, so the load is part of the record.
    facts.append(
        ("load average (1, 5, 15 min)", f"{load_before} before, {load_average()} after")
    )
    results = render(bench, facts, command, started, time.perf_counter() - clock)
    write_report(args.output, results)
    print(results)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
