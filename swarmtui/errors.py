"""Failures of the swarmtui core, each with a title, a next step and an exit code.

Every message here is safe to show and log: none of them carries a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarmtui.text import terminal_safe

if TYPE_CHECKING:
    from swarmtui.models import SwarmView


class ExitCode:
    """Process exit codes of the CLI, documented in the README."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    ENGINE_UNREACHABLE = 3
    NODE_STATE = 4
    API_TOO_OLD = 5
    CONFLICT = 6
    FILE_ERROR = 7
    INVALID_TOKEN = 12
    JOIN_REJECTED = 9


class SwarmTuiError(Exception):
    """Base of every failure that the console and the CLI explain to the user."""

    title = "Operation failed"
    exit_code = ExitCode.FAILURE
    # True for a failed swarm update that the engine may still apply, as
    # managers that lost quorum do once it returns.
    update_may_apply = False

    def __init__(self, message: str, hint: str = "") -> None:
        # Messages quote engine replies, file contents and what the user
        # typed, so control characters in them are escaped before they reach
        # a terminal, and a token or unlock key shows as its fingerprint.
        from swarmtui.tokens import redact  # tokens imports this module

        message = redact(terminal_safe(message, keep_newlines=True))
        super().__init__(message)
        self.message = message
        self.hint = redact(terminal_safe(hint, keep_newlines=True))

    @property
    def title_in_sentence(self) -> str:
        """The title inside a sentence, as "engine unreachable" or "API too old"."""
        title = self.title
        if title[:2].isupper():
            return title
        return title[:1].lower() + title[1:]

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        # A message that lists items line by line ends with a line break.
        separator = "" if self.message.endswith("\n") else " "
        return f"{self.message}{separator}{self.hint}"


def not_in_swarm_hint(docker_cli: str = "docker") -> str:
    """Return the next step for an engine outside any swarm.

    `docker_cli` is the docker CLI with the options that reach that engine.
    A restarting dockerd reports itself outside any swarm for a few seconds.
    """
    return (
        "If dockerd has just started, read again in a few seconds. Otherwise "
        f"create a swarm with '{docker_cli} swarm init' or join one with "
        f"'{docker_cli} swarm join', or choose another engine."
    )


class EngineUnreachableError(SwarmTuiError):
    title = "Engine unreachable"
    exit_code = ExitCode.ENGINE_UNREACHABLE


class PermissionDeniedError(SwarmTuiError):
    title = "Permission denied"
    exit_code = ExitCode.ENGINE_UNREACHABLE


class RequestTimeoutError(SwarmTuiError):
    title = "Request timed out"
    exit_code = ExitCode.ENGINE_UNREACHABLE

    def __init__(self, message: str, hint: str = "", *, sent: bool = True) -> None:
        super().__init__(message, hint)
        # `sent` is False when the request timed out before it reached
        # anything that could apply it, as while waiting for the demo state
        # file's lock.
        self.update_may_apply = sent


class TlsError(SwarmTuiError):
    """A TLS connection to the engine that failed, or TLS missing where needed."""

    title = "TLS failed"
    exit_code = ExitCode.ENGINE_UNREACHABLE


class NotInSwarmError(SwarmTuiError):
    title = "Not in a swarm"
    exit_code = ExitCode.NODE_STATE


class SwarmLockedError(SwarmTuiError):
    title = "Swarm locked"
    exit_code = ExitCode.NODE_STATE


class ManagerNotReadyError(SwarmTuiError):
    title = "Manager not ready"
    exit_code = ExitCode.NODE_STATE


class NotAManagerError(SwarmTuiError):
    """The engine is a worker node, which cannot read or change join tokens."""

    title = "Worker node"
    exit_code = ExitCode.NODE_STATE

    def __init__(
        self, message: str, hint: str = "", manager_addresses: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, hint)
        self.manager_addresses = manager_addresses


class ApiTooOldError(SwarmTuiError):
    title = "API too old"
    exit_code = ExitCode.API_TOO_OLD


class EngineError(SwarmTuiError):
    """An engine response that none of the more specific errors describes."""

    title = "Engine error"
    exit_code = ExitCode.FAILURE


class UnsupportedError(SwarmTuiError):
    title = "Not supported"
    exit_code = ExitCode.FAILURE


class RotationConflictError(SwarmTuiError):
    """Another admin changed the swarm between our read and our update.

    `fresh` is the swarm as read after the conflict, and `changes` lists what
    differs from the state the rotation was based on, so the caller can show
    both and ask again. The token was not rotated by this attempt.
    """

    title = "Conflict with another change"
    exit_code = ExitCode.CONFLICT

    def __init__(
        self,
        message: str,
        hint: str,
        fresh: SwarmView,
        changes: tuple[str, ...],
    ) -> None:
        super().__init__(message, hint)
        self.fresh = fresh
        self.changes = changes


class SwarmReplacedError(SwarmTuiError):
    """The swarm was replaced by another one between two calls of one read."""

    title = "Swarm replaced while reading"
    exit_code = ExitCode.CONFLICT


class RotationOutcomeUnknownError(SwarmTuiError):
    """An update that failed in a way that leaves open whether it was applied.

    The engine may have rotated the token and then failed to respond, and
    the swarm could not be read afterwards to tell.
    """

    title = "Rotation outcome unknown"
    exit_code = ExitCode.ENGINE_UNREACHABLE

    def __init__(self, message: str, hint: str = "", *, pending: bool = False) -> None:
        super().__init__(message, hint)
        # True when the update timed out with the token unchanged: the engine
        # may still apply it, so an unchanged read does not settle it.
        self.pending = pending


class RotationVerifyError(SwarmTuiError):
    """The update was accepted but the tokens read back do not show it."""

    title = "Rotation not confirmed"
    exit_code = ExitCode.FAILURE


class TokenFormatError(SwarmTuiError, ValueError):
    """Text that is not a well-formed join token; `part` names the bad part."""

    title = "Invalid token"
    exit_code = ExitCode.INVALID_TOKEN

    def __init__(self, message: str, part: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.part = part


class ConfigError(SwarmTuiError):
    """A config file that cannot be used; it is left untouched on disk."""

    title = "Config file error"
    exit_code = ExitCode.FILE_ERROR

    def __init__(
        self,
        message: str,
        hint: str = "",
        path: str = "",
        line: int | None = None,
        key: str | None = None,
        problems: tuple[ConfigError, ...] = (),
    ) -> None:
        super().__init__(message, hint)
        self.path = path
        self.line = line
        self.key = key
        # Every bad setting of the file, the first one included.
        self.problems = problems
        # Names of the file's valid settings, set by load_usable_settings.
        self.kept_keys: tuple[str, ...] = ()


class StateFileError(SwarmTuiError):
    """A demo swarm state file that cannot be read or written; it is left as is."""

    title = "Demo state file error"
    exit_code = ExitCode.FILE_ERROR

    def __init__(
        self, message: str, hint: str = "", path: str = "", line: int | None = None
    ) -> None:
        super().__init__(message, hint)
        self.path = path
        self.line = line


class JoinRejectedError(SwarmTuiError):
    """A join attempt that the swarm rejected; the message never contains the token."""

    title = "Join rejected"
    exit_code = ExitCode.JOIN_REJECTED


class EndpointError(SwarmTuiError):
    """A host or context selection that cannot be turned into a client."""

    title = "Invalid endpoint"
    exit_code = ExitCode.USAGE


class AuditWriteError(SwarmTuiError):
    """An audit event that could not be appended; the action itself went ahead."""

    title = "Audit record not written"
    exit_code = ExitCode.FILE_ERROR


class AuditReadError(SwarmTuiError):
    """An audit file that cannot be opened or read."""

    title = "Audit record unreadable"
    exit_code = ExitCode.FILE_ERROR


class PathSettingError(SwarmTuiError):
    """A path setting whose leading ~ names no known home folder."""

    title = "Invalid path"
    exit_code = ExitCode.USAGE


class FileClashError(SwarmTuiError):
    """Two of swarmtui's files that the settings make one file."""

    title = "Files clash"
    exit_code = ExitCode.FAILURE


class JoinWindowError(SwarmTuiError):
    """A join window that cannot be opened, stored or closed."""

    title = "Join window error"
    exit_code = ExitCode.FAILURE


class TimeTextError(SwarmTuiError, ValueError):
    """Text that is neither an ISO 8601 time nor a duration such as 2h."""

    title = "Invalid time"
    exit_code = ExitCode.USAGE


class CertificateError(SwarmTuiError):
    """A root CA PEM that cannot be parsed."""

    title = "Invalid CA certificate"
