"""Commands named in messages keep their words when pasted into a shell."""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from swarmtui.shell import shell_join, shell_word
from swarmtui.tui.run import cli_command


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("join-token", "join-token"),
        ("unix:///tmp/a b/d.sock", '"unix:///tmp/a b/d.sock"'),
        ("", '""'),
        ("it's", '"it\'s"'),
        ("$HOME/x y", "'$HOME/x y'"),
        ('say "hi"', "'say \"hi\"'"),
        ("wow!", "'wow!'"),
    ],
)
def test_shell_word_quotes(word: str, quoted: str) -> None:
    assert shell_word(word) == quoted
    assert shlex.split(quoted) == [word]


def test_shell_join_reads_back() -> None:
    words = ["swarmtui", "-H", "unix:///tmp/a b/d.sock", "--config", "c d.toml"]
    line = shell_join(words)
    assert "'" not in line
    assert shlex.split(line) == words


def test_cli_command_spaced_path_quoted() -> None:
    args = argparse.Namespace(
        demo=False,
        demo_state=None,
        demo_seed=None,
        host="unix:///tmp/a b/d.sock",
        context=None,
        config="/tmp/my config.toml",
    )
    message = f"run '{cli_command(args)} audit' to see it"
    named = re.fullmatch(r"run '([^']*)' to see it", message)
    assert named is not None
    assert shlex.split(named[1]) == [
        "swarmtui",
        "-H",
        "unix:///tmp/a b/d.sock",
        "--config",
        "/tmp/my config.toml",
        "audit",
    ]
