"""Choose the Docker engine the way the docker CLI does.

Order: ``-H/--host``, then ``-c/--context``, then ``DOCKER_HOST``, then
``DOCKER_CONTEXT``, then the current context in the docker config, then the
default socket. ``-H`` and ``-c`` together are an error, as in the CLI. TLS
settings come from ``DOCKER_TLS_VERIFY``, ``DOCKER_TLS`` and
``DOCKER_CERT_PATH`` for a host, and from the context's own TLS material for a
context.

Contexts are read from the docker config folder (``DOCKER_CONFIG``, default
``~/.docker``) as the docker CLI stores them. The docker SDK's own context
reader is not used: it looks for contexts next to ``config.json`` only when
that file exists, and otherwise in the current directory.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmtui.atomicfile import FileRejected, read_private_file
from swarmtui.errors import EndpointError
from swarmtui.sdk_imports import defer_paramiko
from swarmtui.shell import shell_word
from swarmtui.text import escape_character, is_unsafe, quoted, terminal_safe
from swarmtui.tokens import redact

# Every docker SDK import in swarmtui comes after this module is imported.
defer_paramiko()

DEFAULT_HOST = "unix:///var/run/docker.sock"
# The kernel's limit: sun_path has room for 108 bytes, the last one a NUL.
MAX_SOCKET_PATH_BYTES = 107
HOST_FORMS = (
    "Give unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]."
)
# The start of the warning for TLS that does not check the engine's certificate.
UNVERIFIED_TLS = (
    "the engine's TLS certificate is not checked, so any server on the network "
    "path can pose as the engine"
)
# The port that the docker CLI connects to for a -H or DOCKER_HOST address
# with none, checked with docker 20.10.24 and 28.2.2, with TLS too.
DEFAULT_TCP_PORT = 2375


def with_default_port(host: str) -> str:
    """Add port 2375 to a tcp:// host, or a host without a scheme, that has no port.

    A host without a scheme gets tcp:// in front. The docker CLI reads
    "tcp://HOST", "tcp://HOST:" and a bare "HOST" given with -H or
    DOCKER_HOST as HOST:2375, also when DOCKER_TLS_VERIFY is set.
    The host of a docker context gets no default port there (docker 20.10.24
    then connects to port 80), so contexts are not passed through this.
    """
    scheme, separator, rest = host.partition("://")
    if not separator:
        if host.lower().startswith(("unix:", "npipe:")):
            return host
        scheme, rest = "tcp", host
    if scheme != "tcp":
        return host
    authority, slash, path = rest.partition("/")
    if authority.startswith("["):
        # An IPv6 address in brackets, as [::1] or [::1]:2375. Both docker
        # versions reject [::1] without a port, but the default fits it too.
        address, bracket, port_part = authority.partition("]")
        if not bracket:
            return host
        address += bracket
    else:
        address, _, port_part = authority.partition(":")
    if not address or port_part.removeprefix(":"):
        # The docker SDK would read "HOST:PORT" as a URL with the scheme HOST.
        return host if separator else f"tcp://{host}"
    return f"tcp://{address}:{DEFAULT_TCP_PORT}{slash}{path}"


# The schemes that the docker CLI takes in -H and DOCKER_HOST (docker/cli
# opts/hosts.go, parseDockerDaemonHost). The docker SDK also takes http://
# and https://, which the docker CLI rejects as an invalid bind address.
DOCKER_CLI_SCHEMES = ("tcp", "unix", "ssh", "npipe", "fd")
MAX_PORT = 65535
# The characters of a host name besides letters and digits: the unreserved
# and sub-delims characters of RFC 3986's reg-name. Percent-encoding is not
# taken, so a space, "%", a double quote or a control character is invalid.
HOST_NAME_PUNCTUATION = frozenset("-._~!$&'()*+,;=")
_CHARACTER_NAMES = {" ": "a space", "\t": "a tab", "\n": "a line feed"}


def _describe_character(character: str) -> str:
    """Name a character for a message, as "a space" or "the character \\x0d"."""
    known = _CHARACTER_NAMES.get(character)
    if known is not None:
        return known
    if is_unsafe(character) or character.isspace():
        return f"the character {escape_character(character)}"
    return f"the character {quoted(character)}"


def _port_problem(port: str) -> str:
    """Return why the port of a tcp:// or ssh:// host is invalid, or ""."""
    if not (port.isascii() and port.isdigit()):
        return f"its port {quoted(port)} is not a number"
    value = int(port)
    if value == 0:
        # The docker SDK reads port 0 as a missing port.
        return "port 0 is not a port to connect to"
    if value > MAX_PORT:
        return f"its port {value} is out of range: a port is from 1 to {MAX_PORT}"
    return ""


def _address_problem(scheme: str, authority: str) -> str:
    """Return why the [USER@]HOST[:PORT] part of a tcp:// or ssh:// host is invalid.

    An empty tcp:// host name is valid: the docker CLI reads it as localhost.
    """
    written_user, at, host_port = authority.rpartition("@")
    if at and scheme == "tcp":
        # The docker CLI drops them, and the Engine API takes no login.
        return "a tcp:// host takes no user name or password"
    if ":" in written_user:
        # The docker CLI rejects it too ("plain-text password is not
        # supported"), and ssh takes no password in its command line.
        return (
            "a password in an ssh:// host is not supported; log in with a key, "
            "as through ssh-agent"
        )
    # ssh receives the user name decoded, so %2D would start it with '-'.
    user = urllib.parse.unquote(written_user)
    if user.startswith("-") or host_port.startswith("-"):
        # ssh would read such a word as an option.
        return "its user or host name starts with '-'"
    for character in user:
        if character in "[]" or is_unsafe(character) or character.isspace():
            return (
                f"its user name contains {_describe_character(character)}, "
                "which a user name cannot contain"
            )
    if host_port.startswith("["):
        address, bracket, after = host_port[1:].partition("]")
        if not bracket:
            return "its IPv6 address has no closing bracket"
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return f"{quoted(address)} in brackets is not an IPv6 address"
        if after and not after.startswith(":"):
            return f"{quoted(after)} follows the IPv6 address, where a port belongs"
        port = after.removeprefix(":")
        return _port_problem(port) if port else ""
    if host_port.count(":") > 1:
        example_port = 22 if scheme == "ssh" else DEFAULT_TCP_PORT
        return (
            "an IPv6 address must be written in brackets, as in "
            f"{scheme}://[::1]:{example_port}"
        )
    name, _, port = host_port.partition(":")
    if scheme == "ssh" and not name:
        # The docker SDK would run ssh to 127.0.0.1 instead.
        return "the ssh hostname is empty"
    for character in name:
        # ASCII only: the docker SDK rejects other letters and digits later,
        # as a connection error.
        ascii_alnum = character.isascii() and character.isalnum()
        if not ascii_alnum and character not in HOST_NAME_PUNCTUATION:
            return (
                f"its host name {quoted(name)} contains "
                f"{_describe_character(character)}, which a host name cannot contain"
            )
    if name:
        reason = _host_name_length_problem(name)
        if reason:
            return reason
    return _port_problem(port) if port else ""


# The DNS limits on a host name (RFC 1035, section 2.3.4), counted without a
# final dot. The docker SDK fails later on a tcp:// name over them, with an
# engine error ("label empty or too long").
MAX_HOST_NAME_CHARACTERS = 253
MAX_LABEL_CHARACTERS = 63


def _host_name_length_problem(name: str) -> str:
    """Return why the labels of a host name break the DNS limits, or ""."""
    # One final dot is allowed: "example.com." is the same name, fully
    # qualified.
    labels = name.removesuffix(".")
    if len(labels) > MAX_HOST_NAME_CHARACTERS:
        return (
            f"its host name has {len(labels)} characters, and a host name can "
            f"have at most {MAX_HOST_NAME_CHARACTERS}"
        )
    for label in labels.split("."):
        if not label:
            return (
                "its host name has an empty label, because it starts with a dot "
                "or has two dots in a row"
            )
        if len(label) > MAX_LABEL_CHARACTERS:
            return (
                f"its host name has a label of {len(label)} characters, and a "
                f"label (the part between two dots) can have at most "
                f"{MAX_LABEL_CHARACTERS}"
            )
    return ""


def _network_host_problem(host: str) -> str:
    """Return why a tcp://, ssh:// or scheme-less host is invalid, or "".

    The host name and port are checked here, so that a value such as
    "tcp://a b:1" is an invalid selection and not an engine error. The
    docker SDK's parser then checks the rest.
    """
    scheme, separator, rest = host.partition("://")
    if not separator:
        scheme, rest = "tcp", host
    reason = _address_problem(scheme, _authority(rest))
    if reason:
        return reason
    for character in host:
        if is_unsafe(character) or character.isspace():
            return f"it contains {_describe_character(character)}"

    from docker.errors import DockerException
    from docker.utils import parse_host

    checked = host
    if scheme == "ssh":
        try:
            parts = urllib.parse.urlsplit(host)
        except ValueError:
            # As for a user name with a bracket, which urlsplit reads as the
            # start of an IPv6 address.
            return "it cannot be parsed as ssh://[USER@]HOST[:PORT][/PATH]"
        socket_path = urllib.parse.unquote(parts.path)
        for character in socket_path:
            if is_unsafe(character) or character.isspace():
                return f"its socket path contains {_describe_character(character)}"
        # The docker SDK takes no path in an ssh:// host, and swarmtui passes
        # the socket path to the remote docker CLI instead, as that CLI does.
        checked = urllib.parse.urlunsplit(
            ("ssh", parts.netloc, "", parts.query, parts.fragment)
        )
    try:
        parse_host(checked, False, False)
    except (DockerException, ValueError) as error:
        text = str(error).removesuffix(host).strip().rstrip(":.")
        return (text[:1].lower() + text[1:]) or "it cannot be parsed"
    return ""


def _scheme_problem(host: str) -> str:
    """Return why the scheme of `host` is not one the docker CLI takes, or ""."""
    scheme, separator, _ = host.partition("://")
    if not separator or scheme in DOCKER_CLI_SCHEMES:
        return ""
    if scheme.lower() in DOCKER_CLI_SCHEMES:
        return f"the scheme must be written in lowercase, as {scheme.lower()}://"
    if scheme.lower() in ("http", "https"):
        return (
            "the docker CLI takes no http:// or https:// host. For an engine "
            "that listens on TCP, give tcp://HOST:PORT, with DOCKER_TLS_VERIFY=1 "
            "for TLS"
        )
    return f"{quoted(scheme + '://')} is not a scheme that the docker CLI takes"


def _host_problem(host: str) -> str:
    """Return why `host` is not a form swarmtui can connect to, or ""."""
    if host.startswith("unix://"):
        path = host.removeprefix("unix://")
        size = len(os.fsencode(path))
        if not path.strip("/"):
            return "it has no socket path"
        if size > MAX_SOCKET_PATH_BYTES:
            return (
                f"its socket path is {size} bytes long, and a unix socket path "
                f"can have at most {MAX_SOCKET_PATH_BYTES}"
            )
        return ""
    if host.lower().startswith("unix:"):
        return "the scheme must be written unix://, followed by the socket path"
    if host.startswith("npipe://"):
        return "named pipes exist only on Windows"
    if host.startswith("fd://"):
        return (
            "fd:// names a socket that dockerd receives from its parent process, "
            "which a client cannot connect to"
        )
    return _scheme_problem(host) or _network_host_problem(host)


def check_host(host: str, origin: str) -> None:
    """Raise EndpointError unless `host` is in a form swarmtui can connect to.

    `origin` names where the host came from, such as "DOCKER_HOST".
    """
    reason = _host_problem(host)
    if reason:
        raise _invalid_host(host, origin, reason)


def _invalid_host(host: str, origin: str, reason: str) -> EndpointError:
    return EndpointError(
        f"The Docker host {quoted(_without_password(host))} from {origin} is "
        f"invalid: {reason}.",
        HOST_FORMS,
    )


def _password_span(rest: str) -> tuple[int, int] | None:
    """Return where a password may be in a host after its scheme, or None.

    That is the text between the first ":" and the last "@". The last "@"
    of the whole text counts, because a password may contain "/", "?" or
    "#", which end a host's USER:PASSWORD@HOST:PORT part in a URL. When one
    of them comes before that ":", as in tcp:///user:password@host, all the
    text before the "@" may be a password.
    """
    at = rest.rfind("@")
    colon = rest.find(":")
    if at == -1 or colon == -1 or colon > at:
        return None
    if any(-1 < rest.find(end) < colon for end in "/?#"):
        return 0, at
    return colon + 1, at


def _without_password(host: str) -> str:
    """Return `host` with the password of a USER:PASSWORD@ part shown as ***."""
    scheme, separator, rest = host.partition("://")
    if not separator:
        # A host without a scheme, such as user:password@host:2375.
        scheme, rest = "", host
    span = _password_span(rest)
    if span is None:
        return host
    masked = f"{rest[: span[0]]}***{rest[span[1] :]}"
    return f"{scheme}{separator}{masked}" if separator else masked


def _authority(rest: str) -> str:
    """Return the USER:PASSWORD@HOST:PORT part of a host after its scheme.

    A password is taken whole, also when it contains "/", "?" or "#".
    """
    span = _password_span(rest)
    start = span[1] if span is not None else 0
    end = len(rest)
    for mark in "/?#":
        position = rest.find(mark, start)
        if position != -1:
            end = min(end, position)
    return rest[:end]


def _docker_cli_tcp_form(host: str, origin: str) -> str:
    """Rewrite a tcp:// or scheme-less host as the docker CLI reads it.

    Checked with docker 20.10.24 and 28.2.2: the docker CLI connects to
    localhost for an empty host name, drops a query and a fragment, and
    takes brackets around any host name, not only an IPv6 address. It also
    drops a user name and password, which swarmtui rejects instead, so that
    a password is never taken as sent.
    """
    scheme, separator, rest = host.partition("://")
    if not separator:
        if host.lower().startswith(("unix:", "npipe:")):
            return host
        rest = host
    elif scheme != "tcp":
        return host
    user_and_password = _authority(rest).rpartition("@")[0]
    if user_and_password:
        masked = host[: len(host) - len(rest)] + "***" + rest[len(user_and_password) :]
        raise EndpointError(
            f"The Docker host {quoted(masked)} "
            f"from {origin} is invalid: a tcp:// host takes no user name or "
            "password: the docker CLI ignores them, and the engine does not ask "
            "for one.",
            HOST_FORMS,
        )
    for end in "?#":
        rest = rest.partition(end)[0]
    authority, slash, path = rest.partition("/")
    if authority.startswith("@"):
        # As the docker CLI does, an empty user part is dropped.
        authority = authority[1:]
    if authority.startswith("["):
        inside, bracket, after = authority[1:].partition("]")
        if bracket and ":" not in inside:
            authority = inside + after
    if not authority or authority.startswith(":"):
        authority = "localhost" + authority
    return f"tcp://{authority}{slash}{path}"


def normalized_host(host: str, origin: str) -> str:
    """Return a host from -H or DOCKER_HOST as swarmtui connects to it.

    As in the docker CLI, spaces around the value are dropped and a tcp://
    host without a port gets 2375. A value of only spaces raises
    EndpointError, where the docker CLI would use the default socket, and
    so does a host that check_host rejects.
    """
    stripped = host.strip()
    if not stripped:
        raise EndpointError(
            f"{origin} contains only spaces, which name no engine.",
            "Set it to a Docker host, such as unix:///var/run/docker.sock or "
            "tcp://HOST:PORT, or unset it to use the current docker context.",
        )
    if stripped.startswith("/"):
        raise _invalid_host(
            stripped,
            origin,
            f"a socket path needs unix:// in front, as in unix://{stripped}",
        )
    if stripped == "unix://":
        # The docker CLI reads an empty socket path as the default socket.
        return DEFAULT_HOST
    normalized = with_default_port(_docker_cli_tcp_form(stripped, origin))
    reason = _host_problem(normalized)
    if reason:
        # The message quotes the value as it was given.
        raise _invalid_host(stripped, origin, reason)
    return normalized


@dataclass(frozen=True)
class EndpointChoice:
    """The user's engine selection, not yet resolved or connected."""

    host: str | None = None
    context: str | None = None
    environment: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self) -> None:
        if self.host is not None and not self.host.strip():
            raise EndpointError(
                "The Docker host given with -H/--host is empty.", HOST_FORMS
            )
        if self.context is not None and not self.context.strip():
            raise EndpointError(
                "The docker context given with -c/--context is empty.",
                "Give a context name from 'docker context ls'.",
            )
        if self.host and self.context:
            raise EndpointError(
                "Both --host and --context were given.",
                "Use one of them, as with the docker CLI.",
            )


@dataclass(frozen=True)
class ResolvedEndpoint:
    """Arguments for `docker.APIClient` and a label to show the user."""

    label: str
    base_url: str
    tls: Any = None
    use_ssh_client: bool = False
    # The warning for TLS that does not check the engine's certificate, with
    # the setting that makes it check. Empty when TLS is off or checks it.
    unverified_tls_warning: str = ""
    # The docker context that chose the engine, and so the TLS settings, or
    # "" for a host from -H or DOCKER_HOST with TLS from the environment.
    context: str = ""

    def __post_init__(self) -> None:
        # The label is shown, logged and audited: a token typed into a host
        # or a context name appears only as its fingerprint. A line feed or
        # another control character, as a socket path may contain, shows as
        # an escape such as \x0a, since messages keep their own line feeds.
        object.__setattr__(self, "label", redact(terminal_safe(self.label)))


def _host_label(base_url: str) -> str:
    return base_url


class _JsonFileError(Exception):
    """A docker CLI JSON file that cannot be read or parsed.

    The message is a plain reason, such as "the file is empty", that ends a
    sentence naming the file. `access` is True when the file's mode or owner
    is the cause.
    """

    def __init__(self, reason: str, access: bool = False) -> None:
        super().__init__(reason)
        self.access = access


def _read_json_file(path: Path) -> Any:
    """Return the parsed JSON of `path`, or raise _JsonFileError with a plain reason.

    FileNotFoundError passes through, for the caller to treat as absent.
    """
    try:
        data = read_private_file(path)
    except FileRejected as error:
        raise _JsonFileError(str(error)) from None
    except PermissionError:
        raise _JsonFileError("permission denied", access=True) from None
    except FileNotFoundError:
        raise
    except OSError as error:
        raise _JsonFileError(error.strerror or str(error)) from None
    if not data.strip():
        raise _JsonFileError("the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _JsonFileError(
            f"it is not UTF-8 text (byte {error.start + 1} is not valid UTF-8)"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _JsonFileError(
            f"it is not valid JSON at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise _JsonFileError("its JSON is nested too deeply to read") from None


def config_dir(environment: Mapping[str, str]) -> Path:
    """Return the docker CLI's config folder: DOCKER_CONFIG or ~/.docker."""
    configured = environment.get("DOCKER_CONFIG")
    if configured:
        from swarmtui.atomicfile import home_expanded

        return home_expanded(configured, "DOCKER_CONFIG")
    return Path(environment.get("HOME") or Path.home()) / ".docker"


def current_context_name(directory: Path) -> str:
    """Read `currentContext` from config.json; "default" when unset or absent.

    A file that cannot be read or parsed, is not a JSON object, or has a
    currentContext that is not a string raises EndpointError, as an empty
    file does. The docker CLI 28.2.2 warns about such a file and goes on
    with the default context, but swarmtui would then reach an engine the
    user did not choose.
    """
    path = directory / "config.json"
    fix = "Fix or remove the file, or point DOCKER_CONFIG at another folder."
    try:
        data = _read_json_file(path)
    except FileNotFoundError:
        return "default"
    except _JsonFileError as error:
        hint = fix
        if error.access:
            hint = (
                "Give the user that runs swarmtui read access to it (check its "
                f"mode and owner with 'ls -l {path}'), or point DOCKER_CONFIG at "
                "another folder."
            )
        raise EndpointError(
            f"The docker config file {path} cannot be used: {error}.", hint
        ) from None
    from swarmtui.backends.replies import json_type  # backends imports this module

    if not isinstance(data, dict):
        raise EndpointError(
            f"The docker config file {path} cannot be used: it contains "
            f"{json_type(data)} where the docker CLI expects a JSON object.",
            fix,
        )
    name = data.get("currentContext")
    if name is not None and not isinstance(name, str):
        raise EndpointError(
            f"The docker config file {path} cannot be used: its field "
            f"currentContext is {json_type(name)} where the docker CLI expects "
            "a string.",
            fix,
        )
    return name or "default"


def _check_readable(paths: list[str], owner: str = "") -> None:
    """Raise EndpointError when a TLS file cannot be opened for reading.

    `owner` names where the files come from, as " of docker context 'x'".

    The docker SDK would fail only at the first request, as a permission
    error that reads like one on the engine's socket.
    """
    for path in paths:
        try:
            with open(path, "rb"):
                pass
        except PermissionError:
            raise EndpointError(
                f"The TLS file {path}{owner} cannot be read: permission denied.",
                f"Give the user that runs swarmtui read access to it (check its "
                f"mode and owner with 'ls -l {path}').",
            ) from None
        except OSError as error:
            raise EndpointError(
                f"The TLS file {path}{owner} cannot be read: {error.strerror}.",
                "Check the file, or replace it with a readable PEM file.",
            ) from None


class _PassphraseNeeded(Exception):
    """The signal, in place of OpenSSL's passphrase prompt, that a key is encrypted."""


def _reject_passphrase() -> bytes:
    raise _PassphraseNeeded


DECRYPT_KEY_FIX = (
    "Decrypt it with 'openssl pkey -in {path} -out key-plain.pem', keep "
    "key-plain.pem private (chmod 600), and put it in its place"
)


def _tls_content_problem(tls: Any) -> tuple[str, str, str] | None:
    """Return the kind, path and problem of a TLS file that OpenSSL cannot load.

    `tls` is the docker SDK's TLSConfig. The files are loaded as the TLS
    connection would load them, so that a file that is not PEM is named
    before any connection instead of failing as an unreachable engine or a
    failed handshake. An encrypted key is a problem too: the docker CLI
    cannot use one either, and swarmtui does not prompt for a passphrase.
    Returns None when every file loads.
    """
    import ssl

    certificates: list[tuple[str, str]] = []
    if tls.verify and tls.ca_cert:
        certificates.append(("CA file", tls.ca_cert))
    pair = tls.cert if isinstance(tls.cert, tuple) else None
    if pair is not None:
        certificates.append(("client certificate", pair[0]))
    for kind, path in certificates:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
        except ssl.SSLError as error:
            problem = "contains a damaged PEM certificate"
            if error.reason == "NO_CERTIFICATE_OR_CRL_FOUND":
                problem = "contains no PEM certificate"
            return kind, path, problem
    if pair is None:
        return None
    certificate, key = pair
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(
            certificate, key, password=_reject_passphrase
        )
    except _PassphraseNeeded:
        return "client key", key, "is encrypted with a passphrase"
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            mismatch = f"does not belong to the certificate {certificate}"
            return "client key", key, mismatch
        # The certificate loaded above, so OpenSSL's "PEM lib" is the key's.
        return "client key", key, "contains no PEM private key that can be read"
    return None


def _context_id(name: str) -> str:
    """Return the folder name of a context: the SHA-256 of its name's bytes.

    A name typed with bytes that are not UTF-8 reaches Python with surrogate
    escapes, which turn back into those bytes here, as the docker CLI reads them.
    """
    return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()


def _check_client_pair(
    name: str, host: str, tls_dir: Path, files: dict[str, str | None]
) -> None:
    """Raise EndpointError when a context has cert.pem without key.pem, or the reverse.

    The docker CLI then sends no client certificate, and an engine that
    requires one closes the handshake without saying which file is missing.
    A context without ca.pem is valid, and then the default CA bundle checks
    the engine's certificate.
    """
    present = [key for key in ("cert.pem", "key.pem") if files[key]]
    # TLS applies to tcp:// hosts only, as in the docker CLI.
    if len(present) != 1 or not host.startswith("tcp://"):
        return
    missing = "key.pem" if present == ["cert.pem"] else "cert.pem"
    raise EndpointError(
        f"The docker context {name!r} has {present[0]} but {missing} is missing "
        f"from {tls_dir}.",
        f"Give it both with 'docker context update {name} --docker "
        f"host={host},ca=CA.pem,cert=cert.pem,key=key.pem'.",
    )


def _context_tls(directory: Path, name: str, host: str, skip_verify: bool) -> Any:
    """Build the TLS settings from a context's stored CA, certificate and key."""
    tls_dir = directory / "contexts" / "tls" / _context_id(name) / "docker"
    files: dict[str, str | None] = {}
    for filename in TLS_FILE_NAMES:
        candidate = tls_dir / filename
        files[filename] = str(candidate) if candidate.is_file() else None
    if not any(files.values()) and not skip_verify:
        return None
    _check_client_pair(name, host, tls_dir, files)
    _check_readable(
        [path for path in files.values() if path], f" of docker context {name!r}"
    )
    from docker.tls import TLSConfig

    client_cert = None
    if files["cert.pem"] and files["key.pem"]:
        client_cert = (files["cert.pem"], files["key.pem"])
    return TLSConfig(
        client_cert=client_cert,
        ca_cert=files["ca.pem"],
        verify=not skip_verify,
    )


def _docker_endpoint(meta: Any) -> dict[str, Any] | None:
    """Return the "docker" entry of a context's Endpoints, or None without one."""
    endpoints = meta.get("Endpoints") if isinstance(meta, dict) else None
    endpoint = endpoints.get("docker") if isinstance(endpoints, dict) else None
    return endpoint if isinstance(endpoint, dict) else None


# How much of a wrong value a damaged-context message quotes.
MAX_QUOTED_VALUE = 40


def _damaged_field(
    name: str, meta_path: Path, key: str, value: object, expected: str
) -> EndpointError:
    """Describe a context field whose JSON type the docker CLI would reject."""
    from swarmtui.backends.replies import json_type  # backends imports this module

    # A token in the value becomes its fingerprint before the value is cut.
    quoted = redact(json.dumps(value))
    if len(quoted) > MAX_QUOTED_VALUE:
        quoted = quoted[: MAX_QUOTED_VALUE - 1] + "\u2026"
    return EndpointError(
        f"The docker context {name!r} is damaged: in {meta_path}, the field "
        f"{key} is {json_type(value)} ({quoted}), where the docker CLI expects "
        f"{expected}.",
        f"Recreate the context with 'docker context rm {name}' and 'docker "
        f"context create {name} --docker ...', or set {key} to {expected} in "
        "that file.",
    )


def _context_skip_verify(name: str, meta_path: Path, endpoint: dict[str, Any]) -> bool:
    """Read SkipTLSVerify, which must be JSON true or false, as the docker CLI does.

    Any other value, such as the string "false", would be truthy in Python
    and turn off the check of the engine's certificate.
    """
    value = endpoint.get("SkipTLSVerify")
    if value is None:
        # The docker CLI (Go's encoding/json) reads a missing or null field
        # as false.
        return False
    if not isinstance(value, bool):
        raise _damaged_field(name, meta_path, "SkipTLSVerify", value, "true or false")
    return value


def _context_host(name: str, meta_path: Path, endpoint: dict[str, Any]) -> str:
    """Read Host, which must be a JSON string; missing, null or "" is the default."""
    value = endpoint.get("Host")
    if value is None or value == "":
        return DEFAULT_HOST
    if not isinstance(value, str):
        raise _damaged_field(name, meta_path, "Host", value, "a string")
    return value


def load_context(name: str, directory: Path) -> ResolvedEndpoint:
    """Read a context that `docker context create` stored in `directory`."""
    if name == "default":
        return ResolvedEndpoint(label=DEFAULT_HOST, base_url=DEFAULT_HOST)
    meta_path = directory / "contexts" / "meta" / _context_id(name) / "meta.json"
    try:
        meta = _read_json_file(meta_path)
    except FileNotFoundError:
        raise EndpointError(
            f"The docker context {name!r} was not found in {directory}.",
            "List the contexts with 'docker context ls', or pick one with -c.",
        ) from None
    except _JsonFileError as error:
        hint = (
            f"Recreate it with 'docker context rm {name}' and 'docker context "
            f"create {name} --docker host=HOST'."
        )
        if error.access:
            hint = (
                "Give the user that runs swarmtui read access to it (check its "
                f"mode and owner with 'ls -l {meta_path}')."
            )
        raise EndpointError(
            f"The docker context {name!r} cannot be read from {meta_path}: {error}.",
            hint,
        ) from None
    if not isinstance(meta, dict):
        from swarmtui.backends.replies import json_type  # backends imports this module

        raise EndpointError(
            f"The docker context {quoted(name)} cannot be read from {meta_path}: "
            f"it contains {json_type(meta)} where the docker CLI expects a JSON "
            "object.",
            f"Recreate it with 'docker context rm {name}' and 'docker context "
            f"create {name} --docker host=HOST'.",
        )
    endpoint = _docker_endpoint(meta)
    if endpoint is None:
        raise EndpointError(
            f"The docker context {name!r} has no docker endpoint in {meta_path}.",
            f"Give it one with 'docker context update {name} --docker "
            "host=HOST', or choose another context with -c.",
        )
    host = _context_host(name, meta_path, endpoint)
    check_host(host, f"docker context {quoted(name)}")
    skip_verify = _context_skip_verify(name, meta_path, endpoint)
    try:
        tls = _context_tls(directory, name, host, skip_verify)
    except EndpointError:
        raise
    except Exception as error:  # docker.tls raises its own TLSParameterError
        raise EndpointError(
            f"The TLS files of docker context {name!r} cannot be used: {error}",
            "Recreate the context with valid --docker ca=,cert=,key= files.",
        ) from None
    # TLS applies to tcp:// hosts only, as in the docker CLI.
    found = _tls_content_problem(tls) if tls and host.startswith("tcp://") else None
    if found is not None:
        kind, path, problem = found
        fix = (
            f"Give the context valid PEM files with 'docker context update {name} "
            f"--docker host={host},ca=CA.pem,cert=cert.pem,key=key.pem'."
        )
        if problem.startswith("is encrypted"):
            fix = DECRYPT_KEY_FIX.format(path=shell_word(path)) + (
                f", or give the context another key with 'docker context update "
                f"{name} --docker host={host},ca=CA.pem,cert=cert.pem,key=key.pem'."
            )
        raise EndpointError(
            f"The {kind} {path} of docker context {quoted(name)} {problem}.", fix
        )
    warning = ""
    if tls is not None and skip_verify and host.startswith("tcp://"):
        warning = (
            f"{UNVERIFIED_TLS}, because docker context {name!r} was created with "
            "skip-tls-verify. To check it, update the context with "
            f"'docker context update {name} --docker host={host},ca=CA.pem,"
            "cert=cert.pem,key=key.pem', where CA.pem is the CA certificate "
            "that signed the engine's certificate."
        )
    return ResolvedEndpoint(
        # The name alone would leave the audit record without the engine's
        # address, which the context may point elsewhere later.
        label=f"{name} ({host})",
        base_url=host,
        tls=tls,
        use_ssh_client=host.startswith("ssh://"),
        unverified_tls_warning=warning,
        context=name,
    )


TLS_FILE_NAMES = ("ca.pem", "cert.pem", "key.pem")


def _check_tls_files(
    folder: Path,
    names: tuple[str, ...] = TLS_FILE_NAMES,
    variable: str = "DOCKER_TLS_VERIFY",
) -> None:
    """Raise EndpointError when one of `names` is missing from `folder`."""
    if not folder.is_dir():
        raise EndpointError(
            f"{variable} is set, but the folder {folder} for its TLS files "
            "does not exist.",
            "Point DOCKER_CERT_PATH at the folder with ca.pem, cert.pem and "
            "key.pem, or unset it to use the docker config folder.",
        )
    # A folder, a FIFO or a device in a file's place is there, yet not a file.
    special = [
        name
        for name in names
        if (folder / name).exists() and not (folder / name).is_file()
    ]
    if special:
        verb = "is" if len(special) == 1 else "are"
        raise EndpointError(
            f"{variable} is set, but {', '.join(special)} in {folder} {verb} "
            "not a regular file.",
            "Replace it with the PEM file, or point DOCKER_CERT_PATH at the "
            "folder that has the files.",
        )
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        wanted = "the CA certificate (ca.pem)"
        if "cert.pem" in names:
            wanted += " and a client certificate and key (cert.pem, key.pem)"
        raise EndpointError(
            f"{variable} is set, but {', '.join(missing)} {verb} missing from "
            f"{folder}.",
            f"Put {wanted} there, or point DOCKER_CERT_PATH at the folder that "
            "has them.",
        )


def _environment_tls(environment: Mapping[str, str]) -> Any:
    """Build the TLS settings for DOCKER_HOST or -H from the environment, or None.

    As in the docker CLI (checked with docker 28.2.2), a non-empty
    DOCKER_TLS_VERIFY turns on TLS that checks the engine's certificate
    against ca.pem, and a non-empty DOCKER_TLS alone turns on TLS that does
    not check it. DOCKER_CERT_PATH only names the folder with ca.pem,
    cert.pem and key.pem. When it is unset, that folder is the docker config
    folder (DOCKER_CONFIG, else ~/.docker), also as in the docker CLI.
    """
    verify = bool(environment.get("DOCKER_TLS_VERIFY"))
    if not verify and not environment.get("DOCKER_TLS"):
        return None
    folder = Path(environment.get("DOCKER_CERT_PATH") or config_dir(environment))
    if verify:
        _check_tls_files(folder)
    else:
        # The docker CLI reads ca.pem for DOCKER_TLS too (docker 28.2.2 fails
        # with "open .../ca.pem: no such file or directory"), though it does
        # not check the engine's certificate against it.
        _check_tls_files(folder, ("ca.pem",), "DOCKER_TLS")
    cert, key = folder / "cert.pem", folder / "key.pem"
    client_cert = None
    if cert.is_file() and key.is_file():
        client_cert = (str(cert), str(key))
    _check_readable(
        ([str(folder / "ca.pem")] if verify else []) + list(client_cert or ())
    )
    from docker.errors import DockerException
    from docker.tls import TLSConfig

    try:
        return TLSConfig(
            client_cert=client_cert,
            ca_cert=str(folder / "ca.pem") if verify else None,
            verify=verify,
        )
    except DockerException as error:
        raise EndpointError(
            f"The TLS files in {folder} cannot be used: {error}",
            "Check DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH.",
        ) from None


def _check_environment_tls_contents(tls: Any, environment: Mapping[str, str]) -> None:
    """Raise EndpointError for a TLS file from the environment that cannot be loaded.

    The message names the variable that turned TLS on and where the folder
    came from: DOCKER_CERT_PATH, or the docker config folder without it.
    """
    found = _tls_content_problem(tls)
    if found is None:
        return
    kind, path, problem = found
    variable = "DOCKER_TLS_VERIFY" if tls.verify else "DOCKER_TLS"
    source = "DOCKER_CERT_PATH"
    if not environment.get("DOCKER_CERT_PATH"):
        source = "the docker config folder, as DOCKER_CERT_PATH is unset"
    fix = (
        "Put the PEM certificate of the CA that signed the engine's certificate "
        "in that file"
    )
    if kind != "CA file":
        fix = (
            "Put the PEM certificate and key that the engine's CA issued for this "
            "client in cert.pem and key.pem"
        )
    if problem.startswith("is encrypted"):
        fix = DECRYPT_KEY_FIX.format(path=shell_word(path))
    raise EndpointError(
        f"{variable} is set, but the {kind} {path} (from {source}) {problem}.",
        f"{fix}, or point DOCKER_CERT_PATH at a folder with valid ca.pem, "
        "cert.pem and key.pem.",
    )


def _host_endpoint(
    host: str, origin: str, environment: Mapping[str, str]
) -> ResolvedEndpoint:
    """Resolve a host from -H or DOCKER_HOST, with TLS from the environment."""
    host = normalized_host(host, origin)
    if host.startswith("unix://"):
        # TLS settings do not apply to a unix socket, as with the docker CLI.
        return ResolvedEndpoint(label=host, base_url=host)
    tls = _environment_tls(environment)
    # The docker SDK uses no TLS settings for an ssh:// host.
    if tls is not None and not host.startswith("ssh://"):
        _check_environment_tls_contents(tls, environment)
    warning = ""
    if tls is not None and not tls.verify and not host.startswith("ssh://"):
        folder = environment.get("DOCKER_CERT_PATH") or config_dir(environment)
        warning = (
            f"{UNVERIFIED_TLS}, because DOCKER_TLS is set without "
            "DOCKER_TLS_VERIFY. To check it, set DOCKER_TLS_VERIFY=1 and put the "
            f"CA certificate that signed the engine's certificate in {folder}/ca.pem."
        )
    return ResolvedEndpoint(
        label=_host_label(host),
        base_url=host,
        tls=tls,
        use_ssh_client=host.startswith("ssh://"),
        unverified_tls_warning=warning,
    )


def resolve_endpoint(choice: EndpointChoice) -> ResolvedEndpoint:
    """Turn the user's choice into client arguments; nothing is connected yet."""
    environment = dict(choice.environment)
    if choice.host:
        return _host_endpoint(choice.host, "-H/--host", environment)

    context_name = choice.context
    if not context_name and environment.get("DOCKER_HOST"):
        return _host_endpoint(environment["DOCKER_HOST"], "DOCKER_HOST", environment)
    if not context_name:
        context_name = environment.get("DOCKER_CONTEXT") or None

    directory = config_dir(environment)
    if context_name is None:
        context_name = current_context_name(directory)
    if context_name == "default" and environment.get("DOCKER_HOST"):
        # The docker CLI's default context is DOCKER_HOST when it is set, also
        # when -c default names it (checked with docker 28.2.2).
        return _host_endpoint(environment["DOCKER_HOST"], "DOCKER_HOST", environment)
    return load_context(context_name, directory)
