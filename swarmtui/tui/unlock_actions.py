"""Console actions for the manager unlock key: read, reveal, copy, rotate.

A mixin of the console app; see swarmtui.tui.host. The key is read and
rotated in thread workers that post the messages below.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.widget import Widget

from swarmtui.errors import (
    RotationConflictError,
    RotationOutcomeUnknownError,
    SwarmLockedError,
    SwarmTuiError,
)
from swarmtui.models import SwarmView
from swarmtui.tui.host import (
    PENDING_ROTATION_WAIT,
    ROTATION_QUIET_SECONDS,
    ConsoleHost,
    unexpected_failure,
)
from swarmtui.tui.token_age import stamp
from swarmtui.tui.unlock import ConfirmUnlockRotateScreen, UnlockKeyPane
from swarmtui.unlock import unlock_key_fingerprint

if TYPE_CHECKING:
    from swarmtui.service import UnlockKeyRotation


class UnlockKeyRead(Message):
    """The unlock key read for swarm version `version`, or why it failed."""

    def __init__(
        self, key: str, error: SwarmTuiError | None, version: int | None
    ) -> None:
        super().__init__()
        self.key = key
        self.error = error
        self.version = version


class UnlockKeyRotated(Message):
    def __init__(self, result: UnlockKeyRotation, key: str) -> None:
        super().__init__()
        self.result = result
        self.key = key


class UnlockKeyRotationFailed(Message):
    def __init__(self, error: SwarmTuiError) -> None:
        super().__init__()
        self.error = error


class UnlockKeyActions(ConsoleHost):
    """The unlock key pane's behaviour: shown only while autolock is on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unlock_key_text = ""
        self.unlock_revealed = False
        self._unlock_version: int | None = None
        self._unlock_pane_mounting = False
        # Kept rather than queried: a query walks the whole DOM, and every
        # read and rotation shows or hides the pane.
        self._unlock_pane: UnlockKeyPane | None = None
        # True from a new swarm version until its unlock key is read: the key
        # may have changed, so the old one is neither revealed nor copied.
        self._unlock_stale = False
        # True while this console's rotation of the unlock key runs.
        self._unlock_rotating = False
        # Set by the first quit key during that rotation: a second one quits.
        self._unlock_quit_requested = False
        # The key this console rotated to, and the note shown with it.
        self._unlock_rotated: tuple[str, str] = ("", "")
        # When the key shown was read.
        self._unlock_read_at: datetime | None = None
        # The key before this console's rotation that is running, or whose
        # outcome is unknown until the key is read again.
        self._unlock_key_before = ""
        self._unlock_unsettled = False
        # When a rotation that timed out with the key unchanged failed: the
        # engine may still apply it, so an unchanged key settles nothing yet.
        self._unlock_pending_since: datetime | None = None

    def _locked_with_key(self) -> bool:
        """Tell whether the swarm is locked and this console read its key before."""
        return (
            isinstance(self.error, SwarmLockedError)
            and bool(self.unlock_key_text)
            and self._unlock_pane is not None
        )

    def _show_unlock_while_locked(self) -> None:
        """Keep the last key read on screen while the locked swarm requires it."""
        pane = self._unlock_pane
        assert pane is not None
        pane.display = True
        pane.show(self.unlock_key_text, self.unlock_revealed, self._locked_note())

    def _locked_note(self) -> str:
        """Return the unlock pane's note while the swarm is locked."""
        read = f" {stamp(self._unlock_read_at)}" if self._unlock_read_at else ""
        command = self._unlock_command()
        return (
            f"the swarm is locked: this console read this key{read}. Press y "
            f"to copy it, then run '{command}' and paste it, or a newer key if "
            "it was rotated since. Each restarted manager needs the same."
        )

    def _show_unlock_pane(self, view: SwarmView | None) -> None:
        """Show the pane for an autolocked `view`, reading the key when it moved.

        The pane is mounted the first time a view has autolock on, so a
        console on a swarm without autolock does not style its widgets at
        start-up.
        """
        autolock = view is not None and view.autolock
        if view is not None and not autolock and self.unlock_key_text:
            # Turning autolock on again makes a new key, which is not a
            # rotation of this one.
            self.unlock_key_text = ""
            self.unlock_revealed = False
            self._unlock_version = None
        pane = self._unlock_pane
        if pane is None:
            if autolock and not self._unlock_pane_mounting:
                self._unlock_pane_mounting = True
                self.call_later(self._mount_unlock_pane)
            return
        pane.display = autolock
        if view is None or not autolock:
            return
        if self._unlock_version != view.version:
            self._unlock_version = view.version
            self._unlock_stale = True
            self._read_unlock_key(view.version)
        pane.show(
            self.unlock_key_text,
            self.unlock_revealed and not self._unlock_stale,
            self._rotation_note(),
        )

    def _unlock_command(self) -> str:
        """Return 'docker swarm unlock' with the options that reach the engine."""
        if self._service is None:
            return "docker swarm unlock"
        return self._service.backend.unlock_command

    def _docker_cli(self) -> str:
        """Return 'docker' with the options that reach the engine, for hints."""
        if self._service is None:
            return "docker"
        return self._service.backend.docker_cli

    def _rotation_note(self) -> str:
        """Return the note of this console's rotation while its key is shown."""
        key, note = self._unlock_rotated
        return note if key and key == self.unlock_key_text else ""

    async def _mount_unlock_pane(self) -> None:
        pane = UnlockKeyPane(self._unlock_command())
        await self.query_one("#body", Widget).mount(pane, after="#manager-pane")
        self._unlock_pane = pane
        self._unlock_pane_mounting = False
        self._show_unlock_pane(self.view if self.error is None else None)

    def _unlock_view(self) -> SwarmView | None:
        if self._locked_with_key() and self.view is not None:
            # The last view read names the swarm in the audit record.
            return self.view
        view = self._view_or_explain()
        if view is None:
            return None
        if not view.autolock:
            next_step = (
                f"Turn it on with '{self._docker_cli()} swarm update --autolock=true'."
            )
            if view.endpoint.startswith("demo:"):
                next_step = (
                    f"Turn it on with '{self.cli_command} demo-autolock on'; "
                    "the pane appears at the next read (ctrl+r)."
                )
            self.notify(
                "Autolock is off on this swarm, so it has no unlock key. " + next_step,
                severity="warning",
            )
            return None
        return view

    @work(
        thread=True,
        exclusive=True,
        group="unlock",
        exit_on_error=False,
        description="Read the unlock key",
    )
    def _read_unlock_key(self, version: int) -> None:
        try:
            key = self._get_service().unlock_key()
        except SwarmTuiError as error:
            self.post_message(UnlockKeyRead("", error, version))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = unexpected_failure("Reading the key", error)
            self.post_message(UnlockKeyRead("", failure, version))
        else:
            self.post_message(UnlockKeyRead(key, None, version))

    def on_unlock_key_read(self, message: UnlockKeyRead) -> None:
        if message.version != self._unlock_version:
            # The key was read for an older swarm version, or before this
            # console rotated it, so a newer key is shown or on its way.
            return
        if message.error is not None:
            # The next read of the swarm tries again.
            self._unlock_version = None
        previous = self.unlock_key_text
        if message.key != previous:
            # A new key is masked until revealed again, and that reveal is audited.
            self.unlock_revealed = False
        if (
            self._unlock_unsettled
            and message.key
            and self._unlock_still_pending(message.key)
        ):
            # The key is read again with the next read of the swarm.
            self._unlock_version = None
        elif self._unlock_unsettled and message.key:
            self._unlock_unsettled = False
            self._settle_unlock_rotation(self._unlock_key_before, message.key)
        elif message.key and previous and message.key != previous:
            # This console's own rotation sets the new key before reading it.
            self.notify(
                "The unlock key was rotated outside this console "
                f"({unlock_key_fingerprint(previous)} -> "
                f"{unlock_key_fingerprint(message.key)}). Store the new key.",
                title="Unlock key rotated",
                severity="warning",
                timeout=12,
            )
        if message.key:
            self._unlock_read_at = self._clock()
        self.unlock_key_text = message.key
        self._unlock_stale = False
        note = self._rotation_note()
        if message.error is not None:
            note = f"The unlock key could not be read: {message.error}"
        if self._unlock_pane is not None:
            self._unlock_pane.show(self.unlock_key_text, self.unlock_revealed, note)

    def action_unlock_reveal(self) -> None:
        if self._action_blocked():
            return
        view = self._unlock_view()
        if view is None:
            return
        if not self.unlock_revealed and (
            self._unlock_key_changing() or self._unlock_outcome_open()
        ):
            return
        self.unlock_revealed = not self.unlock_revealed
        if self.unlock_revealed:
            self._record_unlock("reveal-unlock-key", view)
        if self._unlock_pane is not None:
            if self._locked_with_key():
                note = self._locked_note()
            else:
                note = self._rotation_note()
            self._unlock_pane.show(self.unlock_key_text, self.unlock_revealed, note)
            # Below the panes it can be out of view on a small terminal.
            self._unlock_pane.scroll_visible(animate=False)

    def action_unlock_copy(self) -> None:
        if self._action_blocked():
            return
        view = self._unlock_view()
        if view is None:
            return
        if not self.unlock_key_text:
            self.notify("The unlock key has not been read yet.", severity="warning")
            return
        if self._unlock_key_changing() or self._unlock_outcome_open():
            return
        if self.settings.clipboard == "off":
            self.notify(
                "Copying is off in the settings. Reveal the key and select it.",
                severity="warning",
            )
            return
        self.copy_to_clipboard(self.unlock_key_text)
        self._record_unlock("copy-unlock-key", view)
        self._notify_osc52_sent("Unlock key")

    def _unlock_outcome_open(self) -> bool:
        """Return True, after a notice, while a rotation's outcome is unknown.

        The key on screen may have been replaced, so it is neither revealed
        nor copied until a read shows whether it was.
        """
        if not self._unlock_unsettled:
            return False
        self.notify(
            "The unlock key on screen may have been rotated; reveal or copy it "
            "when a read of the key shows whether it was.",
            severity="warning",
        )
        return True

    def _quit_during_unlock_rotation(self) -> bool:
        """Ask again before quitting while the unlock key is rotated.

        Return True when the quit key was handled here. The console stays
        open after the rotation, so that the new key can be stored.
        """
        if not self._unlock_rotating:
            return False
        if self._unlock_quit_requested:
            self.exit()
            return True
        self._unlock_quit_requested = True
        self.notify(
            "The unlock key is still being rotated; store the new key once it "
            "is shown. Press q again to quit now, which leaves the rotation's "
            "outcome unknown.",
            severity="warning",
            timeout=12,
        )
        return True

    def _unlock_key_changing(self) -> bool:
        """Return True, after a notice, while the key is rotated or read again."""
        if self._unlock_rotating:
            self.notify("The unlock key is still being rotated.", severity="warning")
            return True
        if self._unlock_stale:
            self.notify(
                "The unlock key is being read again after a change to the swarm; "
                "try again in a moment.",
                severity="warning",
            )
        return self._unlock_stale

    @work(thread=True, group="audit", exit_on_error=False, description="Audit")
    def _record_unlock(self, action: str, view: SwarmView) -> None:
        service = self._service
        if service is not None and self.unlock_key_text:
            service.record(
                action,
                view=view,
                key_fingerprint=unlock_key_fingerprint(self.unlock_key_text),
            )

    def action_unlock_rotate(self) -> None:
        if self._action_blocked():
            return
        if self._locked_with_key():
            command = self._unlock_command()
            self.notify(
                "The swarm is locked, so its unlock key cannot be rotated now. "
                f"Unlock it with '{command}' and the key shown, then read the "
                "swarm again (ctrl+r).",
                severity="warning",
            )
            return
        view = self._unlock_view()
        if view is None or self._unlock_key_changing():
            return

        def confirmed(answer: bool | None) -> None:
            if not answer:
                key = self.unlock_key_text
                fields = {"key_fingerprint": unlock_key_fingerprint(key)} if key else {}
                self._record_declined("rotate-unlock-key", (), view, **fields)
            elif not self._unlock_key_changing():
                self._unlock_rotating = True
                self._unlock_key_before = self.unlock_key_text
                self._unlock_unsettled = False
                self._unlock_pending_since = None
                # As for a token, the status line shows the wait after 0.2 s.
                self._wait_quietly("Rotating the unlock key…", ROTATION_QUIET_SECONDS)
                self._rotate_unlock_key(view)

        self.push_screen(ConfirmUnlockRotateScreen(view), confirmed)

    @work(
        thread=True,
        exclusive=True,
        group="unlock-rotate",
        exit_on_error=False,
        description="Rotate the unlock key",
    )
    def _rotate_unlock_key(self, expected: SwarmView) -> None:
        try:
            service = self._get_service()
            result = service.rotate_unlock_key(expected=expected)
        except SwarmTuiError as error:
            self.post_message(UnlockKeyRotationFailed(error))
        except Exception as error:  # an unexpected failure must not kill the UI
            failure = unexpected_failure("Rotating the unlock key", error)
            self.post_message(UnlockKeyRotationFailed(failure))
        else:
            self.post_message(UnlockKeyRotated(result, result.new_key))

    def on_unlock_key_rotated(self, message: UnlockKeyRotated) -> None:
        self._unlock_rotating = False
        self._unlock_quit_requested = False
        result = message.result
        self.unlock_key_text = message.key
        self.unlock_revealed = False
        self._unlock_version = result.after.version
        self._unlock_stale = False
        self.view = result.after
        self._show_calls_running()
        rotated = f"rotated by this console {stamp(self._clock())}"
        self._unlock_rotated = (message.key, rotated)
        self._unlock_read_at = self._clock()
        if self._unlock_pane is not None:
            self._unlock_pane.show(message.key, False, rotated)
        self.notify(
            f"The unlock key was rotated ({result.old_key_fingerprint} -> "
            f"{result.new_key_fingerprint}). Store the new key now; the join "
            "tokens did not change.",
            title="Unlock key rotated",
            timeout=12,
        )
        # Reads that ended during the rotation were dropped.
        self._read_after_current()

    def on_unlock_key_rotation_failed(self, message: UnlockKeyRotationFailed) -> None:
        self._unlock_rotating = False
        self._unlock_quit_requested = False
        error = message.error
        self._show_calls_running()
        text = f"Rotating the unlock key failed. {error}"
        if isinstance(error, RotationConflictError):
            text = (
                "The swarm was changed by someone else, so the unlock key was "
                "not rotated: " + "; ".join(error.changes) + ". Ask again."
            )
        elif isinstance(error, RotationOutcomeUnknownError) and (
            self._unlock_key_before
        ):
            # The next key read shows whether the rotation took effect.
            self._unlock_unsettled = True
            self._unlock_version = None
            self._unlock_pending_since = self._clock() if error.pending else None
            text = (
                f"{error} The console reads the key again once the engine "
                "responds, and says which it was."
            )
        self.notify(text, title=error.title, severity="error", timeout=12)
        # Reads that ended during the rotation were dropped.
        self._read_after_current()

    def _unlock_still_pending(self, key: str) -> bool:
        """Tell whether an unchanged key may still change by a timed-out update."""
        since = self._unlock_pending_since
        return (
            key == self._unlock_key_before
            and since is not None
            and self._clock() - since < PENDING_ROTATION_WAIT
        )

    def _settle_unlock_rotation(self, before: str, key: str) -> None:
        """Say whether a rotation whose outcome was unknown changed the key."""
        old = unlock_key_fingerprint(before)
        new = unlock_key_fingerprint(key)
        if key != before:
            rotated = f"rotated by this console {stamp(self._clock())}"
            self._unlock_rotated = (key, rotated)
            self.notify(
                f"The unlock key rotation whose outcome was unknown took effect "
                f"({old} -> {new}). Store the new key now.",
                title="Unlock key rotated",
                severity="warning",
                timeout=15,
            )
        else:
            within = ""
            if self._unlock_pending_since is not None:
                minutes = int(PENDING_ROTATION_WAIT.total_seconds() // 60)
                within = f" within {minutes} minutes of timing out"
            self.notify(
                f"The unlock key rotation whose outcome was unknown did not take "
                f"effect{within}: the key is unchanged ({old}). Press U to rotate "
                "it again.",
                title="Unlock key not rotated",
                severity="warning",
                timeout=15,
            )
        self._unlock_pending_since = None
        view = self.view
        if view is not None:
            self._record_unlock_outcome(view, old, new)

    @work(thread=True, group="audit", exit_on_error=False, description="Audit")
    def _record_unlock_outcome(self, view: SwarmView, old: str, new: str) -> None:
        service = self._service
        if service is not None:
            service.record(
                "rotate-outcome",
                view=view,
                result="took-effect" if new != old else "not-rotated",
                old_key_fingerprint=old,
                new_key_fingerprint=new,
            )
