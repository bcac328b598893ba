"""Join token model: parse, validate, describe, fingerprint and mask tokens.

A swarm join token reads ``SWMTKN-1-<digest>-<secret>`` or, on clusters that
mandate FIPS, ``SWMTKN-2-<flag>-<digest>-<secret>``. The digest is the SHA-256
of the root CA certificate PEM written in base 36 and padded to 50 characters;
the secret is 16 random bytes in base 36 padded to 25 characters. The role is
not encoded in a token: only the cluster knows which secret is which.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from swarmtui.errors import TokenFormatError
from swarmtui.text import find_invisible

PREFIX = "SWMTKN"
DIGEST_LENGTH = 50
SECRET_LENGTH = 25
SECRET_BYTES = 16
BASE36_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

# Any text that looks like a join token, for redaction. It is deliberately
# looser than the parser so that a damaged token is still caught.
# The prefix in any case: the docker SDK lower-cases a host name, so a token
# given as a tcp:// host comes back as "swmtkn-1-..." in its error.
TOKEN_PATTERN = re.compile(r"(?i:SWMTKN)-[0-9A-Za-z]+(?:-[0-9A-Za-z]+){1,4}")

# Any text that looks like a manager unlock key (``SWMKEY-1-<base64>``), for
# redaction. The key decrypts the managers' Raft data, so it is as secret as
# a token.
UNLOCK_KEY_PATTERN = re.compile(r"(?i:SWMKEY)-[0-9]+-[A-Za-z0-9+/=]+")

# A fixed key separates these fingerprints from other SHA-256 uses, and it is
# the same on every machine so that two admins can compare fingerprints. The
# 128-bit random secret inside every token is what makes the fingerprint
# impossible to reverse or to brute-force.
_FINGERPRINT_KEY = b"swarmtui join token fingerprint v1"
_UNLOCK_KEY_FINGERPRINT_KEY = b"swarmtui unlock key fingerprint v1"
_BASE36_VALUES = {character: value for value, character in enumerate(BASE36_ALPHABET)}


@dataclass(frozen=True, slots=True)
class JoinToken:
    """A well-formed join token, split into its parts."""

    version: int
    fips: bool
    digest: str
    secret: str

    def __str__(self) -> str:
        if self.version == 1:
            return f"{PREFIX}-1-{self.digest}-{self.secret}"
        flag = "1" if self.fips else "0"
        return f"{PREFIX}-2-{flag}-{self.digest}-{self.secret}"

    def __repr__(self) -> str:
        return (
            f"JoinToken(version={self.version}, fips={self.fips}, "
            f"fingerprint={fingerprint(str(self))!r})"
        )

    @property
    def text(self) -> str:
        return str(self)


def to_base36(value: int, width: int) -> str:
    """Write a non-negative integer in base 36, left-padded with zeros to `width`."""
    if value < 0:
        raise ValueError("base 36 encoding needs a non-negative integer")
    characters = []
    while value:
        value, remainder = divmod(value, 36)
        characters.append(BASE36_ALPHABET[remainder])
    return "".join(reversed(characters)).rjust(width, "0")


def ca_digest(ca_pem: str | bytes) -> str:
    """Compute the token digest part for a root CA certificate in PEM form.

    The engine hashes exactly the PEM bytes of the trust root, so the text
    must be passed as the API returns it (one trailing newline).
    """
    data = ca_pem.encode("ascii") if isinstance(ca_pem, str) else ca_pem
    value = int.from_bytes(hashlib.sha256(data).digest(), "big")
    return to_base36(value, DIGEST_LENGTH)


def generate_secret() -> str:
    """Make a new token secret from 16 bytes of the operating system's CSPRNG."""
    value = int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big")
    return to_base36(value, SECRET_LENGTH)


def make_token(digest: str, secret: str | None = None, fips: bool = False) -> str:
    """Build a token text for a CA digest, the way swarm builds one."""
    secret = generate_secret() if secret is None else secret
    if fips:
        return f"{PREFIX}-2-1-{digest}-{secret}"
    return f"{PREFIX}-1-{digest}-{secret}"


def clean_token_text(text: str) -> str:
    """Strip the whitespace, line breaks, byte order mark and quotes around a token.

    A backslash line continuation at the end (as in a copied shell command)
    is stripped too, and so is one pair of matching single or double quotes
    around the whole text. Whitespace inside the token is not touched, so
    the parser rejects it.
    """
    stripped = text.strip().removeprefix("\ufeff").strip()
    while stripped.endswith("\\"):
        stripped = stripped[:-1].rstrip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        stripped = stripped[1:-1].strip()
    return stripped


def extract_token(text: str) -> str:
    """Return the token in pasted text: a bare token or a `docker swarm join` line.

    Surrounding whitespace, a byte order mark, quotes, CRLF line ends and
    backslash line continuations are dropped. Text that is neither a token
    nor a join command is returned cleaned, so the parser can report what is
    wrong with it. Raises TokenFormatError for a command whose --token has
    no value.
    """
    cleaned = clean_token_text(text)
    words = [word for word in cleaned.split() if word != "\\"]
    token_words: list[str] = []
    for position, word in enumerate(words):
        if word == "--token" and len(words) > 1:
            if position + 1 >= len(words) or words[position + 1].startswith("--"):
                raise TokenFormatError(
                    "The command has no token after --token.",
                    part="token",
                    hint="Copy the whole 'docker swarm join' line again, or only "
                    "the SWMTKN-... token.",
                )
            token_words.append(words[position + 1])
        elif word.startswith("--token="):
            token_words.append(word.removeprefix("--token="))
    # Tokens outside --token count too, such as a bare token pasted below a
    # join line. A single one alone is left to the parser, which reports a
    # token cut in two by a space better than a search could.
    bare = [
        word
        for word in words
        if TOKEN_PATTERN.search(word) and not word.startswith("--token=")
    ]
    if token_words or (len(words) > 1 and words[0] == "docker") or len(bare) > 1:
        token_words += bare
    elif len(bare) == 1 and len(words) > 1:
        _reject_surrounding_text(words, words.index(bare[0]))
    tokens = list(dict.fromkeys(clean_token_text(word) for word in token_words))
    if len(tokens) > 1:
        # Checking only the first would report on a token the user may not
        # have meant, such as an old one pasted above the current one.
        raise TokenFormatError(
            f"The text has {len(tokens)} different tokens; give one.",
            part="token",
            hint="Paste a single token or a single 'docker swarm join' line.",
        )
    if tokens:
        return tokens[0]
    return cleaned


def _reject_surrounding_text(words: list[str], position: int) -> None:
    """Raise TokenFormatError when other words come with the one token in pasted text.

    `position` is the index of the word that contains the token. A token cut
    in two by a space starts with the word that contains its prefix, and
    that first piece is not a whole token. That case passes through, so that
    the parser names the position of the space.
    """
    before = position > 0
    after = position < len(words) - 1
    if not before:
        try:
            parse_token(words[position])
        except TokenFormatError:
            return
    where = "after"
    if before:
        where = "before and after" if after else "before"
    raise TokenFormatError(
        f"The pasted text has other text {where} the token, so it is not one token.",
        part="token",
        hint="Paste only the SWMTKN-... token, or a whole 'docker swarm join' line.",
    )


def _check_base36(value: str, part: str, length: int) -> None:
    if len(value) != length:
        raise TokenFormatError(
            f"The {part} part has {len(value)} characters; it must have {length}.",
            part=part,
            hint="Copy the whole token again; it may have been cut or joined.",
        )
    for position, character in enumerate(value, start=1):
        if character not in _BASE36_VALUES:
            raise TokenFormatError(
                f"The {part} part has an invalid character at position "
                f"{position}; only digits and lowercase letters a-z are allowed.",
                part=part,
                hint="Copy the token again without changing its letters.",
            )


def _check_no_whitespace(text: str) -> None:
    for position, character in enumerate(text, start=1):
        if character.isspace():
            raise TokenFormatError(
                f"The token contains whitespace or a line break at position "
                f"{position}; a token is one word.",
                part="token",
                hint="Remove the break that the terminal or editor inserted.",
            )


def _check_no_invisible(text: str) -> None:
    found = find_invisible(text)
    if found is not None:
        position, character = found
        raise TokenFormatError(
            f"The token contains an invisible character (U+{ord(character):04X}) "
            f"at position {position}; a token has only letters, digits and '-'.",
            part="token",
            hint="Copy the token again from 'docker swarm join-token', or type "
            "it; the editor or chat tool that carried it added the character.",
        )


def parse_token(text: str) -> JoinToken:
    """Parse and validate a join token, naming the wrong part when it fails.

    Raises TokenFormatError, whose message never repeats the token text.
    """
    if not isinstance(text, str):
        raise TokenFormatError("A token must be text.", part="token")
    cleaned = clean_token_text(text)
    if not cleaned:
        raise TokenFormatError(
            "The token is empty.", part="token", hint="Paste a SWMTKN-... token."
        )
    _check_no_whitespace(cleaned)
    _check_no_invisible(cleaned)

    parts = cleaned.split("-")
    if parts[0] != PREFIX:
        raise TokenFormatError(
            f"The token does not start with {PREFIX}-.",
            part="prefix",
            hint="A swarm join token starts with SWMTKN-1- or SWMTKN-2-.",
        )
    if len(parts) < 2 or parts[1] not in ("1", "2"):
        raise TokenFormatError(
            "The version part must be 1 or 2.",
            part="version",
            hint="A swarm join token starts with SWMTKN-1- or SWMTKN-2-.",
        )

    version = int(parts[1])
    expected_parts = 4 if version == 1 else 5
    if len(parts) != expected_parts:
        raise TokenFormatError(
            f"A version {version} token has {expected_parts} parts separated by "
            f"'-'; this one has {len(parts)}.",
            part="structure",
            hint="Copy the whole token again; it may have been cut or joined.",
        )

    fips = False
    if version == 2:
        flag = parts[2]
        if flag not in ("0", "1"):
            raise TokenFormatError(
                "The FIPS flag of a version 2 token must be 0 or 1.",
                part="fips flag",
            )
        fips = flag == "1"

    digest, secret = parts[-2], parts[-1]
    _check_base36(digest, "digest", DIGEST_LENGTH)
    _check_base36(secret, "secret", SECRET_LENGTH)
    return JoinToken(version=version, fips=fips, digest=digest, secret=secret)


def is_other_form_of(token: JoinToken, current: str) -> bool:
    """Tell whether `token` has the digest and secret of `current` in another form.

    Such a token differs only in its version or FIPS flag. Swarm compares
    the whole token text (swarmkit's CA server, constant time), so it
    rejects this form. The comparison here is constant time as well.
    """
    try:
        parsed = parse_token(current)
    except TokenFormatError:
        return False
    same_digest = tokens_equal(token.digest, parsed.digest)
    same_secret = tokens_equal(token.secret, parsed.secret)
    return same_digest and same_secret and str(token) != str(parsed)


def fingerprint(token: str) -> str:
    """Return a short, non-reversible fingerprint of a token, safe to show and log.

    The input is cleaned like a pasted token, so the same token always gives
    the same fingerprint. The result reads like ``fp:3kq9-x0ab-77mz``.
    """
    cleaned = clean_token_text(token).encode("utf-8", "surrogatepass")
    mac = hmac.new(_FINGERPRINT_KEY, cleaned, hashlib.sha256).digest()
    text = to_base36(int.from_bytes(mac[:8], "big"), 13)[-12:]
    return f"fp:{text[0:4]}-{text[4:8]}-{text[8:12]}"


def tokens_equal(left: str, right: str) -> bool:
    """Compare two token texts in constant time."""
    return hmac.compare_digest(
        clean_token_text(left).encode("utf-8", "surrogatepass"),
        clean_token_text(right).encode("utf-8", "surrogatepass"),
    )


def mask_token(token: str, digest_characters: int = 6) -> str:
    """Hide the secret of a token, keeping its prefix and a few digest characters.

    Text that does not parse is masked whole.
    """
    try:
        parsed = parse_token(token)
    except TokenFormatError:
        return "•" * 12
    if parsed.version == 1:
        head = f"{PREFIX}-1-"
    else:
        head = f"{PREFIX}-2-{'1' if parsed.fips else '0'}-"
    return f"{head}{parsed.digest[:digest_characters]}…-" + "•" * SECRET_LENGTH


def unlock_key_fingerprint(key: str) -> str:
    """Return a short, non-reversible fingerprint of an unlock key, like ``kfp:…``."""
    mac = hmac.new(
        _UNLOCK_KEY_FINGERPRINT_KEY, key.strip().encode("utf-8"), hashlib.sha256
    )
    text = to_base36(int.from_bytes(mac.digest()[:8], "big"), 13)[-12:]
    return f"kfp:{text[0:4]}-{text[4:8]}-{text[8:12]}"


def redact_unlock_keys(text: str) -> str:
    """Replace every unlock-key-like word in `text` with its fingerprint."""
    return UNLOCK_KEY_PATTERN.sub(
        lambda match: f"<unlock key {unlock_key_fingerprint(match[0])}>", text
    )


# The digest and secret of a version 1 token without its prefix, as pasted
# from the middle of a token. NOTE: the secret alone is not redacted: it
# looks like a node ID, which has the same 25 base-36 characters.
# Letters and digits only delimit it, so an underscore, which \b counts as
# part of a word, does not hide one.
TOKEN_BODY_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-Za-z]{50}-[0-9A-Za-z]{25}(?![0-9A-Za-z])"
)
# A token whose text is broken by other characters, such as line breaks
# where it was wrapped, a Unicode dash, a soft hyphen or a zero-width space.
# TOKEN_PATTERN would stop at the first break and leave the rest. After the
# prefix, such a token has its version (and FIPS flag) and then exactly the
# 75 letters and digits of its digest and secret. Between them, at most
# BROKEN_TOKEN_MAX_BREAKS runs of other characters, each at most
# BROKEN_TOKEN_MAX_GAP long; the "-" between the parts count as runs too.
# Few runs tell a wrapped token from a sentence that follows a prefix.
BROKEN_TOKEN_START = re.compile(r"(?i:SWMTKN)")
BROKEN_TOKEN_MAX_BREAKS = 9
BROKEN_TOKEN_MAX_GAP = 12
# A character written as an escape, as repr() and the terminal-safety check
# write a line break, a soft hyphen or a zero-width space (\n, \xad,
# \u200b), also escaped twice (\\n). In a broken token it is one character
# of a gap.
_WRITTEN_ESCAPE = re.compile(
    r"\\+(?:[nrtfvab0]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})|\\+"
)
# A terminal's colour or cursor sequence (CSI), as grep --color writes
# around a match: ESC [, parameters, then a final character. Its ESC may be
# written as an escape too. In a broken token it is one character of a gap.
_CONTROL_SEQUENCE = re.compile(
    r"(?:\x1b|\\+(?:x1b|u001b|033|e))\[[0-9;:?<=>]*[ -/]*[@-~]", re.IGNORECASE
)
_LINE_BREAK_ESCAPES = ("n", "r", "x0a", "x0d")
# Marks with letters or digits that stand for a break or nothing: a URL's
# %0A, an HTML entity or tag (&#10;, &nbsp;, <br>), and a terminal's OSC
# sequence (a hyperlink or a title) ended by BEL or ESC \. In a broken
# token each is one character of a gap.
_OSC_SEQUENCE = re.compile(
    r"(?:\x1b|\\+(?:x1b|u001b|033|e))\][^\x07\x1b]{0,2048}?(?:\x07|\x1b\\|\\+(?:x07|a))",
    re.IGNORECASE,
)
_LETTERED_MARK = re.compile(
    r"%[0-9A-Fa-f]{2}"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|</?[A-Za-z][A-Za-z0-9]{0,15}\s*/?>"
    r"|" + _OSC_SEQUENCE.pattern,
    re.IGNORECASE,
)
# A backspace, as a character or an escape, erases the character before it
# on a terminal, as in x\b.
_BACKSPACE = re.compile(r"\x08|\\+(?:x08|b)")


def _is_token_character(character: str) -> bool:
    return character.isascii() and character.isalnum()


def _gap_end(text: str, position: int) -> int | None:
    """Return the end of the characters between token parts at `position`.

    None means that they are more than BROKEN_TOKEN_MAX_GAP. A line break,
    as a character or an escape, and the spaces and tabs after it, which a
    wrapped and indented line has, count as one.
    """
    count = 0
    after_line_break = False
    while position < len(text):
        character = text[position]
        sequence = None
        if character in "\x1b\\":
            sequence = _CONTROL_SEQUENCE.match(text, position)
        if sequence is None and character in "%&<\x1b\\":
            sequence = _LETTERED_MARK.match(text, position)
        if sequence is not None:
            position = sequence.end()
            count += 1
        elif character == "\\":
            escape = _WRITTEN_ESCAPE.match(text, position)
            assert escape is not None  # the pattern takes a lone backslash
            position = escape.end()
            written = escape[0].lstrip("\\").lower()
            after_line_break = written in _LINE_BREAK_ESCAPES
            count += 1
        elif _is_token_character(character):
            break
        else:
            if not (after_line_break and character in " \t"):
                count += 1
                after_line_break = character in "\r\n"
            position += 1
        if count > BROKEN_TOKEN_MAX_GAP:
            return None
    return position


def _erased_token_characters(text: str, start: int, end: int) -> int:
    """Count the token characters that the backspaces of a gap erase.

    A backspace erases the character before it on a terminal: one of the
    gap's own, as in " \\b" or nroff's "_\\b", while it has one, else the
    token character before the gap, as in "x\\bx". Colour and OSC sequences
    take no place.
    """
    erased = 0
    visible_gap = 0
    position = start
    while position < end:
        backspace = _BACKSPACE.match(text, position)
        if backspace is not None:
            if visible_gap:
                visible_gap -= 1
            else:
                erased += 1
            position = backspace.end()
            continue
        control = _CONTROL_SEQUENCE.match(text, position) or _OSC_SEQUENCE.match(
            text, position
        )
        if control is not None:
            position = control.end()
            continue
        other = _WRITTEN_ESCAPE.match(text, position) or _LETTERED_MARK.match(
            text, position
        )
        position = other.end() if other is not None else position + 1
        visible_gap += 1
    return erased


def _broken_token_end(text: str, position: int, erase: bool = True) -> int | None:
    """Return the end of a broken token whose prefix ends at `position`, or None.

    With `erase`, backspaces erase characters as on a terminal. A token that
    does not come out whole that way is tried again with backspaces taken
    as gap characters, so that one erasing a token character hides nothing.
    """
    end = _broken_token_scan(text, position, erase)
    if end is None and erase and _BACKSPACE.search(text, position):
        end = _broken_token_scan(text, position, erase=False)
    return end


def _broken_token_scan(text: str, position: int, erase: bool) -> int | None:
    """Return the end of a broken token, as _broken_token_end, in one way."""
    needed = 1 + DIGEST_LENGTH + SECRET_LENGTH
    found: list[int] = []
    gaps = 0
    while len(found) < needed:
        gap_start = position
        gap_end = _gap_end(text, position)
        if gap_end is None or gap_end == len(text):
            return None
        position = gap_end
        if position > gap_start:
            gaps += 1
            if gaps > BROKEN_TOKEN_MAX_BREAKS:
                return None
            erased = _erased_token_characters(text, gap_start, gap_end) if erase else 0
            if erased:
                del found[max(0, len(found) - erased) :]
        found.append(position)
        if len(found) == 1 and text[position] == "2":
            # Version 2 has a FIPS flag before its digest.
            needed += 1
        position += 1
    flags = needed - DIGEST_LENGTH - SECRET_LENGTH
    head = "".join(text[index] for index in found[:flags])
    if head not in ("1", "20", "21"):
        return None
    if any(found[index + 1] == found[index] + 1 for index in range(flags)):
        # The version and flag stand apart from what follows, as in "-1-".
        return None
    if position < len(text) and _is_token_character(text[position]):
        return None
    return position


def _redact_broken_tokens(text: str) -> str:
    """Replace each broken token in `text` with its fingerprint."""
    if "swmtkn" not in text.lower():
        return text
    pieces: list[str] = []
    done = 0
    for match in BROKEN_TOKEN_START.finditer(text):
        if match.start() < done:
            continue
        end = _broken_token_end(text, match.end())
        if end is None:
            continue
        pieces.append(text[done : match.start()])
        pieces.append(f"<token {fingerprint(text[match.start() : end])}>")
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


# How many characters, not counting terminal sequences and the token
# characters found, a break in a token that the other checks do not know
# may span.
_TOKEN_REST_GAP = 24
# At most this many runs of letters and digits make up that rest: the rest
# of the digest, the secret, and those of a break's own, as in %250A.
_TOKEN_REST_RUNS = 4
_TOKEN_RUN = re.compile(r"[0-9A-Za-z]+")
# HTML tags, with attributes, HTML entities and URL escapes, also encoded
# twice, whose letters and digits are no part of a token.
_BREAK_MARKUP = re.compile(
    r"</?[A-Za-z][^<>]{0,64}>"
    r"|&(?:amp;)*#?[0-9A-Za-z]{1,32};"
    r"|(?:%[0-9A-Fa-f]{2})+"
)


def _redact_token_words(text: str) -> str:
    """Replace each TOKEN_PATTERN word with its fingerprint.

    A word that is no whole token, as the part of a token before a break,
    takes with it the token characters that its digest and secret still
    lack, when they follow within _TOKEN_REST_GAP other characters. So the
    rest of its secret is not shown.
    """
    pieces: list[str] = []
    done = 0
    for match in TOKEN_PATTERN.finditer(text):
        if match.start() < done:
            continue
        end = match.end()
        word = match[0]
        if not _is_whole_token(word):
            # The prefix and the version (and FIPS flag) are not counted.
            parts = word.split("-")
            found = sum(len(part) for part in parts[3 if parts[1] == "2" else 2 :])
            missing = DIGEST_LENGTH + SECRET_LENGTH - found
            if missing > 0:
                end = _token_rest_end(text, end, missing) or end
        pieces.append(text[done : match.start()])
        pieces.append(f"<token {fingerprint(text[match.start() : end])}>")
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _is_whole_token(word: str) -> bool:
    try:
        parse_token(word)
    except TokenFormatError:
        return False
    return True


def _token_rest_end(text: str, position: int, missing: int) -> int | None:
    """Return where `missing` more token characters end, if they follow soon.

    The characters between them, up to _TOKEN_REST_GAP besides terminal
    sequences, are taken as a break. None means that they do not follow.
    """
    gap = 0
    runs = 0
    while position < len(text) and gap <= _TOKEN_REST_GAP:
        sequence = (
            _CONTROL_SEQUENCE.match(text, position)
            or _OSC_SEQUENCE.match(text, position)
            or _BREAK_MARKUP.match(text, position)
        )
        if sequence is not None:
            position = sequence.end()
            continue
        if text[position] in "\"'`":
            # A quote ends the word that a break could be part of.
            return None
        run = _TOKEN_RUN.match(text, position)
        if run is None:
            position += 1
            gap += 1
            continue
        position = run.end()
        missing -= len(run[0])
        if missing <= 0:
            return position
        runs += 1
        if runs >= _TOKEN_REST_RUNS:
            # Words of a sentence, not the pieces of a token and its break.
            return None
    return None


def redact(text: str) -> str:
    """Replace every token-like and unlock-key-like word with its fingerprint.

    NOTE: an unlock key without its SWMKEY-1- prefix is not recognised: it
    looks like other base64 text.
    """
    without_broken = _redact_broken_tokens(text)
    without_tokens = _redact_token_words(without_broken)
    without_bodies = TOKEN_BODY_PATTERN.sub(
        lambda match: f"<token {fingerprint(match[0])}>", without_tokens
    )
    return redact_unlock_keys(without_bodies)


# A run of characters that may be part of a token's digest or secret, or of
# an unlock key, without the prefix that redact looks for. Times and
# durations have none; a number or a host name label that long is taken for
# one too.
SECRET_LIKE_RUN = re.compile(r"[0-9A-Za-z+/=]{20,}")


def looks_secret(text: str) -> bool:
    """Tell whether text may hold a token or unlock key, or a part of one."""
    return redact(text) != text or SECRET_LIKE_RUN.search(text) is not None


def quote_input(text: str, limit: int = 80) -> str:
    """Quote text typed into a field for a message, unless it may hold a secret.

    Such text, as a token pasted into the wrong field, is named by its length
    only: its fingerprint would not hide a part of a secret.
    """
    if looks_secret(text):
        return f"(a text of {len(text)} characters that may hold a secret)"
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)
