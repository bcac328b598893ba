"""The docker SDK loads paramiko only when an ssh:// connection needs it."""

import subprocess
import sys

import pytest

pytest.importorskip("paramiko")


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_docker_import_skips_paramiko() -> None:
    output = run_python(
        "import sys, swarmtui.endpoint, docker\n"
        "print('paramiko.transport' in sys.modules)"
    )
    assert output == "False"


def test_paramiko_loads_on_attribute_access() -> None:
    output = run_python(
        "import sys, swarmtui.endpoint\n"
        "from docker.transport import sshconn\n"
        "client = sshconn.paramiko.SSHClient()\n"
        "print(type(client).__module__, 'paramiko.transport' in sys.modules)"
    )
    assert output == "paramiko.client True"


def test_placeholder_leaves_loaded_paramiko() -> None:
    output = run_python(
        "import sys, paramiko, swarmtui.endpoint\n"
        "print(type(sys.modules['paramiko']).__name__)"
    )
    assert output == "module"
