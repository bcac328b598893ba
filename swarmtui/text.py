"""Text from engines and files made safe to print on a terminal.

Node hostnames, addresses, versions and engine error messages come from
whoever runs the engine or edits the demo state file. Printed raw, an ESC
sequence in them could clear the screen, recolour text, set the clipboard
(OSC 52) or, with bidi controls, show other text than is stored. Each such
character is replaced here by a visible escape such as ``\\x1b`` or ``\\u202e``.
"""

from __future__ import annotations

import re
import unicodedata

# Cc: C0 controls, DEL and C1 controls. Cf: format characters, which include
# the bidi controls, zero-width characters and the byte order mark. Zl and Zp:
# the Unicode line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Removes the line feeds and tabs that keep_newlines allows.
_WITHOUT_KEPT = str.maketrans("", "", "\n\t")


def is_unsafe(character: str) -> bool:
    """Tell whether a terminal could act on `character` or show it invisibly."""
    return unicodedata.category(character) in _UNSAFE_CATEGORIES


def escape_character(character: str) -> str:
    """Return a visible escape for one character: ``\\x1b``, ``\\u202e``."""
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def terminal_safe(text: str, *, keep_newlines: bool = False) -> str:
    """Replace control, format and bidi characters in `text` by visible escapes.

    With `keep_newlines`, line feeds and tabs stay as they are, for messages
    of several lines. The result contains no unsafe character, so applying
    the function twice changes nothing.
    """
    if text.isprintable():
        return text
    kept = "\n\t" if keep_newlines else ""
    if kept and text.translate(_WITHOUT_KEPT).isprintable():
        # A CA certificate's PEM takes this path. Scanning its 550 characters
        # one by one cost about 60 us on each swarm read.
        return text
    return "".join(
        escape_character(character)
        if character not in kept and is_unsafe(character)
        else character
        for character in text
    )


def quoted(text: str) -> str:
    """Put `text` in single quotes for a message, with unsafe characters escaped once.

    repr() of terminal_safe's result would show each escape with a doubled
    backslash, as 'a\\\\x0ab' for a line feed.
    """
    return f"'{terminal_safe(text)}'"


def find_invisible(text: str) -> tuple[int, str] | None:
    """Return the 1-based position and character of the first unsafe one, if any."""
    for position, character in enumerate(text, start=1):
        if is_unsafe(character):
            return position, character
    return None


# Maximum run of characters other than spaces and quotes that an error
# message repeats whole. It is longer than a typed path or host name, and
# far shorter than a pasted file.
MAX_WORD_CHARS = 300
# Number of characters kept from a longer run.
KEPT_WORD_CHARS = 40


def shorten_long_words(text: str) -> str:
    """Cut each run of over 300 characters other than spaces and quotes, with a count.

    Error messages quote what the user typed, and a value of thousands of
    characters would otherwise fill the terminal.
    """
    return _LONG_WORD.sub(
        lambda match: f"{match[0][:KEPT_WORD_CHARS]}… ({len(match[0])} characters)",
        text,
    )


# Quotes around a value stay outside the run, so the message keeps them.
_LONG_WORD = re.compile(rf"[^\s'\"]{{{MAX_WORD_CHARS + 1},}}")
