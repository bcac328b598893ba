"""Command palette provider that offers the console's actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from swarmtui.tui.actions import CONSOLE_ACTIONS, ConsoleAction


class ConsoleCommands(Provider):
    """The same actions as the key bindings, for the palette (ctrl+p)."""

    def _available(self) -> list[ConsoleAction]:
        app = self.app
        available = []
        for item in CONSOLE_ACTIONS:
            if not item.palette:
                continue
            name = item.action.split("(", 1)[0]
            # check_action returns None for a dimmed key, which would run nothing.
            if not app.check_action(name, ()):
                continue
            offers = getattr(app, "offers_in_palette", None)
            if offers is not None and not offers(name):
                continue
            available.append(item)
        return available

    def _run(self, item: ConsoleAction) -> Callable[[], Any]:
        return partial(self._run_or_explain, item)

    async def _run_or_explain(self, item: ConsoleAction) -> None:
        # A read can fail while the palette is open, which dims the command
        # after it was listed: the app then shows why it did not run.
        if not await self.app.run_action(f"app.{item.action}"):
            explain = getattr(self.app, "explain_unavailable", None)
            if explain is not None:
                explain()

    async def discover(self) -> Hits:
        for item in self._available():
            yield DiscoveryHit(item.label, self._run(item), help=item.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for item in self._available():
            score = max(matcher.match(item.label), matcher.match(item.help) * 0.5)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(item.label),
                    self._run(item),
                    help=item.help,
                )
