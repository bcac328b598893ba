"""Engine selection: -H, -c, DOCKER_HOST, DOCKER_CONTEXT and the current context.

Contexts are created with the real docker CLI in a temporary DOCKER_CONFIG
folder, so the files read are the ones the CLI writes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from engine_fixtures import docker_cli, swarmtui_script, without_file_access
from tls_support import CertificateAuthority

from swarmtui.endpoint import EndpointChoice, resolve_endpoint
from swarmtui.errors import EndpointError

HOST_FLAG = "unix:///tmp/flag.sock"
HOST_ENV = "unix:///tmp/env.sock"
HOST_CONTEXT = "unix:///tmp/context.sock"
HOST_CURRENT = "unix:///tmp/current.sock"


def docker_context_create(config: Path, name: str, docker_option: str) -> None:
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


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A docker config folder with two contexts and no config.json."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    docker_context_create(directory, "named", f"host={HOST_CONTEXT}")
    docker_context_create(directory, "current", f"host={HOST_CURRENT}")
    return directory


def choose(
    config: Path, host: str | None = None, context: str | None = None, **env: str
) -> str:
    environment = {"DOCKER_CONFIG": str(config), "HOME": str(config.parent), **env}
    choice = EndpointChoice(host=host, context=context, environment=environment)
    return resolve_endpoint(choice).base_url


def test_host_flag_beats_docker_host(config: Path) -> None:
    chosen = choose(config, host=HOST_FLAG, DOCKER_HOST=HOST_ENV)

    assert chosen == HOST_FLAG


def test_host_flag_beats_docker_context(config: Path) -> None:
    assert choose(config, host=HOST_FLAG, DOCKER_CONTEXT="named") == HOST_FLAG


def test_docker_host_beats_docker_context(config: Path) -> None:
    assert choose(config, DOCKER_HOST=HOST_ENV, DOCKER_CONTEXT="named") == HOST_ENV


def test_context_flag_beats_docker_host(config: Path) -> None:
    assert choose(config, context="named", DOCKER_HOST=HOST_ENV) == HOST_CONTEXT


def test_docker_context_is_used(config: Path) -> None:
    resolved = resolve_endpoint(
        EndpointChoice(
            environment={"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "named"}
        )
    )

    assert resolved.base_url == HOST_CONTEXT
    assert resolved.label == f"named ({HOST_CONTEXT})"
    assert resolved.tls is None


def test_current_context_is_used(config: Path) -> None:
    (config / "config.json").write_text(json.dumps({"currentContext": "current"}))

    assert choose(config) == HOST_CURRENT
    assert choose(config, DOCKER_CONTEXT="named") == HOST_CURRENT.replace(
        "current", "context"
    )


def test_default_context_without_config(tmp_path: Path) -> None:
    resolved = resolve_endpoint(
        EndpointChoice(environment={"DOCKER_CONFIG": str(tmp_path / "none")})
    )

    assert resolved.base_url == "unix:///var/run/docker.sock"


def test_home_docker_folder_is_default(config: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config.rename(home / ".docker")
    environment = {"HOME": str(home), "DOCKER_CONTEXT": "named"}

    resolved = resolve_endpoint(EndpointChoice(environment=environment))

    assert resolved.base_url == HOST_CONTEXT


def test_unknown_context_is_clear_error(config: Path) -> None:
    with pytest.raises(EndpointError) as caught:
        choose(config, DOCKER_CONTEXT="missing")

    assert "'missing'" in str(caught.value)
    assert "docker context ls" in str(caught.value)
    assert caught.value.exit_code == 2


def test_context_name_with_bad_bytes_not_found(config: Path) -> None:
    # A byte that is not UTF-8 on the command line reaches Python as a
    # surrogate escape.
    with pytest.raises(EndpointError) as caught:
        choose(config, context="a\udc9b")

    assert caught.value.exit_code == 2
    assert "The docker context 'a\\udc9b' was not found" in str(caught.value)


@pytest.mark.parametrize(
    "text", ["{not json", "[" * 200_000 + "]" * 200_000], ids=["syntax", "deep-nesting"]
)
def test_damaged_context_is_clear_error(config: Path, text: str) -> None:
    for meta in (config / "contexts" / "meta").rglob("meta.json"):
        meta.write_text(text)

    with pytest.raises(EndpointError) as caught:
        choose(config, context="named")

    assert "cannot be read" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("{", "it is not valid JSON at line 1 column 2"),
        ("[" * 200_000 + "]" * 200_000, "its JSON is nested too deeply to read"),
        ("[]", "it contains a list where the docker CLI expects a JSON object"),
        (
            '{"currentContext": 5}',
            "its field currentContext is a number where the docker CLI expects "
            "a string",
        ),
        (
            '{"currentContext": ["named"]}',
            "its field currentContext is a list where the docker CLI expects a string",
        ),
    ],
    ids=["empty", "syntax", "deep-nesting", "array", "number", "list-of-names"],
)
def test_damaged_config_is_clear_error(config: Path, text: str, reason: str) -> None:
    path = config / "config.json"
    path.write_text(text)

    with pytest.raises(EndpointError) as caught:
        choose(config)

    assert caught.value.message == (
        f"The docker config file {path} cannot be used: {reason}."
    )
    assert caught.value.exit_code == 2
    assert "DOCKER_CONFIG" in caught.value.hint


@pytest.mark.parametrize("text", ['{"currentContext": null}', '{"currentContext": ""}'])
def test_config_without_context_is_default(config: Path, text: str) -> None:
    (config / "config.json").write_text(text)

    assert choose(config) == "unix:///var/run/docker.sock"


def test_host_and_context_together_rejected() -> None:
    with pytest.raises(EndpointError):
        EndpointChoice(host=HOST_FLAG, context="named", environment={})


def test_ssh_host_uses_ssh_client(config: Path) -> None:
    resolved = resolve_endpoint(
        EndpointChoice(host="ssh://admin@127.0.1.9", environment={})
    )

    assert resolved.use_ssh_client is True
    assert resolved.base_url == "ssh://admin@127.0.1.9"


def test_ssh_context_uses_ssh_client(config: Path) -> None:
    docker_context_create(config, "remote", "host=ssh://admin@127.0.1.9")

    resolved = resolve_endpoint(
        EndpointChoice(context="remote", environment={"DOCKER_CONFIG": str(config)})
    )

    assert resolved.use_ssh_client is True


def test_unix_host_does_not_use_ssh(config: Path) -> None:
    resolved = resolve_endpoint(EndpointChoice(host=HOST_FLAG, environment={}))

    assert resolved.use_ssh_client is False
    assert resolved.label == HOST_FLAG


def write_tls_files(directory: Path) -> dict[str, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    directory.mkdir()
    files = {
        "ca": directory / "ca.pem",
        "cert": directory / "cert.pem",
        "key": directory / "key.pem",
    }
    files["ca"].write_bytes(pem)
    files["cert"].write_bytes(pem)
    files["key"].write_bytes(key_pem)
    return files


def test_tls_context_carries_certificates(config: Path, tmp_path: Path) -> None:
    files = write_tls_files(tmp_path / "tls")
    docker_context_create(
        config,
        "secure",
        f"host=tcp://127.0.1.9:2376,ca={files['ca']},cert={files['cert']},"
        f"key={files['key']}",
    )

    resolved = resolve_endpoint(
        EndpointChoice(context="secure", environment={"DOCKER_CONFIG": str(config)})
    )

    assert resolved.base_url == "tcp://127.0.1.9:2376"
    assert resolved.tls is not None
    assert resolved.tls.verify is True
    assert Path(resolved.tls.ca_cert).read_bytes() == files["ca"].read_bytes()
    assert resolved.tls.cert is not None
    assert Path(resolved.tls.cert[1]).read_bytes() == files["key"].read_bytes()


def test_docker_host_tls_from_environment(tmp_path: Path) -> None:
    files = write_tls_files(tmp_path / "certs")

    resolved = resolve_endpoint(
        EndpointChoice(
            environment={
                "DOCKER_HOST": "tcp://127.0.1.9:2376",
                "DOCKER_TLS_VERIFY": "1",
                "DOCKER_CERT_PATH": str(files["ca"].parent),
            }
        )
    )

    assert resolved.tls is not None
    assert resolved.tls.verify is True
    assert resolved.tls.ca_cert == str(files["ca"])
    assert resolved.base_url.endswith("127.0.1.9:2376")


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("unix:", "the scheme must be written unix://"),
        ("unix:/run/docker.sock", "the scheme must be written unix://"),
        ("UNIX:///run/docker.sock", "the scheme must be written unix://"),
        ("unix:///", "it has no socket path"),
        ("unix:///" + "a" * 107, "its socket path is 108 bytes long"),
    ],
)
def test_bad_unix_host_rejected(host: str, reason: str) -> None:
    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(host=host, environment={}))

    assert reason in str(caught.value)
    assert caught.value.exit_code == 2


def test_longest_unix_path_accepted() -> None:
    host = "unix:///" + "a" * 106

    resolved = resolve_endpoint(EndpointChoice(host=host, environment={}))

    assert resolved.base_url == host
    assert resolved.tls is None


# A host name of 253 characters in labels of 63: the DNS maximums.
LONGEST_HOST_NAME = ".".join(["a" * 63] * 3 + ["b" * 61])


@pytest.mark.parametrize(
    "host",
    [
        f"tcp://{LONGEST_HOST_NAME}:2375",
        f"tcp://{LONGEST_HOST_NAME}.:2375",
        f"ssh://admin@{LONGEST_HOST_NAME}",
        f"ssh://admin@{LONGEST_HOST_NAME}.:22",
    ],
    ids=["tcp", "tcp-final-dot", "ssh", "ssh-final-dot"],
)
def test_longest_host_name_accepted(host: str) -> None:
    resolved = resolve_endpoint(EndpointChoice(host=host, environment={}))

    assert resolved.base_url == host


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("tcp://127.0.62.1", "tcp://127.0.62.1:2375"),
        ("tcp://127.0.62.1:", "tcp://127.0.62.1:2375"),
        ("127.0.62.1", "tcp://127.0.62.1:2375"),
        ("tcp://[::1]", "tcp://[::1]:2375"),
        ("tcp://127.0.62.1:2376", "tcp://127.0.62.1:2376"),
        ("127.0.62.1:2376", "tcp://127.0.62.1:2376"),
        (" tcp://127.0.62.1:2376\n", "tcp://127.0.62.1:2376"),
        ("tcp://", "tcp://localhost:2375"),
        ("tcp://:2376", "tcp://localhost:2376"),
        (":2376", "tcp://localhost:2376"),
        ("tcp://[127.0.62.1]:2376", "tcp://127.0.62.1:2376"),
        ("tcp://[127.0.62.1]", "tcp://127.0.62.1:2375"),
        ("tcp://[localhost]:2376", "tcp://localhost:2376"),
        ("tcp://127.0.62.1:2376?a=1#b", "tcp://127.0.62.1:2376"),
        ("tcp://127.0.62.1:2376/base#b", "tcp://127.0.62.1:2376/base"),
        ("tcp://127.0.62.1#b", "tcp://127.0.62.1:2375"),
    ],
)
@pytest.mark.parametrize("origin", ["flag", "environment"])
def test_tcp_host_default_port(host: str, base_url: str, origin: str) -> None:
    if origin == "flag":
        choice = EndpointChoice(host=host, environment={})
    else:
        choice = EndpointChoice(environment={"DOCKER_HOST": host})

    resolved = resolve_endpoint(choice)

    assert resolved.base_url == base_url
    assert resolved.label == base_url


@pytest.mark.parametrize("origin", ["flag", "environment"])
def test_empty_unix_host_default_socket(origin: str) -> None:
    # The docker CLI reads "unix://" as its default socket.
    if origin == "flag":
        choice = EndpointChoice(host="unix://", environment={})
    else:
        choice = EndpointChoice(environment={"DOCKER_HOST": "unix://"})

    resolved = resolve_endpoint(choice)

    assert resolved.base_url == "unix:///var/run/docker.sock"


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("tcp://admin:hunter2@127.0.62.1:2376", "'tcp://***@127.0.62.1:2376'"),
        ("admin:hunter2@127.0.62.1", "'***@127.0.62.1'"),
        ("tcp://a@b:hunter2@127.0.62.1", "'tcp://***@127.0.62.1'"),
        ("tcp://admin:hunt/er2@127.0.62.1:2376", "'tcp://***@127.0.62.1:2376'"),
        ("tcp://admin:hunt#er2@127.0.62.1:2376", "'tcp://***@127.0.62.1:2376'"),
        ("admin:hunt?er2@127.0.62.1", "'***@127.0.62.1'"),
        ("tcp:///admin:hunt-er2@127.0.62.1", "'tcp://***@127.0.62.1'"),
        ("tcp://h/u:hunt/er2@127.0.62.1", "'tcp://***@127.0.62.1'"),
        ("tcp://?u:hunt/er2@127.0.62.1", "'tcp://***@127.0.62.1'"),
    ],
)
def test_tcp_host_password_rejected(host: str, shown: str) -> None:
    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(host=host, environment={}))

    message = str(caught.value)
    assert f"The Docker host {shown} from -H/--host is invalid" in message
    assert "takes no user name or password" in message
    assert "hunter2" not in message
    assert "hunt" not in message
    assert "er2" not in message
    assert caught.value.exit_code == 2


def test_tls_host_default_port(tmp_path: Path) -> None:
    # docker 20.10.24 and 28.2.2 connect to port 2375 with TLS too.
    files = write_tls_files(tmp_path / "certs")
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(files["ca"].parent),
    }

    resolved = resolve_endpoint(EndpointChoice(environment=environment))

    assert resolved.base_url == "tcp://127.0.62.1:2375"
    assert resolved.tls is not None
    assert resolved.tls.verify is True


def test_context_host_without_port_rejected(config: Path) -> None:
    # The docker CLI gives a context's host no default port.
    docker_context_create(config, "noport", "host=tcp://127.0.62.1")

    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(
            EndpointChoice(context="noport", environment={"DOCKER_CONFIG": str(config)})
        )

    assert "from docker context 'noport' is invalid" in caught.value.message
    assert "port is required" in caught.value.message


def test_cert_path_alone_keeps_plain_http(tmp_path: Path) -> None:
    files = write_tls_files(tmp_path / "certs")
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        "DOCKER_CERT_PATH": str(files["ca"].parent),
    }

    resolved = resolve_endpoint(EndpointChoice(environment=environment))

    assert resolved.tls is None
    assert resolved.base_url == "tcp://127.0.62.1:2376"


@pytest.mark.parametrize("value", ["", "0", "1"])
def test_docker_tls_turns_on_unverified_tls(tmp_path: Path, value: str) -> None:
    files = write_tls_files(tmp_path / "certs")
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        "DOCKER_TLS": "1",
        "DOCKER_TLS_VERIFY": value,
        "DOCKER_CERT_PATH": str(files["ca"].parent),
    }

    resolved = resolve_endpoint(EndpointChoice(environment=environment))

    assert resolved.tls is not None
    # Any non-empty DOCKER_TLS_VERIFY, "0" too, checks the certificate.
    assert resolved.tls.verify is bool(value)
    assert resolved.tls.cert == (str(files["cert"]), str(files["key"]))


@pytest.mark.parametrize("variable", ["DOCKER_TLS_VERIFY", "DOCKER_TLS"])
def test_docker_cert_path_folder_missing(tmp_path: Path, variable: str) -> None:
    folder = tmp_path / "no-such-folder"
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        variable: "1",
        "DOCKER_CERT_PATH": str(folder),
    }

    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(environment=environment))

    assert caught.value.message == (
        f"{variable} is set, but the folder {folder} for its TLS files does not exist."
    )
    assert caught.value.hint.startswith("Point DOCKER_CERT_PATH at the folder")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_tls_file_not_regular_named(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "certs"
    files = write_tls_files(folder)
    key = folder / "key.pem"
    assert files["key"] == key
    key.unlink()
    if kind == "fifo":
        os.mkfifo(key)
    else:
        key.mkdir()
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(folder),
    }

    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(environment=environment))

    assert caught.value.message == (
        f"DOCKER_TLS_VERIFY is set, but key.pem in {folder} is not a regular file."
    )


def test_docker_tls_needs_ca_file(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        "DOCKER_TLS": "1",
        "DOCKER_CERT_PATH": str(folder),
    }

    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(environment=environment))
    assert f"DOCKER_TLS is set, but ca.pem is missing from {folder}." == (
        caught.value.message
    )
    assert caught.value.hint.startswith("Put the CA certificate (ca.pem) there")

    files = write_tls_files(tmp_path / "full")
    (folder / "ca.pem").write_bytes(files["ca"].read_bytes())
    resolved = resolve_endpoint(EndpointChoice(environment=environment))

    assert resolved.tls is not None
    assert resolved.tls.verify is False
    assert resolved.tls.cert is None


def test_tls_files_default_to_docker_config(tmp_path: Path) -> None:
    files = write_tls_files(tmp_path / "docker-config")
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CONFIG": str(files["ca"].parent),
        "HOME": str(home),
    }

    resolved = resolve_endpoint(EndpointChoice(environment=environment))

    assert resolved.tls is not None
    assert resolved.tls.ca_cert == str(files["ca"])
    assert resolved.tls.cert == (str(files["cert"]), str(files["key"]))


def test_missing_tls_files_named(tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    config.mkdir()
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CONFIG": str(config),
        "HOME": str(tmp_path / "home"),
    }

    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(environment=environment))

    assert f"missing from {config}." in caught.value.message


def test_skip_verify_context_uses_tls(config: Path) -> None:
    docker_context_create(
        config, "skip", "host=tcp://127.0.62.1:2376,skip-tls-verify=true"
    )

    resolved = resolve_endpoint(
        EndpointChoice(context="skip", environment={"DOCKER_CONFIG": str(config)})
    )

    assert resolved.tls is not None
    assert resolved.tls.verify is False
    assert "created with skip-tls-verify" in resolved.unverified_tls_warning


@pytest.mark.parametrize("selection", ["option", "variable", "current"])
def test_default_context_uses_docker_host(config: Path, selection: str) -> None:
    context = "default" if selection == "option" else None
    variables = {"DOCKER_HOST": HOST_ENV}
    if selection == "variable":
        variables["DOCKER_CONTEXT"] = "default"
    if selection == "current":
        (config / "config.json").write_text(json.dumps({"currentContext": "default"}))

    resolved = resolve_endpoint(
        EndpointChoice(
            context=context,
            environment={"DOCKER_CONFIG": str(config), **variables},
        )
    )

    assert resolved.base_url == HOST_ENV
    assert resolved.label == HOST_ENV


def test_default_context_option_without_docker_host(config: Path) -> None:
    assert choose(config, context="default") == "unix:///var/run/docker.sock"


@pytest.mark.parametrize(
    "meta",
    [{"Endpoints": {}}, {"Endpoints": {"docker": None}}, {}],
    ids=["empty", "null", "no-endpoints"],
)
def test_context_without_docker_endpoint_named(config: Path, meta: object) -> None:
    for path in (config / "contexts" / "meta").rglob("meta.json"):
        path.write_text(json.dumps(meta))

    with pytest.raises(EndpointError) as caught:
        choose(config, context="named")

    assert "The docker context 'named' has no docker endpoint in " in str(caught.value)
    assert "docker context update named --docker host=HOST" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("meta", "kind"),
    [("str", "a string"), (None, "null"), ([], "a list"), (5, "a number")],
    ids=["string", "null", "list", "number"],
)
def test_context_meta_not_object_named(config: Path, meta: object, kind: str) -> None:
    for path in (config / "contexts" / "meta").rglob("meta.json"):
        path.write_text(json.dumps(meta))

    with pytest.raises(EndpointError) as caught:
        choose(config, context="named")

    assert "The docker context 'named' cannot be read from " in str(caught.value)
    assert f"it contains {kind} where the docker CLI expects a JSON object" in str(
        caught.value
    )
    assert "no docker endpoint" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_skip_verify_unix_context_not_warned(config: Path) -> None:
    docker_context_create(config, "local", f"host={HOST_CONTEXT},skip-tls-verify=true")

    resolved = resolve_endpoint(
        EndpointChoice(context="local", environment={"DOCKER_CONFIG": str(config)})
    )

    assert resolved.base_url == HOST_CONTEXT
    assert resolved.unverified_tls_warning == ""


def context_meta(config: Path, name: str) -> Path:
    """Return the meta.json that the docker CLI wrote for context `name`."""
    context_id = hashlib.sha256(name.encode()).hexdigest()
    return config / "contexts" / "meta" / context_id / "meta.json"


def set_endpoint_field(config: Path, name: str, key: str, value: object) -> Path:
    """Set one field of a context's docker endpoint in its meta.json."""
    meta = context_meta(config, name)
    data = json.loads(meta.read_text())
    data["Endpoints"]["docker"][key] = value
    meta.write_text(json.dumps(data))
    return meta


@pytest.mark.parametrize(
    "value",
    ["false", "no", "", 0, 1, [], {}],
    ids=["string-false", "string-no", "empty-string", "zero", "one", "array", "object"],
)
def test_skip_verify_not_boolean_rejected(config: Path, value: object) -> None:
    docker_context_create(config, "typed", "host=tcp://127.0.62.1:2376")
    meta = set_endpoint_field(config, "typed", "SkipTLSVerify", value)

    with pytest.raises(EndpointError) as caught:
        choose(config, context="typed")

    assert caught.value.exit_code == 2
    assert f"The docker context 'typed' is damaged: in {meta}, the field " in str(
        caught.value
    )
    assert "SkipTLSVerify" in caught.value.message
    assert "true or false" in caught.value.message


@pytest.mark.parametrize("value", [False, None], ids=["false", "null"])
def test_skip_verify_null_verifies(config: Path, tmp_path: Path, value: object) -> None:
    ca = CertificateAuthority(tmp_path / "ca", "swarmtui endpoint test CA").ca_pem
    docker_context_create(config, "typed", f"host=tcp://127.0.62.1:2376,ca={ca}")
    set_endpoint_field(config, "typed", "SkipTLSVerify", value)

    resolved = resolve_endpoint(
        EndpointChoice(context="typed", environment={"DOCKER_CONFIG": str(config)})
    )

    assert resolved.tls is not None
    assert resolved.tls.verify is not False
    assert resolved.unverified_tls_warning == ""


@pytest.mark.parametrize(
    "value", [2376, True, ["tcp://127.0.62.1:2376"]], ids=["number", "true", "array"]
)
def test_host_not_string_rejected(config: Path, value: object) -> None:
    meta = set_endpoint_field(config, "named", "Host", value)

    with pytest.raises(EndpointError) as caught:
        choose(config, context="named")

    assert caught.value.exit_code == 2
    assert f"in {meta}, the field Host is " in caught.value.message
    assert "where the docker CLI expects a string" in caught.value.message


def test_skip_verify_token_value_redacted(config: Path) -> None:
    token = "SWMTKN-1-" + "1" + "a" * 48 + "z" + "-0123456789abcdefghijklmno"
    docker_context_create(config, "typed", "host=tcp://127.0.62.1:2376")
    set_endpoint_field(config, "typed", "SkipTLSVerify", token)

    with pytest.raises(EndpointError) as caught:
        choose(config, context="typed")

    assert 'SkipTLSVerify is a string ("<token fp:' in caught.value.message
    assert "SWMTKN" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b'{"Name": "named", "Endp', "it is not valid JSON at line 1 column 19"),
        (b"\xff\xfe\x00{", "it is not UTF-8 text (byte 1 is not valid UTF-8)"),
        (b"[" * 100_000, "its JSON is nested too deeply to read"),
    ],
    ids=["empty", "truncated", "not-utf8", "deep-nesting"],
)
def test_damaged_context_reason_named(
    config: Path, content: bytes, reason: str
) -> None:
    meta = context_meta(config, "named")
    meta.write_bytes(content)

    with pytest.raises(EndpointError) as caught:
        choose(config, context="named")

    assert caught.value.message == (
        f"The docker context 'named' cannot be read from {meta}: {reason}."
    )
    assert caught.value.hint == (
        "Recreate it with 'docker context rm named' and 'docker context create "
        "named --docker host=HOST'."
    )
    assert "Error" not in str(caught.value)


@pytest.mark.parametrize("target", ["context", "config"])
def test_unreadable_file_names_mode(config: Path, target: str) -> None:
    path = context_meta(config, "named")
    arguments = ["-c", "named"]
    separator = ":"
    if target == "config":
        path = config / "config.json"
        path.write_text(json.dumps({"currentContext": "named"}))
        arguments = []
        separator = " cannot be used:"
    path.chmod(0)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DOCKER_CONFIG": str(config),
        "HOME": str(config.parent),
    }

    result = subprocess.run(
        without_file_access([swarmtui_script(), *arguments, "join-token", "worker"]),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=environment,
        timeout=60,
    )

    assert result.returncode == 2, result.stderr
    assert f"{path}{separator} permission denied." in result.stderr
    assert f"check its mode and owner with 'ls -l {path}'" in result.stderr
    assert "Recreate" not in result.stderr


@pytest.mark.parametrize(
    ("choice", "command"),
    [
        ({"host": HOST_FLAG}, f"docker -H {HOST_FLAG} swarm unlock"),
        ({"context": "named"}, "docker --context named swarm unlock"),
        (
            {"host": "unix:///var/run/docker.sock"},
            "docker -H unix:///var/run/docker.sock swarm unlock",
        ),
        ({}, "docker swarm unlock"),
        (
            {"host": "unix:///tmp/a b.sock"},
            'docker -H "unix:///tmp/a b.sock" swarm unlock',
        ),
    ],
)
def test_unlock_command_reaches_same_engine(
    config: Path, choice: dict[str, str], command: str
) -> None:
    from swarmtui.backends.engine import EngineBackend

    backend = EngineBackend(
        EndpointChoice(environment={"DOCKER_CONFIG": str(config)}, **choice)
    )
    try:
        assert backend.endpoint
        assert backend.unlock_command == command
    finally:
        backend.close()


def encrypt_key(path: Path) -> None:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )


def test_encrypted_environment_key_rejected(tmp_path: Path) -> None:
    files = write_tls_files(tmp_path / "certs")
    encrypt_key(files["key"])
    environment = {
        "DOCKER_HOST": "tcp://127.0.62.1:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(files["ca"].parent),
    }

    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(environment=environment))

    assert caught.value.exit_code == 2
    assert f"the client key {files['key']} (from DOCKER_CERT_PATH)" in str(caught.value)
    assert "is encrypted with a passphrase" in caught.value.message
    assert f"openssl pkey -in {files['key']} -out" in caught.value.hint


def test_encrypted_context_key_rejected(config: Path, tmp_path: Path) -> None:
    # The docker CLI rejects an encrypted key when it creates a context, so
    # the key in the context's store is encrypted afterwards.
    files = write_tls_files(tmp_path / "tls")
    docker_context_create(
        config,
        "locked",
        f"host=tcp://127.0.1.9:2376,ca={files['ca']},cert={files['cert']},"
        f"key={files['key']}",
    )
    folder = hashlib.sha256(b"locked").hexdigest()
    encrypt_key(config / "contexts" / "tls" / folder / "docker" / "key.pem")

    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(
            EndpointChoice(context="locked", environment={"DOCKER_CONFIG": str(config)})
        )

    assert "of docker context 'locked' is encrypted with a passphrase" in str(
        caught.value
    )
    assert "openssl pkey -in " in caught.value.hint
    assert "docker context update locked" in caught.value.hint


@pytest.mark.parametrize(
    ("host", "shown", "reason"),
    [
        (
            "tcp://admin:hunter2@127.0.62.1:2376",
            "'tcp://admin:***@127.0.62.1:2376'",
            "a tcp:// host takes no user name or password",
        ),
        (
            "ssh://admin:hunter2@127.0.62.1",
            "'ssh://admin:***@127.0.62.1'",
            "a password in an ssh:// host is not supported",
        ),
        (
            "ssh://admin:hunter2/x@127.0.62.1",
            "'ssh://admin:***@127.0.62.1'",
            "a password in an ssh:// host is not supported",
        ),
        (
            "tcp://admin:hunter2#x@127.0.62.1:2376",
            "'tcp://admin:***@127.0.62.1:2376'",
            "a tcp:// host takes no user name or password",
        ),
        (
            "admin:hunter2@127.0.62.1",
            "'admin:***@127.0.62.1'",
            "a tcp:// host takes no user name or password",
        ),
        (
            "admin:hunter2@127.0.62.1:2375",
            "'admin:***@127.0.62.1:2375'",
            "a tcp:// host takes no user name or password",
        ),
    ],
)
def test_context_host_password_masked(
    config: Path, host: str, shown: str, reason: str
) -> None:
    docker_context_create(config, "withpw", "host=tcp://127.0.62.1:2376")
    set_endpoint_field(config, "withpw", "Host", host)

    with pytest.raises(EndpointError) as caught:
        choose(config, context="withpw")

    message = str(caught.value)
    assert f"The Docker host {shown} from docker context 'withpw'" in message
    assert reason in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("ssh://admin:hunter2@127.0.62.1", "a password in an ssh:// host"),
        ("ssh://admin:@127.0.62.1", "a password in an ssh:// host"),
        ("ssh://admin:hunter2/x@127.0.62.1", "a password in an ssh:// host"),
        ("ssh://admin:hunter2?x@127.0.62.1", "a password in an ssh:// host"),
        ("ssh://admin:hunter2#x@127.0.62.1:22", "a password in an ssh:// host"),
        ("ssh://h/u:hunter2@127.0.62.1", "a password in an ssh:// host"),
        ("ssh://%2Doops@127.0.62.1", "its user or host name starts with '-'"),
        ("ssh://u%20x@127.0.62.1", "its user name contains a space"),
        ("ssh://u%5Bx@127.0.62.1", "its user name contains the character '['"),
    ],
)
def test_ssh_user_checked_decoded(host: str, reason: str) -> None:
    with pytest.raises(EndpointError) as caught:
        resolve_endpoint(EndpointChoice(host=host, environment={}))

    assert reason in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_tcp_host_empty_user_part_dropped() -> None:
    # The docker CLI reads tcp://@HOST:PORT as HOST:PORT.
    resolved = resolve_endpoint(
        EndpointChoice(host="tcp://@127.0.62.1:2376", environment={})
    )

    assert resolved.base_url == "tcp://127.0.62.1:2376"
