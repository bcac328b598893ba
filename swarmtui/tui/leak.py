"""The "A token leaked" dialog: when did it start, confirm, rotate both, list joins.

The service calls run in thread workers of the screen; their results come
back as messages nested in the screen, and only the handlers touch widgets.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static

from swarmtui.errors import (
    EngineError,
    RotationConflictError,
    RotationOutcomeUnknownError,
    SwarmTuiError,
)
from swarmtui.leak import LeakStart, leak_since_for, nodes_summary, parse_leak_start
from swarmtui.models import NodeInfo, Role, SwarmView
from swarmtui.timetext import format_utc
from swarmtui.tokens import redact
from swarmtui.tui.events import LeakOutcomeUnknown, Rotated
from swarmtui.tui.screens import FIELD_FOCUS_BINDINGS, DialogScreen, modal_css
from swarmtui.tui.widgets import FieldInput

if TYPE_CHECKING:
    from swarmtui.service import LeakReport, TokenService


def node_rows(nodes: tuple[NodeInfo, ...], manager_style: str) -> list[list[Text]]:
    """Turn nodes into table rows; manager rows are marked and styled.

    A hostname that several of the nodes share is followed by the node's
    short ID, because the ID column is the last one and often off screen.
    """
    hostnames = Counter(node.hostname for node in nodes)
    rows = []
    for node in nodes:
        manager = node.role is Role.MANAGER
        style = manager_style if manager else ""
        name = node.hostname or node.id[:12]
        if node.hostname and hostnames[node.hostname] > 1:
            name = f"{node.hostname} ({node.id[:12]})"
        cells = [
            "!" if manager else "",
            name,
            "MANAGER" if manager else "worker",
            node.address or "-",
            format_utc(node.created_at) if node.created_at else "-",
            node.status,
            node.engine_version or "-",
            node.id[:12],
        ]
        rows.append([Text(cell, style=style) for cell in cells])
    return rows


# The node ID comes last, unlike in `docker node ls` and the CLI's table, so
# that a narrow dialog shows hostname and role first. The ID distinguishes
# nodes that share a hostname.
NODE_COLUMNS = (
    "",
    "Hostname",
    "Role",
    "Address",
    "Joined (UTC)",
    "Status",
    "Engine",
    "ID",
)


class LeakScreen(DialogScreen["LeakReport | None"]):
    """Ask when a leak may have started, rotate both tokens, show who joined."""

    DEFAULT_CSS = modal_css(
        "LeakScreen",
        """
        LeakScreen > .dialog { width: 100; border: thick $error; }
        LeakScreen .danger { color: $error; text-style: bold; }
        LeakScreen .hint { color: $text-muted; }
        LeakScreen #leak-error { color: $error; }
        LeakScreen #leak-result { margin-top: 1; text-style: bold; }
        LeakScreen #leak-nodes { height: auto; max-height: 12; margin-top: 1; }
        LeakScreen #leak-form { height: auto; }
        LeakScreen #leak-question { margin-top: 1; }
        LeakScreen.-done #leak-form { display: none; }
        LeakScreen #leak-outcome { display: none; height: auto; }
        LeakScreen.-done #leak-outcome { display: block; }
        LeakScreen.-short #leak-question { margin-top: 0; }
        LeakScreen.-short #leak-result { margin-top: 0; }
        LeakScreen.-short #leak-nodes { max-height: 6; margin-top: 0; }
        """,
    )
    AUTO_FOCUS = "#leak-since"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Escape cancels before the response and closes after it, matching
        # the label of the dialog's button. check_action enables one of the two.
        Binding("escape", "cancel", "Cancel", id="leak-cancel-key"),
        Binding("escape", "close", "Close", id="leak-close"),
        # q closes as Escape does, and so waits for a rotation that runs:
        # quitting then would abandon the response to a leak half way.
        Binding("q", "quit_dialog", "Close", show=False),
        *FIELD_FOCUS_BINDINGS,
    ]

    class StartProposed(Message):
        def __init__(self, start: LeakStart) -> None:
            super().__init__()
            self.start = start

    class Responded(Message):
        def __init__(self, report: LeakReport) -> None:
            super().__init__()
            self.report = report

    class Failed(Message):
        def __init__(self, error: SwarmTuiError) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        service: TokenService,
        view: SwarmView,
        now: datetime,
        audit_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.view = view
        self.now = now
        self.audit_path = audit_path
        self.report: LeakReport | None = None
        # True while both tokens are being rotated.
        self.busy = False
        # Set by the app's quit key during the rotation: a second press quits.
        self.quit_requested = False
        # True once the dialog has started a rotation, and whether the last one
        # ended in a conflict, which rotated nothing and asked again.
        self.attempted = False
        self.conflicted = False
        self._refocus_confirm = False
        # The start time that the dialog proposed, to tell it from an edit.
        self._proposed = ""

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label("A token leaked", classes="dialog-title")
            yield Static(
                self._swarm_text(),
                id="leak-swarm",
                classes="hint",
                markup=False,
            )
            with Vertical(id="leak-form"):
                yield Static(
                    "Both join tokens will be rotated in one update, then every "
                    "node that joined since the leak may have started is listed. "
                    "Nodes that have not joined yet will need the new tokens; "
                    "nodes already in the swarm are not affected."
                )
                yield Label("When may the leak have started?", id="leak-question")
                yield FieldInput(
                    placeholder="ISO 8601 time, or a duration back from now: 2h",
                    id="leak-since",
                )
                yield Static("", id="leak-since-source", classes="hint", markup=False)
                yield Static("", id="leak-error", markup=False)
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Cancel", id="leak-cancel", compact=True)
                    yield Button(
                        "Rotate both tokens",
                        id="leak-confirm",
                        variant="error",
                        compact=True,
                    )
            with Vertical(id="leak-outcome"):
                yield Static("", id="leak-result", markup=False)
                yield Static("", id="leak-summary", markup=False)
                yield DataTable(id="leak-nodes", cursor_type="row", zebra_stripes=True)
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Close", id="leak-done", compact=True)

    def _swarm_text(self) -> str:
        return f"Cluster {self.view.cluster_id}\nEndpoint {self.view.endpoint}"

    def on_mount(self) -> None:
        table = self.query_one("#leak-nodes", DataTable)
        table.add_columns(*NODE_COLUMNS)
        self._propose()

    @work(thread=True, exit_on_error=False, group="leak", description="Leak start")
    def _propose(self) -> None:
        view = self.view
        start = leak_since_for(
            self.service,
            view.cluster_id,
            self.audit_path,
            now=self.now,
            current={role: view.token_fingerprint(role) for role in Role},
        )
        self.post_message(self.StartProposed(start))

    def on_leak_screen_start_proposed(self, message: StartProposed) -> None:
        field = self.query_one("#leak-since", Input)
        if not field.value or field.value == self._proposed:
            field.value = format_utc(message.start.since, exact=True)
            self._proposed = field.value
        self.query_one("#leak-since-source", Static).update(
            f"Default: {message.start.source}."
        )

    @on(Input.Submitted, "#leak-since")
    def _go_to_confirm(self) -> None:
        """Check the start, then move to the confirm button; rotate nothing yet.

        The field has the focus when the dialog opens, and both tokens, the
        manager's among them, are rotated only by a deliberate press.
        """
        if self._read_start() is not None:
            self.query_one("#leak-confirm", Button).focus()

    def _read_start(self) -> datetime | None:
        """Return the start in the field, or None after showing why it is invalid."""
        text = self.query_one("#leak-since", Input).value.strip()
        error = self.query_one("#leak-error", Static)
        if not text:
            error.update("Give a start time, or a duration such as 2h.")
            return None
        try:
            # The forms of leak-response --since, so that "2H" is rejected
            # here too, with the same message. Spaces around are dropped above,
            # as in the console's other fields.
            since = parse_leak_start(text, now=self.now, strict=True)
        except SwarmTuiError as problem:
            error.update(str(problem))
            return None
        error.update("")
        return since

    @on(Button.Pressed, "#leak-confirm")
    def _confirm(self) -> None:
        if self.busy or self.report is not None:
            return
        since = self._read_start()
        if since is None:
            return
        self.busy = True
        self.attempted = True
        self.conflicted = False
        self.refresh_bindings()
        self.query_one("#leak-error", Static).update(
            "Rotating both tokens… A rotation that was sent cannot be "
            "cancelled, so the dialog stays open until the engine answers."
        )
        confirm = self.query_one("#leak-confirm", Button)
        # After a failure the focus comes back, so that Enter retries as the
        # message requests.
        self._refocus_confirm = self.focused is confirm
        self._set_form_enabled(False)
        self._respond(since, self.view)

    def _set_form_enabled(self, enabled: bool) -> None:
        """Enable or disable the start field and both buttons.

        While the rotation runs, Cancel could not cancel it, so it is
        disabled too, and the focus moves to the dialog itself.
        """
        for widget in self.query("#leak-since, #leak-cancel, #leak-confirm"):
            widget.disabled = not enabled

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="leak",
        description="Rotate both tokens after a leak",
    )
    def _respond(self, since: datetime, expected: SwarmView) -> None:
        try:
            report = self.service.respond_to_leak(since, expected=expected)
        except SwarmTuiError as error:
            self.post_message(self.Failed(error))
        except Exception as error:  # an unexpected failure must not kill the UI
            self.post_message(
                self.Failed(
                    EngineError(
                        f"The leak response failed unexpectedly: {redact(str(error))}",
                        "Read the tokens again (ctrl+r) to see their state.",
                    )
                )
            )
        else:
            self.post_message(self.Responded(report))

    def _rotation_ended(self) -> None:
        self.busy = False
        self.refresh_bindings()
        if self.quit_requested:
            # The notice that a second ctrl+q quits is out of date now.
            self.quit_requested = False
            self.app.clear_notifications()

    def on_leak_screen_failed(self, message: Failed) -> None:
        self._rotation_ended()
        self._set_form_enabled(True)
        confirm = self.query_one("#leak-confirm", Button)
        if self._refocus_confirm:
            confirm.focus()
        error = message.error
        text = f"Nothing was rotated: {error}"
        if isinstance(error, RotationOutcomeUnknownError):
            text = f"Whether the tokens were rotated is unknown: {error}"
            # The console blocks copying and revealing both tokens until a
            # read shows whether they changed.
            self.app.post_message(LeakOutcomeUnknown(error))
        elif isinstance(error, RotationConflictError):
            self.conflicted = True
            replaced = error.fresh.cluster_id != self.view.cluster_id
            self.view = error.fresh
            text = (
                "The swarm was changed by someone else, so nothing was rotated: "
                + "; ".join(error.changes)
                + ". Press Rotate both tokens again to rotate on the current state."
            )
            if replaced:
                # Another swarm: its name above, and the start proposed for it
                # unless the field was edited.
                self.query_one("#leak-swarm", Static).update(self._swarm_text())
                self._propose()
        self.query_one("#leak-error", Static).update(text)

    def on_leak_screen_responded(self, message: Responded) -> None:
        self._rotation_ended()
        report = message.report
        self.report = report
        rotation = report.rotation
        # At once, not when the dialog closes: a read meanwhile would take
        # the new tokens for a rotation made outside the console.
        self.app.post_message(Rotated(rotation))
        changes = ", ".join(
            f"{role} {rotation.before.token_fingerprint(role)} -> "
            f"{rotation.after.token_fingerprint(role)}"
            for role in Role
        )
        self.query_one("#leak-result", Static).update(
            f"Both tokens rotated in one update ({changes}). The old tokens can "
            "no longer join."
        )
        docker_cli = self.service.backend.docker_cli
        summary = nodes_summary(report, " (marked !)", docker_cli)
        self.query_one("#leak-summary", Static).update(summary)
        table = self.query_one("#leak-nodes", DataTable)
        table.clear()
        style = f"bold {self.app.current_theme.error}"
        for node, row in zip(report.nodes, node_rows(report.nodes, style), strict=True):
            table.add_row(*row, key=node.id)
        table.display = bool(report.nodes)
        self.add_class("-done")
        self.refresh_bindings()
        self.query_one("#leak-done", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            if self.report is not None:
                return False
            # Shown dimmed while the rotation runs, since it cannot be cancelled.
            return None if self.busy else True
        if action == "close":
            return self.report is not None
        return True

    def action_cancel(self) -> None:
        self.action_close()

    def action_quit_dialog(self) -> None:
        self.action_close()

    @on(Button.Pressed, "#leak-cancel")
    @on(Button.Pressed, "#leak-done")
    def action_close(self) -> None:
        if self.busy:
            self.notify("Wait for the rotation to finish.", severity="warning")
            return
        self.dismiss(self.report)
