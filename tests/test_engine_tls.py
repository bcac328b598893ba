"""The CLI against a real dockerd that serves its API over TLS with --tlsverify.

TLS settings reach swarmtui in two ways: DOCKER_TLS_VERIFY with
DOCKER_CERT_PATH, and the TLS files that `docker context create` stores. Both
are proven here against one swarm manager for the whole module, compared with
what the docker CLI prints, together with a rotation, the debug lines and
the failures a user meets when the certificates or the scheme are wrong.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from engine_fixtures import (
    CLI_TIMEOUT,
    Daemon,
    DaemonPool,
    address_prefix,
    assert_failure,
    clean_environment,
    daemon_pool,
    docker_cli,
    get_json,
    join_token,
    swarmtui_script,
    without_file_access,
)
from tls_support import CertificateAuthority, TlsFiles

from swarmtui.errors import ExitCode
from swarmtui.timetext import format_utc
from swarmtui.tokens import parse_token

pytestmark = pytest.mark.engine

# requests (2.34, Session.merge_environment_settings) puts either variable in
# place of the CA file that the docker SDK sets on its session, so with one
# of them set the daemon's CA is not trusted. The tests that expect success
# run without them, and test_ca_bundle_variable_keeps_docker_ca shows the
# failure.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Messages that name TLS or certificates as the cause, in any case.
TLS_WORDS = ("tls", "certificate")


@dataclass(frozen=True)
class TlsSwarm:
    """A swarm manager that listens only over TLS, with client folders to use."""

    daemon: Daemon
    client: TlsFiles
    # Certificate, key and CA all from a CA that the daemon does not know.
    unrelated: TlsFiles
    # The daemon's CA in ca.pem, with a certificate and key from the other CA.
    unrelated_client: TlsFiles
    root: Path
    # From the daemon's CA, with a certificate whose validity ended a day ago.
    expired_client: TlsFiles


def tls_environment(**extra: str) -> dict[str, str]:
    """Return the environment without engine or CA bundle variables, plus `extra`."""
    environment = clean_environment(**extra)
    for name in CA_BUNDLE_VARIABLES:
        if name not in extra:
            environment.pop(name, None)
    return environment


def certificate_variables(host: str, files: TlsFiles | Path) -> dict[str, str]:
    """Return DOCKER_HOST, DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for `files`."""
    folder = files.directory if isinstance(files, TlsFiles) else files
    return {
        "DOCKER_HOST": host,
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(folder),
    }


def run(
    command: list[str], environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=environment,
        timeout=CLI_TIMEOUT,
    )


def swarmtui(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `swarmtui` console script with `variables` set."""
    return run([swarmtui_script(), *arguments], tls_environment(**variables))


def docker(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI with `variables` set and assert that it succeeds."""
    result = run([docker_cli(), *arguments], tls_environment(**variables))
    assert result.returncode == 0, result.stderr
    return result


def assert_names_tls(stderr: str) -> None:
    lowered = stderr.lower()
    assert any(word in lowered for word in TLS_WORDS), stderr


def folder_of(folder: Path, ca: Path, client: TlsFiles) -> TlsFiles:
    """Copy `ca` and the certificate and key of `client` into a new `folder`."""
    folder.mkdir(parents=True)
    files = TlsFiles(
        ca=folder / "ca.pem", cert=folder / "cert.pem", key=folder / "key.pem"
    )
    shutil.copyfile(ca, files.ca)
    shutil.copyfile(client.cert, files.cert)
    shutil.copyfile(client.key, files.key)
    os.chmod(files.key, 0o600)
    return files


@pytest.fixture(scope="module")
def tls_pool() -> Iterator[DaemonPool]:
    """Daemons for this module, all removed after its last test."""
    with daemon_pool() as pool:
        yield pool


@pytest.fixture(scope="module")
def tls_swarm(
    tmp_path_factory: pytest.TempPathFactory, tls_pool: DaemonPool
) -> TlsSwarm:
    root = tmp_path_factory.mktemp("tls")
    authority = CertificateAuthority(root / "ca", "swarmtui test CA")
    other = CertificateAuthority(root / "unrelated-ca", "unrelated test CA")
    daemon = tls_pool.swarm(tls=authority.server_files)
    other_client = other.client_files()
    return TlsSwarm(
        daemon=daemon,
        client=authority.client_files(),
        unrelated=other_client,
        unrelated_client=folder_of(root / "mixed", authority.ca_pem, other_client),
        root=root,
        expired_client=authority.client_files("expired-client", expired=True),
    )


# -- tokens over TLS --------------------------------------------------------


def test_tls_variables_quiet_worker_token(tls_swarm: TlsSwarm) -> None:
    daemon = tls_swarm.daemon
    variables = certificate_variables(daemon.tls_host, tls_swarm.client)
    config = str(tls_swarm.root / "docker-config")
    by_flags = docker(
        "--tlsverify",
        "--tlscacert",
        str(tls_swarm.client.ca),
        "--tlscert",
        str(tls_swarm.client.cert),
        "--tlskey",
        str(tls_swarm.client.key),
        "-H",
        daemon.tls_host,
        "swarm",
        "join-token",
        "-q",
        "worker",
        DOCKER_CONFIG=config,
    )
    by_variables = docker(
        "swarm", "join-token", "-q", "worker", DOCKER_CONFIG=config, **variables
    )

    result = swarmtui("join-token", "-q", "worker", **variables)

    assert result.returncode == 0, result.stderr
    assert result.stdout == by_flags.stdout
    assert result.stdout == by_variables.stdout
    assert result.stdout == join_token(daemon, "worker") + "\n"
    assert result.stderr == ""


def test_tls_host_option_manager_token(tls_swarm: TlsSwarm) -> None:
    daemon = tls_swarm.daemon
    variables = certificate_variables(daemon.tls_host, tls_swarm.client)
    # DOCKER_HOST names a socket that does not exist, so only -H can succeed.
    variables["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"

    result = swarmtui("-H", daemon.tls_host, "join-token", "-q", "manager", **variables)

    assert result.returncode == 0, result.stderr
    assert result.stdout == join_token(daemon, "manager") + "\n"


@pytest.fixture(scope="module")
def tls_context(tls_swarm: TlsSwarm) -> tuple[str, Path]:
    """A docker context for the TLS daemon, stored in a docker config of its own."""
    name = "swarm-tls"
    config = tls_swarm.root / "context-config"
    client = tls_swarm.client
    created = run(
        [
            docker_cli(),
            "context",
            "create",
            name,
            "--docker",
            f"host={tls_swarm.daemon.tls_host},ca={client.ca},"
            f"cert={client.cert},key={client.key}",
        ],
        tls_environment(DOCKER_CONFIG=str(config)),
    )
    assert created.returncode == 0, created.stderr
    return name, config


def test_context_option_manager_token(
    tls_swarm: TlsSwarm, tls_context: tuple[str, Path]
) -> None:
    name, config = tls_context
    theirs = docker(
        "--context",
        name,
        "swarm",
        "join-token",
        "-q",
        "manager",
        DOCKER_CONFIG=str(config),
    )

    result = swarmtui(
        "-c", name, "join-token", "-q", "manager", DOCKER_CONFIG=str(config)
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == theirs.stdout
    assert result.stdout == join_token(tls_swarm.daemon, "manager") + "\n"
    assert result.stderr == ""


def test_context_variable_manager_token(
    tls_swarm: TlsSwarm, tls_context: tuple[str, Path]
) -> None:
    name, config = tls_context

    result = swarmtui(
        "join-token", "-q", "manager", DOCKER_CONFIG=str(config), DOCKER_CONTEXT=name
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == join_token(tls_swarm.daemon, "manager") + "\n"
    assert result.stderr == ""


def create_tls_context(tls_swarm: TlsSwarm, name: str, config: Path) -> Path:
    """Create context `name` for the TLS daemon with the client's files.

    Returns the folder where the docker CLI stored the context's copies of
    ca.pem, cert.pem and key.pem.
    """
    client = tls_swarm.client
    docker(
        "context",
        "create",
        name,
        "--docker",
        f"host={tls_swarm.daemon.tls_host},ca={client.ca},cert={client.cert},"
        f"key={client.key}",
        DOCKER_CONFIG=str(config),
    )
    context_id = hashlib.sha256(name.encode()).hexdigest()
    return config / "contexts" / "tls" / context_id / "docker"


def test_context_with_empty_ca_named(tls_swarm: TlsSwarm) -> None:
    name = "swarm-tls-empty-ca"
    config = tls_swarm.root / "empty-ca-config"
    stored_ca = create_tls_context(tls_swarm, name, config) / "ca.pem"
    stored_ca.write_bytes(b"")

    result = swarmtui(
        "-c", name, "join-token", "-q", "worker", DOCKER_CONFIG=str(config)
    )

    assert_failure(
        result,
        ExitCode.USAGE,
        f"The CA file {stored_ca} of docker context '{name}' contains no PEM "
        "certificate.",
    )
    assert "HTTPSConnectionPool" not in result.stderr
    assert "\u2026" not in result.stderr


def test_worker_rotation_over_tls(tls_swarm: TlsSwarm) -> None:
    daemon = tls_swarm.daemon
    variables = certificate_variables(daemon.tls_host, tls_swarm.client)
    before = get_json(daemon, "/v1.41/swarm")
    old_worker = join_token(daemon, "worker")
    old_manager = join_token(daemon, "manager")

    result = swarmtui("join-token", "--rotate", "-q", "worker", **variables)

    assert result.returncode == 0, result.stderr
    new_worker = join_token(daemon, "worker")
    assert new_worker != old_worker
    assert result.stdout == new_worker + "\n"
    assert join_token(daemon, "manager") == old_manager
    assert parse_token(new_worker).digest == parse_token(old_worker).digest
    assert "SWMTKN" not in result.stderr
    after = get_json(daemon, "/v1.41/swarm")
    assert after["Spec"] == before["Spec"]
    assert after["Version"]["Index"] > before["Version"]["Index"]


def test_debug_lines_over_tls(tls_swarm: TlsSwarm) -> None:
    daemon = tls_swarm.daemon
    variables = certificate_variables(daemon.tls_host, tls_swarm.client)

    result = swarmtui("-vv", "join-token", "worker", **variables)

    assert result.returncode == 0, result.stderr
    worker = join_token(daemon, "worker")
    lines = [line for line in result.stderr.splitlines() if "engine call" in line]
    assert any("GET /version: HTTP 200 after" in line for line in lines), lines
    assert any("/swarm: HTTP 200 after" in line for line in lines), lines
    assert f"--token {worker} {daemon.swarm_address}" in result.stdout
    assert worker not in result.stderr
    assert join_token(daemon, "manager") not in result.stderr
    assert "SWMTKN" not in result.stderr


@pytest.mark.parametrize("variable", CA_BUNDLE_VARIABLES)
def test_ca_bundle_variable_keeps_docker_ca(tls_swarm: TlsSwarm, variable: str) -> None:
    if not os.path.isfile(SYSTEM_CA_BUNDLE):
        pytest.skip(f"no system CA bundle at {SYSTEM_CA_BUNDLE}")
    daemon = tls_swarm.daemon
    variables = certificate_variables(daemon.tls_host, tls_swarm.client)
    variables[variable] = SYSTEM_CA_BUNDLE

    result = swarmtui("join-token", "-q", "worker", **variables)

    assert result.returncode == 0, result.stderr
    assert result.stdout == join_token(daemon, "worker") + "\n"


# -- failures ---------------------------------------------------------------


@dataclass(frozen=True)
class WrongAddress:
    """A TLS daemon whose certificate names another address than its own."""

    daemon: Daemon
    client: TlsFiles
    named: str


@pytest.fixture(scope="module")
def wrong_address(
    tls_pool: DaemonPool, tmp_path_factory: pytest.TempPathFactory
) -> WrongAddress:
    authority = CertificateAuthority(
        tmp_path_factory.mktemp("wrong-address"), "swarmtui wrong-address CA"
    )
    # The range's .1, which lease_address never hands out, so no daemon has it.
    named = f"{address_prefix()}.1"
    daemon = tls_pool.daemon(tls=lambda _address: authority.server_files(named))
    return WrongAddress(daemon, authority.client_files(), named)


@dataclass(frozen=True)
class TlsFailure:
    """The variables of one failing run, the host it dials and its real cause."""

    variables: dict[str, str]
    host: str
    # Text that swarmtui -vv logs for the cause, or "" when the daemon logs it.
    debug_cause: str
    # Text that the daemon logs for the cause, or "" when swarmtui logs it.
    daemon_cause: str
    daemon: Daemon
    # Phrases that a clear message for this failure contains.
    expected_phrases: tuple[str, ...]


# Each case starts only the daemons it needs. TLS against the plain port of
# the session manager has tests of its own, because that manager listens on
# tcp only when a test names the manager_tcp_host fixture in its arguments.
FAILURES = (
    "unrelated-ca",
    "unrelated-client-certificate",
    "certificate-for-other-address",
)


def tls_failure(name: str, request: pytest.FixtureRequest) -> TlsFailure:
    """Build the failing run `name` from the module's daemons."""
    tls_swarm: TlsSwarm = request.getfixturevalue("tls_swarm")
    daemon = tls_swarm.daemon
    if name == "unrelated-ca":
        return TlsFailure(
            certificate_variables(daemon.tls_host, tls_swarm.unrelated),
            daemon.tls_host,
            debug_cause="CERTIFICATE_VERIFY_FAILED",
            daemon_cause="",
            daemon=daemon,
            expected_phrases=("DOCKER_CERT_PATH", "ca.pem"),
        )
    if name == "unrelated-client-certificate":
        return TlsFailure(
            certificate_variables(daemon.tls_host, tls_swarm.unrelated_client),
            daemon.tls_host,
            debug_cause="",
            daemon_cause="failed to verify client certificate",
            daemon=daemon,
            expected_phrases=("DOCKER_CERT_PATH", "cert.pem"),
        )
    if name == "certificate-for-other-address":
        wrong: WrongAddress = request.getfixturevalue("wrong_address")
        return TlsFailure(
            certificate_variables(wrong.daemon.tls_host, wrong.client),
            wrong.daemon.tls_host,
            debug_cause="IP address mismatch",
            daemon_cause="",
            daemon=wrong.daemon,
            expected_phrases=(wrong.daemon.address,),
        )
    raise ValueError(f"unknown failure case {name!r}")


def plain_port_failure(
    tls_swarm: TlsSwarm, manager: Daemon, manager_tcp_host: str
) -> TlsFailure:
    """Build the run that speaks TLS to the session manager's plain-HTTP port."""
    return TlsFailure(
        certificate_variables(manager_tcp_host, tls_swarm.client),
        manager_tcp_host,
        debug_cause="WRONG_VERSION_NUMBER",
        daemon_cause="",
        daemon=manager,
        expected_phrases=("DOCKER_TLS_VERIFY",),
    )


def check_exit_code(failure: TlsFailure) -> None:
    """Run the failure with and without -vv; check the exit code and the cause."""
    log_before = failure.daemon.log_path.read_text(errors="replace")

    result = swarmtui("join-token", "-q", "worker", **failure.variables)
    debug = swarmtui("-vv", "join-token", "-q", "worker", **failure.variables)

    assert_failure(result, ExitCode.ENGINE_UNREACHABLE, failure.host)
    assert debug.returncode == ExitCode.ENGINE_UNREACHABLE, debug.stderr
    assert debug.stdout == ""
    assert "SWMTKN" not in debug.stderr
    assert failure.debug_cause in debug.stderr
    log = failure.daemon.log_path.read_text(errors="replace")
    assert failure.daemon_cause in log.removeprefix(log_before)


def check_names_cause(failure: TlsFailure) -> None:
    """Check that the message names the TLS failure and the setting to fix."""
    result = swarmtui("join-token", "-q", "worker", **failure.variables)

    assert_failure(result, ExitCode.ENGINE_UNREACHABLE, failure.host)
    assert_names_tls(result.stderr)
    for phrase in failure.expected_phrases:
        assert phrase in result.stderr
    assert "Check that dockerd is running" not in result.stderr


@pytest.mark.parametrize("name", FAILURES)
def test_tls_failure_exit_code(name: str, request: pytest.FixtureRequest) -> None:
    check_exit_code(tls_failure(name, request))


@pytest.mark.parametrize("name", FAILURES)
def test_tls_failure_names_cause(name: str, request: pytest.FixtureRequest) -> None:
    check_names_cause(tls_failure(name, request))


def test_tls_to_plain_port_exit_code(
    tls_swarm: TlsSwarm, manager: Daemon, manager_tcp_host: str
) -> None:
    check_exit_code(plain_port_failure(tls_swarm, manager, manager_tcp_host))


def test_tls_to_plain_port_names_cause(
    tls_swarm: TlsSwarm, manager: Daemon, manager_tcp_host: str
) -> None:
    check_names_cause(plain_port_failure(tls_swarm, manager, manager_tcp_host))


def test_other_address_certificate_seen_by_docker(wrong_address: WrongAddress) -> None:
    variables = certificate_variables(
        wrong_address.daemon.tls_host, wrong_address.client
    )
    variables["DOCKER_CONFIG"] = str(wrong_address.client.directory / "config")

    result = run(
        [docker_cli(), "version", "--format", "{{.Server.Version}}"],
        tls_environment(**variables),
    )

    assert result.returncode != 0
    assert f"certificate is valid for {wrong_address.named}" in result.stderr


def test_empty_cert_path_is_invalid(tls_swarm: TlsSwarm) -> None:
    empty = tls_swarm.root / "empty-cert-path"
    empty.mkdir(exist_ok=True)
    variables = certificate_variables(tls_swarm.daemon.tls_host, empty)

    result = swarmtui("join-token", "-q", "worker", **variables)

    assert_failure(result, ExitCode.USAGE, "DOCKER_CERT_PATH")


def test_empty_cert_path_names_files(tls_swarm: TlsSwarm) -> None:
    empty = tls_swarm.root / "empty-cert-path"
    empty.mkdir(exist_ok=True)
    variables = certificate_variables(tls_swarm.daemon.tls_host, empty)

    result = swarmtui("join-token", "-q", "worker", **variables)

    assert_failure(result, ExitCode.USAGE, str(empty), "ca.pem", "cert.pem")
    assert "client_cert param" not in result.stderr


def test_encrypted_client_key_named(tls_swarm: TlsSwarm) -> None:
    folder = tls_swarm.root / "encrypted-key"
    shutil.copytree(tls_swarm.client.directory, folder, dirs_exist_ok=True)
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    variables = certificate_variables(tls_swarm.daemon.tls_host, folder)

    result = swarmtui("join-token", "-q", "worker", **variables)

    # The key is named before any connection, as a file that OpenSSL cannot
    # load without a passphrase.
    assert_failure(result, ExitCode.USAGE, "key.pem", "is encrypted")
    assert "from DOCKER_CERT_PATH" in result.stderr
    assert f"openssl pkey -in {folder / 'key.pem'} -out" in result.stderr
    assert "HTTPSConnectionPool" not in result.stderr


def test_plain_http_to_tls_port(tls_swarm: TlsSwarm) -> None:
    host = tls_swarm.daemon.tls_host

    result = swarmtui("join-token", "-q", "worker", DOCKER_HOST=host)

    assert result.returncode != ExitCode.OK, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("swarmtui: ")
    assert host in result.stderr
    assert "serves its API over TLS" in result.stderr
    assert "Traceback" not in result.stderr


def test_plain_http_to_tls_port_hint(tls_swarm: TlsSwarm) -> None:
    host = tls_swarm.daemon.tls_host

    result = swarmtui("join-token", "-q", "worker", DOCKER_HOST=host)

    assert_failure(result, ExitCode.ENGINE_UNREACHABLE, host, "DOCKER_TLS_VERIFY")


def test_cert_path_alone_sends_plain_http(tls_swarm: TlsSwarm) -> None:
    # DOCKER_CERT_PATH without DOCKER_TLS_VERIFY or DOCKER_TLS names the
    # files but turns no TLS on, so both CLIs send plain HTTP to the TLS port.
    host = tls_swarm.daemon.tls_host
    variables = {
        "DOCKER_HOST": host,
        "DOCKER_CERT_PATH": str(tls_swarm.client.directory),
        "DOCKER_CONFIG": str(tls_swarm.root / "cert-path-only-config"),
    }
    theirs = run(
        [docker_cli(), "swarm", "join-token", "-q", "worker"],
        tls_environment(**variables),
    )

    result = swarmtui("join-token", "-q", "worker", **variables)

    assert theirs.returncode != 0
    assert "HTTP request to an HTTPS server" in theirs.stderr
    assert_failure(result, ExitCode.ENGINE_UNREACHABLE, "serves its API over TLS")
    assert "InsecureRequestWarning" not in result.stderr


def assert_one_unverified_warning(stderr: str, fix: str) -> None:
    """Check that stderr is one swarmtui warning about the unchecked certificate."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(
        "swarmtui: warning: the engine's TLS certificate is not checked"
    )
    assert fix in lines[0]
    assert "InsecureRequestWarning" not in stderr
    assert "site-packages" not in stderr


def test_docker_tls_warns_once(tls_swarm: TlsSwarm) -> None:
    daemon = tls_swarm.daemon
    variables = {
        "DOCKER_HOST": daemon.tls_host,
        "DOCKER_TLS": "1",
        "DOCKER_CERT_PATH": str(tls_swarm.client.directory),
    }

    result = swarmtui("join-token", "-q", "worker", **variables)

    assert result.returncode == 0, result.stderr
    assert result.stdout == join_token(daemon, "worker") + "\n"
    assert_one_unverified_warning(
        result.stderr, "set DOCKER_TLS_VERIFY=1 and put the CA certificate"
    )


def test_skip_verify_context_warns_once(tls_swarm: TlsSwarm) -> None:
    daemon = tls_swarm.daemon
    client = tls_swarm.client
    config = str(tls_swarm.root / "skip-verify-config")
    docker(
        "context",
        "create",
        "skip",
        "--docker",
        f"host={daemon.tls_host},cert={client.cert},key={client.key},"
        "skip-tls-verify=true",
        DOCKER_CONFIG=config,
    )

    result = swarmtui("-c", "skip", "join-token", "-q", "manager", DOCKER_CONFIG=config)

    assert result.returncode == 0, result.stderr
    assert result.stdout == join_token(daemon, "manager") + "\n"
    assert_one_unverified_warning(
        result.stderr, "update the context with 'docker context update skip"
    )


def test_expired_client_certificate_named(tls_swarm: TlsSwarm) -> None:
    files = tls_swarm.expired_client
    variables = certificate_variables(tls_swarm.daemon.tls_host, files)
    certificate = x509.load_pem_x509_certificate(files.cert.read_bytes())
    expiry = format_utc(certificate.not_valid_after_utc)

    result = swarmtui("join-token", "-q", "worker", **variables)

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        f"The client certificate {files.cert} for the engine at ",
        f" expired on {expiry}.",
        "Get a new client certificate and key",
    )
    assert "signed by a CA the engine trusts" not in result.stderr


@pytest.mark.parametrize("value", ["false", "no"])
def test_skip_verify_string_rejected(tls_swarm: TlsSwarm, value: str) -> None:
    # The context's CA did not sign the daemon's certificate, so a context
    # read as skip-tls-verify would print the token.
    name = f"wrong-ca-{value}"
    client = tls_swarm.client
    config = tls_swarm.root / f"skip-verify-{value}-config"
    docker(
        "context",
        "create",
        name,
        "--docker",
        f"host={tls_swarm.daemon.tls_host},ca={tls_swarm.unrelated.ca},"
        f"cert={client.cert},key={client.key}",
        DOCKER_CONFIG=str(config),
    )
    context_id = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / context_id / "meta.json"
    meta.write_text(
        meta.read_text().replace('"SkipTLSVerify":false', f'"SkipTLSVerify":"{value}"')
    )

    result = swarmtui(
        "-c", name, "join-token", "-q", "worker", DOCKER_CONFIG=str(config)
    )

    assert_failure(
        result,
        ExitCode.USAGE,
        f"in {meta}, the field SkipTLSVerify is a string",
    )
    assert "not checked" not in result.stderr


@pytest.mark.parametrize("filename", ["ca.pem", "cert.pem", "key.pem"])
@pytest.mark.parametrize("source", ["cert-path", "context"])
def test_unreadable_tls_file_named(
    tls_swarm: TlsSwarm, source: str, filename: str
) -> None:
    host = tls_swarm.daemon.tls_host
    client = tls_swarm.client
    name = f"unreadable-{filename}"
    config = tls_swarm.root / f"unreadable-{source}-{filename}"
    if source == "context":
        unreadable = create_tls_context(tls_swarm, name, config) / filename
        arguments = ["-c", name]
        variables = {"DOCKER_CONFIG": str(config)}
    else:
        files = folder_of(config, client.ca, client)
        unreadable = files.directory / filename
        arguments = []
        variables = certificate_variables(host, files)
    unreadable.chmod(0)

    result = run(
        without_file_access(
            [swarmtui_script(), *arguments, "join-token", "-q", "worker"]
        ),
        tls_environment(**variables),
    )

    assert_failure(
        result,
        ExitCode.USAGE,
        f"The TLS file {unreadable}",
        " cannot be read: permission denied.",
        f"'ls -l {unreadable}'",
    )
    assert "engine socket" not in result.stderr


# -- TLS settings from a context -------------------------------------------


def worker_token_by_context(
    config: Path, name: str, docker_option: str
) -> subprocess.CompletedProcess[str]:
    """Create context `name` with `docker_option`, then read the worker token by it."""
    docker(
        "context", "create", name, "--docker", docker_option, DOCKER_CONFIG=str(config)
    )
    return swarmtui("-c", name, "join-token", "-q", "worker", DOCKER_CONFIG=str(config))


def test_context_tls_to_plain_port_hint(
    tls_swarm: TlsSwarm, manager_tcp_host: str
) -> None:
    config = tls_swarm.root / "context-plain-port-config"
    client = tls_swarm.client
    option = f"host={manager_tcp_host},ca={client.ca},cert={client.cert},"
    option += f"key={client.key}"

    result = worker_token_by_context(config, "plain-port", option)

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        "does not speak TLS on that port",
        f"'docker context update plain-port --docker host={manager_tcp_host}'",
    )
    assert "DOCKER_TLS" not in result.stderr


def test_context_without_tls_hint(tls_swarm: TlsSwarm) -> None:
    config = tls_swarm.root / "context-without-tls-config"
    host = tls_swarm.daemon.tls_host

    result = worker_token_by_context(config, "no-tls", f"host={host}")

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        "docker context 'no-tls' has no TLS settings",
        f"'docker context update no-tls --docker host={host},ca=CA.pem,",
    )
    assert "DOCKER_TLS_VERIFY" not in result.stderr
    assert "DOCKER_CERT_PATH" not in result.stderr


def test_context_without_ca_named(tls_swarm: TlsSwarm) -> None:
    config = tls_swarm.root / "context-without-ca-config"
    host = tls_swarm.daemon.tls_host
    (create_tls_context(tls_swarm, "no-ca", config) / "ca.pem").unlink()

    result = swarmtui(
        "-c", "no-ca", "join-token", "-q", "worker", DOCKER_CONFIG=str(config)
    )

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        "docker context 'no-ca' has no CA file (ca.pem)",
        f"'docker context update no-ca --docker host={host},ca=CA.pem,",
    )
    assert "the CA in ca.pem" not in result.stderr
    assert "DOCKER_CERT_PATH" not in result.stderr


def test_context_unrelated_ca_named(tls_swarm: TlsSwarm) -> None:
    config = tls_swarm.root / "context-unrelated-ca-config"
    stored_ca = create_tls_context(tls_swarm, "other-ca", config) / "ca.pem"
    shutil.copyfile(tls_swarm.unrelated.ca, stored_ca)

    result = swarmtui(
        "-c", "other-ca", "join-token", "-q", "worker", DOCKER_CONFIG=str(config)
    )

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        f"is not signed by the CA in {stored_ca}, the CA file of docker context",
        "'docker context update other-ca --docker host=",
    )
    assert "DOCKER_CERT_PATH" not in result.stderr


@pytest.mark.parametrize(
    ("removed", "kept"), [("key.pem", "cert.pem"), ("cert.pem", "key.pem")]
)
def test_context_missing_client_file_named(
    tls_swarm: TlsSwarm, removed: str, kept: str
) -> None:
    name = f"without-{removed}"
    config = tls_swarm.root / f"context-without-{removed}-config"
    folder = create_tls_context(tls_swarm, name, config)
    (folder / removed).unlink()

    result = swarmtui(
        "-c", name, "join-token", "-q", "worker", DOCKER_CONFIG=str(config)
    )

    assert_failure(
        result,
        ExitCode.USAGE,
        f"The docker context {name!r} has {kept} but {removed} is missing from "
        f"{folder}.",
        f"'docker context update {name} --docker host=",
    )


def test_context_without_client_certificate_named(tls_swarm: TlsSwarm) -> None:
    config = tls_swarm.root / "context-ca-only-config"
    host = tls_swarm.daemon.tls_host
    option = f"host={host},ca={tls_swarm.client.ca}"

    result = worker_token_by_context(config, "ca-only", option)

    assert_failure(
        result,
        ExitCode.ENGINE_UNREACHABLE,
        "No client certificate was sent",
        f"'docker context update ca-only --docker host={host},ca=CA.pem,",
    )
    assert "DOCKER_CERT_PATH" not in result.stderr
