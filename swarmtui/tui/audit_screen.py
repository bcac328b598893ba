"""The audit record dialog: the latest events of the audit file, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Label, Static

from swarmtui.audit import AuditReading, TailRequest, contains_text, read_audit_tail
from swarmtui.cli.audit_log import event_details, event_matches
from swarmtui.errors import SwarmTuiError
from swarmtui.text import terminal_safe
from swarmtui.tui.screens import DialogScreen, MarkedCheckbox, modal_css

AUDIT_SCREEN_LIMIT = 200
AUDIT_COLUMNS = ("Time (UTC)", "User", "Action", "Role", "Result", "Details")
# With the events of every swarm, a column names the swarm of each.
ALL_SWARMS_COLUMNS = ("Time (UTC)", "Swarm", *AUDIT_COLUMNS[1:])


class AuditScreen(DialogScreen[None]):
    """The last events of the audit record, read in a worker.

    Given a cluster ID, it starts with that swarm's events only; f or the
    checkbox switches to the events of every swarm and endpoint.
    """

    DEFAULT_CSS = modal_css(
        "AuditScreen",
        """
        AuditScreen > .dialog { width: 100%; height: 90%; }
        AuditScreen #audit-table { height: 1fr; }
        AuditScreen #audit-row-scroll { height: auto; max-height: 4; }
        AuditScreen #audit-row-details { height: auto; }
        AuditScreen .hint { color: $text-muted; }
        """,
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="audit-close"),
        # q closes a viewer, as it closes the help screen, rather than quit.
        Binding("q", "close", "Close", show=False),
        Binding("f", "toggle_filter", "This swarm / all", id="audit-filter"),
    ]

    class Loaded(Message):
        def __init__(self, reading: AuditReading | None, error: str) -> None:
            super().__init__()
            self.reading = reading
            self.error = error

    def __init__(self, path: Path | None, cluster_id: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.cluster_id = cluster_id
        self.reading: AuditReading | None = None
        # The full text of each row, newest first, for the line under the table.
        self.row_texts: list[str] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Label("Audit record", classes="dialog-title")
            yield Static(
                f"File {self.path}"
                if self.path
                else "This console writes no audit file.",
                classes="hint",
                markup=False,
            )
            if self.cluster_id:
                yield MarkedCheckbox(
                    f"Only this swarm (cluster {self.cluster_id[:12]}); f switches",
                    True,
                    id="audit-only-cluster",
                    compact=True,
                )
            yield Static("Reading…", id="audit-status", markup=False)
            yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            # A long event scrolls here: Tab reaches it from the table.
            with VerticalScroll(id="audit-row-scroll"):
                yield Static("", id="audit-row-details", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="audit-close-button", compact=True)

    def on_mount(self) -> None:
        columns = AUDIT_COLUMNS if self._only_cluster() else ALL_SWARMS_COLUMNS
        self.query_one("#audit-table", DataTable).add_columns(*columns)
        if self.path is None:
            self.query_one("#audit-status", Static).update("No audit events.")
            return
        self._load(self.path)

    @work(thread=True, exit_on_error=False, group="audit", description="Read audit")
    def _load(self, path: Path) -> None:
        # The last events of every swarm, and of this swarm, for the filter.
        requests = [TailRequest(lambda event: True, AUDIT_SCREEN_LIMIT)]
        if self.cluster_id:
            cluster = self.cluster_id
            requests.append(
                TailRequest(
                    lambda event: event_matches(event, cluster, None),
                    AUDIT_SCREEN_LIMIT,
                    # Once the events of every swarm are found, the lines of
                    # other swarms are not parsed.
                    contains_text(cluster),
                )
            )
        try:
            reading = read_audit_tail(path, requests)
        except SwarmTuiError as error:
            self.post_message(self.Loaded(None, str(error)))
            return
        self.post_message(self.Loaded(reading, ""))

    def on_audit_screen_loaded(self, message: Loaded) -> None:
        status = self.query_one("#audit-status", Static)
        reading = message.reading
        if reading is None:
            status.update(message.error)
            return
        self.reading = reading
        self._show_events()
        table = self.query_one("#audit-table", DataTable)
        if table.row_count:
            # The arrow keys then move through the events at once.
            table.focus()

    def _only_cluster(self) -> str | None:
        """Return the cluster ID to filter on, or None to show every event."""
        if not self.cluster_id:
            return None
        box = self.query_one("#audit-only-cluster", MarkedCheckbox)
        return self.cluster_id if box.value else None

    def _show_events(self) -> None:
        reading = self.reading
        if reading is None:
            return
        cluster = self._only_cluster()
        events = [
            event for event in reading.events if event_matches(event, cluster, None)
        ]
        events = events[-AUDIT_SCREEN_LIMIT:]
        table = self.query_one("#audit-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*(AUDIT_COLUMNS if cluster else ALL_SWARMS_COLUMNS))
        self.row_texts = []
        for event in reversed(events):
            swarm = () if cluster else (str(event.get("cluster_id") or "-")[:12],)
            cells = (
                str(event.get("time", "?")),
                *swarm,
                str(event.get("user", "?"))
                + (f"@{event['ssh_client']}" if event.get("ssh_client") else ""),
                str(event.get("action", "?")),
                str(event.get("role") or "-"),
                str(event.get("result") or "-"),
                event_details(event),
            )
            # Text cells, because DataTable reads a str cell as markup.
            table.add_row(*(Text(terminal_safe(cell)) for cell in cells))
            self.row_texts.append(terminal_safe("  ".join(cells)))
        self._show_row_details(table.cursor_row)
        scope = "of this swarm" if cluster else "of every swarm and endpoint"
        text = f"{len(events)} latest event(s) {scope}, newest first."
        if reading.missing:
            text = "No audit events yet: the file is created by the first action."
        if reading.damaged_lines:
            text += f" {len(reading.damaged_lines)} damaged line(s) skipped."
        self.query_one("#audit-status", Static).update(text)

    @on(DataTable.RowHighlighted, "#audit-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_row_details(event.cursor_row)

    def _show_row_details(self, row: int) -> None:
        """Show the whole highlighted row under the table, wrapped.

        The Details column is often wider than the dialog, so this line shows
        what the table cuts off.
        """
        text = self.row_texts[row] if 0 <= row < len(self.row_texts) else ""
        self.query_one("#audit-row-details", Static).update(text)

    @on(MarkedCheckbox.Changed, "#audit-only-cluster")
    def _filter_changed(self) -> None:
        self._show_events()

    def action_toggle_filter(self) -> None:
        if self.cluster_id:
            box = self.query_one("#audit-only-cluster", MarkedCheckbox)
            box.value = not box.value

    @on(Button.Pressed, "#audit-close-button")
    def action_close(self) -> None:
        self.dismiss(None)
