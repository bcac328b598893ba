"""Textual's Linux driver, sized by the terminal that it draws on."""

from __future__ import annotations

import os

from textual.drivers.linux_driver import LinuxDriver


class TerminalSizedDriver(LinuxDriver):
    """The Linux driver, with the size read from standard error's terminal.

    Textual draws on standard error but reads the size through
    `shutil.get_terminal_size`, which reads it from standard output. With standard
    output redirected or closed, that falls back to 80x24, so the console
    drew 80 columns in a wider terminal.
    """

    def _get_terminal_size(self) -> tuple[int, int]:
        # NOTE: this overrides a private method of Textual's LinuxDriver, read
        # in Textual 8.2. If a release drops it, Textual's own sizing returns.
        if self._file is None:
            return super()._get_terminal_size()
        try:
            size = os.get_terminal_size(self._file.fileno())
        except (ValueError, OSError):
            return super()._get_terminal_size()
        return size.columns or 80, size.lines or 25
