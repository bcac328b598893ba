"""Name the cause of a failed TLS connection to an engine, in one short sentence.

requests wraps the ssl module's error in two of urllib3's, whose text
repeats the pool, the URL and the retries. The messages here take the cause
from the innermost ssl.SSLError instead, and name the TLS file to check.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmtui.errors import TlsError
from swarmtui.timetext import format_utc

# The variable that names the folder of TLS files from the environment.
TLS_FILES_HINT = "DOCKER_CERT_PATH"
# OpenSSL's reason as the ssl module writes it, "[X509: REASON] text (_ssl.c:NNNN)".
SSL_REASON = re.compile(r"\[[A-Z0-9_]+(?:: [A-Z0-9_]+)?\] [^'\"()]*[^'\"() ]")


@dataclass(frozen=True)
class TlsSource:
    """The origin of a connection's TLS settings, which the hints name.

    `context` is the docker context's name, or "" for DOCKER_TLS_VERIFY,
    DOCKER_TLS and DOCKER_CERT_PATH. `host` is the engine's address.
    """

    context: str = ""
    host: str = ""

    def update_command(self) -> str:
        """Return the command that gives the context new TLS files."""
        return (
            f"docker context update {self.context} --docker host={self.host},"
            "ca=CA.pem,cert=cert.pem,key=key.pem"
        )

    def files_note(self) -> str:
        """Return where the TLS files are changed, for the end of a hint."""
        if not self.context:
            return TLS_FILES_HINT
        return (
            f"docker context {self.context!r} keeps its own copies, so give it new "
            f"ones with '{self.update_command()}'"
        )


ENVIRONMENT = TlsSource()


def chained_exceptions(error: BaseException) -> Iterator[BaseException]:
    """Yield `error` and every exception wrapped inside it, each once.

    urllib3 keeps the inner exception in the arguments and in `reason`,
    requests in the arguments, and Python in `__cause__` or `__context__`.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [*current.args, getattr(current, "reason", None)]
        linked += [current.__cause__, current.__context__]
        pending.extend(item for item in linked if isinstance(item, BaseException))


def find_ssl_error(error: BaseException) -> ssl.SSLError | None:
    """Return the ssl.SSLError inside the exceptions that wrap it, if any."""
    for current in chained_exceptions(error):
        if isinstance(current, ssl.SSLError):
            return current
    return None


def _reason_text(ssl_error: ssl.SSLError | None, text: str) -> str:
    """Return OpenSSL's reason, as "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no ...".

    Without an ssl.SSLError, the reason is searched for in `text`.
    """
    if ssl_error is not None:
        text = str(ssl_error.args[1] if len(ssl_error.args) > 1 else ssl_error)
    found = SSL_REASON.search(text)
    if found is None:
        return ""
    return found.group(0)


def _file(tls: Any, name: str) -> str:
    """Return the path of `name` (ca.pem, cert.pem or key.pem) in `tls`, or the name."""
    path: Any = None
    if name == "ca.pem":
        path = getattr(tls, "ca_cert", None)
    else:
        pair = getattr(tls, "cert", None)
        if isinstance(pair, tuple) and len(pair) == 2:
            path = pair[0] if name == "cert.pem" else pair[1]
    return str(path) if path else name


def _file_error(
    label: str, ssl_error: ssl.SSLError | None, tls: Any, source: TlsSource
) -> TlsError | None:
    """Name a TLS file that OpenSSL could not load, before the TLS handshake.

    These reasons were seen with Python 3.11's ssl module and OpenSSL 3.0:
    a ca.pem without a certificate, a ca.pem with a damaged one ("[X509]
    PEM lib"), a cert.pem or key.pem that is not PEM ("[SSL] PEM lib"), and
    a key.pem of another certificate.
    """
    if ssl_error is None:
        return None
    # Only errors raised by OpenSSL have these two attributes.
    reason = getattr(ssl_error, "reason", None) or ""
    library = getattr(ssl_error, "library", None) or ""
    text = str(ssl_error)
    ca, cert, key = _file(tls, "ca.pem"), _file(tls, "cert.pem"), _file(tls, "key.pem")
    ca_hint = (
        "Put the PEM certificate of the CA that signed the engine's certificate "
        f"there ({source.files_note()})."
    )
    if reason == "NO_CERTIFICATE_OR_CRL_FOUND":
        return TlsError(
            f"The CA file {ca} for the engine at {label} contains no certificate.",
            ca_hint,
        )
    if "PEM lib" in text and library == "X509":
        return TlsError(
            f"The CA file {ca} for the engine at {label} contains a damaged "
            "certificate.",
            ca_hint,
        )
    if "PEM lib" in text:
        return TlsError(
            f"The client certificate {cert} or its key {key} for the engine at "
            f"{label} is not a valid PEM file.",
            "Check that both files are the PEM certificate and key that the "
            f"engine's CA issued for this client ({source.files_note()}).",
        )
    if reason == "KEY_VALUES_MISMATCH":
        return TlsError(
            f"The client key {key} for the engine at {label} does not belong to "
            f"the certificate {cert}.",
            "Put the key that was made with that certificate in key.pem "
            f"({source.files_note()}).",
        )
    return None


def _client_certificate_out_of_date(
    label: str, tls: Any, source: TlsSource
) -> TlsError | None:
    """Name a client certificate that has expired or is not valid yet, by this clock.

    The engine closes the handshake the same way for any client certificate
    it rejects, so the local cert.pem's dates are the only sign of this cause.
    """
    path = _file(tls, "cert.pem")
    if path == "cert.pem":
        return None
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    now = datetime.now(UTC)
    renew = (
        "Get a new client certificate and key from the CA the engine trusts and "
        f"put them in cert.pem and key.pem ({source.files_note()})."
    )
    if now > certificate.not_valid_after_utc:
        return TlsError(
            f"The client certificate {path} for the engine at {label} expired on "
            f"{format_utc(certificate.not_valid_after_utc)}.",
            renew,
        )
    if now < certificate.not_valid_before_utc:
        return TlsError(
            f"The client certificate {path} for the engine at {label} is not "
            f"valid until {format_utc(certificate.not_valid_before_utc)}.",
            "Check this host's clock, or wait until that time. " + renew,
        )
    return None


def _unverified_engine(label: str, tls: Any, source: TlsSource) -> TlsError:
    """Describe an engine certificate that the CA file, or the CA bundle, rejected."""
    if not source.context:
        return TlsError(
            f"The TLS certificate of the engine at {label} is not signed by the "
            "CA in ca.pem.",
            "Put the CA that signed the engine's certificate in ca.pem "
            f"({TLS_FILES_HINT}).",
        )
    fix = (
        f"Give the context the CA that signed the engine's certificate with "
        f"'{source.update_command()}'."
    )
    ca = _file(tls, "ca.pem")
    if ca == "ca.pem":
        return TlsError(
            f"The TLS certificate of the engine at {label} is not signed by a CA "
            f"in the default CA bundle, and docker context {source.context!r} "
            "has no CA file (ca.pem) of its own.",
            fix,
        )
    return TlsError(
        f"The TLS certificate of the engine at {label} is not signed by the CA "
        f"in {ca}, the CA file of docker context {source.context!r}.",
        fix,
    )


def _no_tls_on_port(label: str, source: TlsSource) -> TlsError:
    """Describe TLS sent to a port that serves plain HTTP."""
    hint = (
        "Unset DOCKER_TLS_VERIFY and DOCKER_TLS for an engine that serves plain "
        "HTTP, or use the port where it serves TLS."
    )
    if source.context:
        hint = (
            f"For an engine that serves plain HTTP, remove the TLS settings of "
            f"docker context {source.context!r} with 'docker context update "
            f"{source.context} --docker host={source.host}'. Otherwise point the "
            "context at the port where the engine serves TLS."
        )
    return TlsError(f"The engine at {label} does not speak TLS on that port.", hint)


def _handshake_closed(label: str, tls: Any, source: TlsSource) -> TlsError:
    """Describe an engine that closed the TLS handshake, as for a rejected client."""
    out_of_date = _client_certificate_out_of_date(label, tls, source)
    if out_of_date is not None:
        return out_of_date
    if _file(tls, "cert.pem") == "cert.pem":
        return TlsError(
            f"The engine at {label} closed the connection during the TLS "
            "handshake. No client certificate was sent, and an engine started "
            "with --tlsverify requires one.",
            "Give a client certificate and key (cert.pem, key.pem) signed by a CA "
            f"the engine trusts ({source.files_note()}).",
        )
    return TlsError(
        f"The engine at {label} closed the connection during the TLS "
        "handshake, as it does when it does not accept the client "
        "certificate.",
        "Use a client certificate and key (cert.pem, key.pem) signed by a CA "
        f"the engine trusts ({source.files_note()}).",
    )


def tls_error(
    label: str,
    text: str,
    error: BaseException,
    tls: Any = None,
    source: TlsSource = ENVIRONMENT,
) -> TlsError:
    """Name the cause of a failed TLS connection from the SSL error and its text.

    `text` is the redacted text of `error`, `tls` the docker SDK's TLSConfig,
    whose file paths the message names where it can, and `source` where the
    TLS settings came from, which the hints name.
    """
    ssl_error = find_ssl_error(error)
    from_file = _file_error(label, ssl_error, tls, source)
    if from_file is not None:
        return from_file
    lowered = text.lower()
    if "mismatch" in lowered and "certificate" in lowered:
        return TlsError(
            f"The TLS certificate of the engine at {label} is not valid for that "
            "address.",
            "Connect with an address or name the certificate was issued for, or "
            "give the engine a certificate that includes this one.",
        )
    if "certificate has expired" in lowered or "not yet valid" in lowered:
        return TlsError(
            f"A certificate that the engine at {label} presented has expired or "
            "is not valid yet.",
            "Check the clocks of this host and the engine's host, and renew the "
            "engine's certificate or its CA if it has expired.",
        )
    if "certificate verify failed" in lowered:
        return _unverified_engine(label, tls, source)
    if "private key is encrypted" in lowered:
        # urllib3 rejects an encrypted key.pem before the handshake, so that
        # OpenSSL does not prompt for the passphrase on the terminal.
        return TlsError(
            f"The client key (key.pem) for the engine at {label} is encrypted "
            "with a passphrase.",
            "Decrypt it with 'openssl pkey -in key.pem -out key-plain.pem' and "
            f"put key-plain.pem in its place ({source.files_note()}).",
        )
    if "wrong_version_number" in lowered or "wrong version number" in lowered:
        return _no_tls_on_port(label, source)
    if "eof" in lowered or "alert" in lowered or "bad certificate" in lowered:
        return _handshake_closed(label, tls, source)
    reason = _reason_text(ssl_error, text)
    detail = f": {reason}." if reason else "."
    return TlsError(
        f"The TLS connection to the engine at {label} failed{detail}",
        f"Check ca.pem, cert.pem and key.pem ({source.files_note()}).",
    )
