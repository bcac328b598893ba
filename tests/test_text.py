"""Long runs of characters cut in error messages."""

from __future__ import annotations

from swarmtui.text import shorten_long_words


def test_short_words_unchanged() -> None:
    text = "The config file /etc/swarmtui/" + "a" * 250 + ".toml is invalid."

    assert shorten_long_words(text) == text


def test_long_word_cut_with_count() -> None:
    text = "invalid choice: '" + "9" * 5000 + "' (choose from 'worker')"

    shortened = shorten_long_words(text)

    assert shortened == (
        "invalid choice: '" + "9" * 40 + "… (5000 characters)' (choose from 'worker')"
    )


def test_each_long_word_cut() -> None:
    text = "x" * 301 + " and " + "y" * 400

    shortened = shorten_long_words(text)

    assert (
        shortened
        == "x" * 40 + "… (301 characters) and " + "y" * 40 + "… (400 characters)"
    )
