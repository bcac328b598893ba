"""Short messages for engines that cannot be reached or fail TLS, with their address.

The servers are loopback listeners made by each test: a closed port, and a
TLS server with a certificate from a test CA. The client's TLS files come
from DOCKER_CERT_PATH or from a context that the docker CLI created.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from engine_fixtures import docker_cli
from fake_engine import TCP_FAKE_ADDRESS
from tls_support import CertificateAuthority, TlsFiles

from swarmtui.backends.engine import EngineBackend
from swarmtui.backends.tls_errors import tls_error
from swarmtui.endpoint import EndpointChoice
from swarmtui.errors import EndpointError, EngineUnreachableError, ExitCode, TlsError
from swarmtui.timetext import format_utc

# Text of the urllib3 and requests errors around the ssl module's error.
WRAPPER_WORDS = ("HTTPSConnectionPool", "Max retries", "Caused by", "\u2026")


@contextlib.contextmanager
def tls_server(files: TlsFiles) -> Iterator[str]:
    """Serve TLS handshakes with `files` on a free loopback port; yield tcp://HOST:PORT."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((TCP_FAKE_ADDRESS, 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(10)
            with contextlib.suppress(OSError):
                context.wrap_socket(connection, server_side=True).close()
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "tcp://{}:{}".format(*server.getsockname())
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "ca", "swarmtui message test CA")


@pytest.fixture
def closed_port() -> Iterator[str]:
    """A tcp:// host whose port is bound but not listening, so connects fail."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind((TCP_FAKE_ADDRESS, 0))
    try:
        yield "tcp://{}:{}".format(*holder.getsockname())
    finally:
        holder.close()


def create_context(config: Path, name: str, docker_option: str) -> None:
    try:
        cli = docker_cli()
    except Exception as error:  # no docker CLI on this machine
        pytest.skip(f"the docker CLI is needed to create contexts: {error}")
    result = subprocess.run(
        [cli, "context", "create", name, "--docker", docker_option],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", ""), "DOCKER_CONFIG": str(config)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def context_file(config: Path, name: str, filename: str) -> Path:
    """Return the path where the docker CLI stores a context's TLS file."""
    context_id = hashlib.sha256(name.encode()).hexdigest()
    return config / "contexts" / "tls" / context_id / "docker" / filename


def read_error(choice: EndpointChoice) -> Exception:
    backend = EngineBackend(choice, timeout=10)
    try:
        backend.engine_info()
    except Exception as error:  # the caller checks the type
        return error
    finally:
        backend.close()
    raise AssertionError("engine_info() did not fail")


def assert_short(error: Exception) -> None:
    text = str(error)
    for word in WRAPPER_WORDS:
        assert word not in text


# -- an unreachable engine chosen by a context --------------------------------


def test_unreachable_context_names_address(tmp_path: Path, closed_port: str) -> None:
    config = tmp_path / "docker-config"
    create_context(config, "gone", f"host={closed_port}")

    error = read_error(
        EndpointChoice(context="gone", environment={"DOCKER_CONFIG": str(config)})
    )

    assert isinstance(error, EngineUnreachableError)
    expected = f"Cannot connect to the Docker engine at gone ({closed_port})."
    assert error.message == expected


def test_unreachable_host_named_once(closed_port: str) -> None:
    error = read_error(EndpointChoice(host=closed_port, environment={}))

    assert isinstance(error, EngineUnreachableError)
    assert error.message == f"Cannot connect to the Docker engine at {closed_port}."


# -- TLS files that cannot be loaded ------------------------------------------

DAMAGED_CERTIFICATE = (
    b"-----BEGIN CERTIFICATE-----\nMIIBdamaged!!\n-----END CERTIFICATE-----\n"
)


def other_key(authority: CertificateAuthority) -> bytes:
    return authority.client_files("other-client").key.read_bytes()


# (case, file to replace, its new content or None for another client's key,
# the file the message names, a phrase of the message)
FILE_CASES = [
    ("ca-empty", "ca.pem", b"", "ca.pem", "contains no PEM certificate"),
    ("ca-not-pem", "ca.pem", b"not a certificate\n", "ca.pem", "no PEM certificate"),
    (
        "ca-damaged",
        "ca.pem",
        DAMAGED_CERTIFICATE,
        "ca.pem",
        "a damaged PEM certificate",
    ),
    ("cert-not-pem", "cert.pem", b"hello\n", "cert.pem", "contains no PEM certificate"),
    ("cert-empty", "cert.pem", b"", "cert.pem", "contains no PEM certificate"),
    ("key-not-pem", "key.pem", b"hello\n", "key.pem", "no PEM private key"),
    ("key-of-other", "key.pem", None, "key.pem", "does not belong to the certificate"),
]


@pytest.mark.parametrize(
    ("replaced", "content", "named", "phrase"),
    [case[1:] for case in FILE_CASES],
    ids=[case[0] for case in FILE_CASES],
)
def test_bad_tls_file_rejected_first(
    authority: CertificateAuthority,
    closed_port: str,
    replaced: str,
    content: bytes | None,
    named: str,
    phrase: str,
) -> None:
    client = authority.client_files()
    folder = client.directory
    if content is None:
        content = other_key(authority)
    (folder / replaced).write_bytes(content)
    environment = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(folder)}

    # The port is closed, so only a check before connecting names the file.
    error = read_error(EndpointChoice(host=closed_port, environment=environment))

    assert isinstance(error, EndpointError)
    assert error.exit_code == ExitCode.USAGE
    assert error.message.startswith("DOCKER_TLS_VERIFY is set, but the ")
    assert f"{folder / named} (from DOCKER_CERT_PATH) " in error.message
    assert phrase in error.message
    assert "DOCKER_CERT_PATH" in error.hint
    assert_short(error)


def test_bad_tls_file_named_without_cert_path(
    authority: CertificateAuthority, closed_port: str, tmp_path: Path
) -> None:
    config = tmp_path / "docker-config"
    shutil.copytree(authority.client_files().directory, config)
    (config / "cert.pem").write_bytes(b"hello\n")
    environment = {"DOCKER_TLS": "1", "DOCKER_CONFIG": str(config)}

    error = read_error(EndpointChoice(host=closed_port, environment=environment))

    assert isinstance(error, EndpointError)
    assert error.message == (
        f"DOCKER_TLS is set, but the client certificate {config / 'cert.pem'} "
        "(from the docker config folder, as DOCKER_CERT_PATH is unset) contains "
        "no PEM certificate."
    )


def test_context_bad_ca_names_context(
    authority: CertificateAuthority, closed_port: str, tmp_path: Path
) -> None:
    client = authority.client_files()
    config = tmp_path / "docker-config"
    create_context(
        config,
        "broken-ca",
        f"host={closed_port},ca={client.ca},cert={client.cert},key={client.key}",
    )
    stored_ca = context_file(config, "broken-ca", "ca.pem")
    stored_ca.write_bytes(b"not a certificate\n")

    error = read_error(
        EndpointChoice(context="broken-ca", environment={"DOCKER_CONFIG": str(config)})
    )

    assert isinstance(error, EndpointError)
    assert error.exit_code == ExitCode.USAGE
    assert error.message == (
        f"The CA file {stored_ca} of docker context 'broken-ca' contains no PEM "
        "certificate."
    )
    assert f"'docker context update broken-ca --docker host={closed_port}," in (
        error.hint
    )
    assert_short(error)


# -- certificates refused in the handshake ------------------------------------


def test_expired_certificate_named(authority: CertificateAuthority) -> None:
    client = authority.client_files()
    environment = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(client.directory)}

    with tls_server(authority.server_files(TCP_FAKE_ADDRESS, expired=True)) as host:
        error = read_error(EndpointChoice(host=host, environment=environment))

    assert isinstance(error, TlsError)
    assert f"the engine at {host} presented has expired" in error.message
    assert "clocks" in error.hint
    assert_short(error)


def test_unrelated_ca_still_named(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    other = CertificateAuthority(tmp_path / "other-ca", "unrelated CA")
    client = authority.client_files()
    shutil.copyfile(other.ca_pem, client.ca)
    environment = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(client.directory)}

    with tls_server(authority.server_files(TCP_FAKE_ADDRESS)) as host:
        error = read_error(EndpointChoice(host=host, environment=environment))

    assert isinstance(error, TlsError)
    assert "is not signed by the CA in ca.pem" in error.message
    assert_short(error)


def test_unknown_reason_quoted_short() -> None:
    import requests
    from urllib3.exceptions import MaxRetryError
    from urllib3.exceptions import SSLError as Urllib3SSLError

    inner = ssl.SSLError(1, "[SSL: UNUSUAL_REASON] an unusual failure (_ssl.c:1006)")
    wrapped = requests.exceptions.SSLError(
        MaxRetryError(None, "/version", Urllib3SSLError(inner))  # type: ignore[arg-type]
    )

    error = tls_error("tcp://127.0.8.5:2376", str(wrapped), wrapped)

    assert error.message == (
        "The TLS connection to the engine at tcp://127.0.8.5:2376 failed: "
        "[SSL: UNUSUAL_REASON] an unusual failure."
    )
    assert "ca.pem, cert.pem and key.pem" in error.hint


def test_future_client_certificate_named(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    client = authority.client_files()
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "future")])
    future = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    client.cert.write_bytes(future.public_bytes(serialization.Encoding.PEM))
    tls = SimpleNamespace(cert=(str(client.cert), str(client.key)), ca_cert=None)
    text = "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate"

    error = tls_error("tcp://127.0.8.5:2376", text, ssl.SSLError(1, text), tls)

    assert error.message == (
        f"The client certificate {client.cert} for the engine at "
        f"tcp://127.0.8.5:2376 is not valid until {format_utc(start)}."
    )
    assert "Check this host's clock" in error.hint
