"""Choose the Docker engine the way the docker CLI does.

Order: ``-H/--host``, then ``-c/--context``, then ``DOCKER_HOST``, then
``DOCKER_CONTEXT``, then the current context in the docker config, then the
default socket. ``-H`` and ``-c`` together are an error, as in the CLI. TLS
settings come from ``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH`` for a host,
and from the context's own TLS material for a context. The resolution itself
is the docker SDK's (7.2 reads contexts); this module only picks the inputs
and names the result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from swarmtui.errors import EndpointError

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class EndpointChoice:
    """What the user selected; nothing is resolved or connected yet."""

    host: str | None = None
    context: str | None = None
    environment: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self) -> None:
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


def _host_label(base_url: str) -> str:
    return base_url


def resolve_endpoint(choice: EndpointChoice) -> ResolvedEndpoint:
    """Turn the user's choice into client arguments, importing the docker SDK."""
    from docker.context import ContextAPI
    from docker.errors import ContextException, DockerException
    from docker.utils import kwargs_from_env

    environment = dict(choice.environment)
    if choice.host:
        environment["DOCKER_HOST"] = choice.host

    context_name = choice.context
    if not context_name and not environment.get("DOCKER_HOST"):
        context_name = environment.get("DOCKER_CONTEXT") or None

    try:
        if context_name is None and environment.get("DOCKER_HOST"):
            params = kwargs_from_env(environment=environment)
            base_url = params["base_url"]
            return ResolvedEndpoint(
                label=_host_label(base_url),
                base_url=base_url,
                tls=params.get("tls"),
                use_ssh_client=base_url.startswith("ssh://"),
            )

        if context_name is None:
            from docker.context.config import get_current_context_name

            context_name = get_current_context_name()
        context = ContextAPI.get_context(context_name)
    except (ContextException, DockerException, OSError, ValueError) as error:
        raise EndpointError(
            f"The docker endpoint settings could not be read: {error}",
            "Check DOCKER_HOST, DOCKER_CERT_PATH and the docker contexts "
            "(docker context ls).",
        ) from None

    if context is None:
        raise EndpointError(
            f"The docker context {context_name!r} was not found.",
            "List the contexts with 'docker context ls', or pick one with -c.",
        )
    host = context.Host or DEFAULT_HOST
    label = context_name if context_name != "default" else _host_label(host)
    return ResolvedEndpoint(
        label=label,
        base_url=host,
        tls=context.TLSConfig,
        use_ssh_client=host.startswith("ssh://"),
    )
