"""Clipboard helpers: OSC 52 through tmux, and the local clipboard tools.

OSC 52 asks the terminal emulator to set its clipboard, which reaches the
laptop's clipboard over SSH. The terminal never confirms, so callers can only
say the text was sent. A local tool is used only when a display is set, and
the text always goes through its stdin, never its argument list.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from collections.abc import Mapping

LOCAL_TOOL_TIMEOUT = 5.0
TMUX_QUERY_TIMEOUT = 2.0

# Candidate tools per display kind, in order of preference.
_WAYLAND_TOOLS: tuple[tuple[str, ...], ...] = (("wl-copy",),)
_X11_TOOLS: tuple[tuple[str, ...], ...] = (
    ("xclip", "-selection", "clipboard"),
    ("xsel", "--clipboard", "--input"),
)
_MACOS_TOOLS: tuple[tuple[str, ...], ...] = (("pbcopy",),)


def osc52_sequence(text: str) -> str:
    """Return the OSC 52 sequence that sets the clipboard to `text`."""
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{encoded}\a"


def tmux_passthrough(sequence: str) -> str:
    """Wrap an escape sequence in tmux's DCS passthrough, doubling its ESCs."""
    doubled = sequence.replace("\x1b", "\x1b\x1b")
    return f"\x1bPtmux;{doubled}\x1b\\"


def in_tmux(environment: Mapping[str, str]) -> bool:
    return bool(environment.get("TMUX"))


def tmux_forwards_osc52(environment: Mapping[str, str]) -> bool | None:
    """Ask the tmux server whether an application's OSC 52 reaches the terminal.

    It does when `set-clipboard` is `on`, or when passthrough is allowed
    (always before tmux 3.3, which added `allow-passthrough`). Returns None
    when tmux cannot be asked. Blocks for up to TMUX_QUERY_TIMEOUT, so call it
    off the UI thread.
    """
    tmux = shutil.which("tmux", path=environment.get("PATH"))
    if tmux is None:
        return None
    command = [tmux, "display-message", "-p"]
    pane = environment.get("TMUX_PANE")
    if pane:
        command += ["-t", pane]
    command.append("#{set-clipboard}|#{allow-passthrough}")
    try:
        result = subprocess.run(
            command,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TMUX_QUERY_TIMEOUT,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    reply = result.stdout.decode("utf-8", "replace").strip()
    set_clipboard, bar, passthrough = reply.partition("|")
    if not bar or set_clipboard not in ("on", "external", "off"):
        return None
    return set_clipboard == "on" or passthrough in ("", "1", "on", "all")


def local_tool(
    environment: Mapping[str, str], platform: str = sys.platform
) -> tuple[str, ...] | None:
    """Return the command line of a usable local clipboard tool, or None."""
    if platform == "darwin":
        candidates = _MACOS_TOOLS
    elif environment.get("WAYLAND_DISPLAY"):
        candidates = _WAYLAND_TOOLS + _X11_TOOLS
    elif environment.get("DISPLAY"):
        candidates = _X11_TOOLS
    else:
        return None
    path = environment.get("PATH")
    for command in candidates:
        found = shutil.which(command[0], path=path)
        if found:
            return (found, *command[1:])
    return None


def copy_with_tool(command: tuple[str, ...], text: str) -> None:
    """Feed `text` to a clipboard tool through stdin.

    Raises OSError or subprocess.SubprocessError when the tool fails. Output
    goes to /dev/null because tools such as xclip keep serving the selection
    in a child process that would otherwise hold our pipes open.
    """
    subprocess.run(
        command,
        input=text.encode("utf-8"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=LOCAL_TOOL_TIMEOUT,
        check=True,
    )
