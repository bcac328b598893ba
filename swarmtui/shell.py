"""Commands quoted for a POSIX shell, to be named inside a message.

Messages put a command between single quotes, such as "run 'swarmtui -H
HOST audit'". A word quoted with single quotes, as `shlex.quote` does it,
would end that quotation in the middle, so words here take double quotes
where those keep the word literal.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

# Characters that a POSIX shell still reads between double quotes, and `!`,
# which interactive bash expands there.
_SPECIAL_IN_DOUBLE_QUOTES = frozenset('"$`\\!')


def shell_word(word: str) -> str:
    """Return `word` for a shell: bare, in double quotes, or as shlex quotes it."""
    quoted = shlex.quote(word)
    if quoted == word or not _SPECIAL_IN_DOUBLE_QUOTES.isdisjoint(word):
        return quoted
    return f'"{word}"'


def shell_join(words: Iterable[str]) -> str:
    """Return the words as one shell command line."""
    return " ".join(shell_word(word) for word in words)
