"""The join token model: parsing, the CA digest, fingerprints, masking, redaction."""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmtui.errors import TokenFormatError
from swarmtui.tokens import (
    BASE36_ALPHABET,
    DIGEST_LENGTH,
    SECRET_LENGTH,
    JoinToken,
    ca_digest,
    clean_token_text,
    fingerprint,
    generate_secret,
    looks_secret,
    make_token,
    mask_token,
    parse_token,
    quote_input,
    redact,
    to_base36,
    tokens_equal,
)

DIGEST = "1" + "a" * 48 + "z"
SECRET = "0123456789abcdefghijklmno"
V1 = f"SWMTKN-1-{DIGEST}-{SECRET}"
V2 = f"SWMTKN-2-1-{DIGEST}-{SECRET}"
FINGERPRINT_FORMAT = re.compile(r"fp:[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}")


def make_ca_pem() -> bytes:
    """Make a self-signed root CA certificate like the one swarm creates."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "swarm-ca")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


# -- parsing --------------------------------------------------------------


def test_parse_version_1() -> None:
    token = parse_token(V1)

    assert token == JoinToken(version=1, fips=False, digest=DIGEST, secret=SECRET)
    assert str(token) == V1


@pytest.mark.parametrize("flag", ["0", "1"])
def test_parse_version_2(flag: str) -> None:
    text = f"SWMTKN-2-{flag}-{DIGEST}-{SECRET}"

    token = parse_token(text)

    assert token.version == 2
    assert token.fips is (flag == "1")
    assert token.digest == DIGEST
    assert token.secret == SECRET
    assert str(token) == text


BAD_TOKENS = [
    ("", "token"),
    ("   \n", "token"),
    (f"SWMTKM-1-{DIGEST}-{SECRET}", "prefix"),
    (f"swmtkn-1-{DIGEST}-{SECRET}", "prefix"),
    (f"SWMTKN-3-{DIGEST}-{SECRET}", "version"),
    ("SWMTKN", "version"),
    (f"SWMTKN-1-{DIGEST}", "structure"),
    (f"SWMTKN-1-1-{DIGEST}-{SECRET}", "structure"),
    (f"SWMTKN-2-{DIGEST}-{SECRET}", "structure"),
    (f"SWMTKN-2-x-{DIGEST}-{SECRET}", "fips flag"),
    (f"SWMTKN-1-{DIGEST[:-1]}-{SECRET}", "digest"),
    (f"SWMTKN-1-{DIGEST}0-{SECRET}", "digest"),
    (f"SWMTKN-1-{DIGEST[:-1]}A-{SECRET}", "digest"),
    (f"SWMTKN-1-{DIGEST[:-1]}_-{SECRET}", "digest"),
    (f"SWMTKN-1-{DIGEST}-{SECRET[:-1]}", "secret"),
    (f"SWMTKN-1-{DIGEST}-{SECRET}p", "secret"),
    (f"SWMTKN-1-{DIGEST}-{SECRET[:-1]}O", "secret"),
    (f"SWMTKN-2-0-{DIGEST}-{SECRET[:-1]}.", "secret"),
    (f"SWMTKN-1-{DIGEST[:20]} {DIGEST[20:]}-{SECRET}", "token"),
    (f"SWMTKN-1-{DIGEST}-\n{SECRET}", "token"),
    (f"SWMTKN-1-{DIGEST}-{SECRET[:10]}\t{SECRET[10:]}", "token"),
]


@pytest.mark.parametrize(("text", "part"), BAD_TOKENS)
def test_parse_names_bad_part(text: str, part: str) -> None:
    with pytest.raises(TokenFormatError) as caught:
        parse_token(text)

    assert caught.value.part == part
    assert caught.value.exit_code == 12
    assert SECRET not in str(caught.value)
    assert DIGEST not in str(caught.value)


def test_parse_rejects_non_text() -> None:
    with pytest.raises(TokenFormatError) as caught:
        parse_token(b"SWMTKN-1-abc")  # type: ignore[arg-type]

    assert caught.value.part == "token"


@pytest.mark.parametrize(
    "pasted",
    [
        f"{V1}\r\n",
        f"  {V1}  ",
        f"\t{V1}\n\n",
        f"{V1} \\",
        f"{V1} \\\n",
        f"{V1}\\\r\n",
        f"{V1} \\ \\",
    ],
)
def test_parse_trims_pasted_text(pasted: str) -> None:
    assert str(parse_token(pasted)) == V1
    assert clean_token_text(pasted) == V1


def test_clean_keeps_inner_whitespace() -> None:
    assert clean_token_text(" SWMTKN-1 -x \n") == "SWMTKN-1 -x"


# -- the CA digest --------------------------------------------------------


def test_ca_digest_is_sha256_in_base36() -> None:
    pem = make_ca_pem()

    digest = ca_digest(pem)

    assert len(digest) == DIGEST_LENGTH
    assert set(digest) <= set(BASE36_ALPHABET)
    expected = int.from_bytes(hashlib.sha256(pem).digest(), "big")
    assert int(digest, 36) == expected
    assert ca_digest(pem.decode("ascii")) == digest


def test_ca_digest_depends_on_exact_bytes() -> None:
    pem = make_ca_pem()

    assert ca_digest(pem) != ca_digest(pem + b"\n")
    assert ca_digest(pem) != ca_digest(make_ca_pem())


def test_base36_pads_and_rejects_negative() -> None:
    assert to_base36(0, 5) == "00000"
    assert to_base36(35, 3) == "00z"
    assert to_base36(36, 1) == "10"
    with pytest.raises(ValueError):
        to_base36(-1, 3)


def test_made_token_parses() -> None:
    digest = ca_digest(make_ca_pem())

    plain = parse_token(make_token(digest))
    fips = parse_token(make_token(digest, fips=True))

    assert plain.version == 1
    assert plain.digest == digest
    assert fips.version == 2
    assert fips.fips is True
    assert len(generate_secret()) == SECRET_LENGTH
    assert generate_secret() != generate_secret()


# -- fingerprint, comparison, mask, redaction -------------------------------


def test_fingerprint_is_stable_and_short() -> None:
    value = fingerprint(V1)

    assert FINGERPRINT_FORMAT.fullmatch(value)
    assert fingerprint(f" {V1}\r\n") == value
    assert fingerprint(V1) == value
    assert fingerprint(V2) != value
    assert fingerprint(V1[:-1] + "p") != value
    for start in range(0, SECRET_LENGTH - 3):
        assert SECRET[start : start + 4] not in value


def test_fingerprint_ignores_secret_shape() -> None:
    # Text that is not a token still gets a fingerprint, so it can be logged.
    assert FINGERPRINT_FORMAT.fullmatch(fingerprint("not a token"))
    assert FINGERPRINT_FORMAT.fullmatch(fingerprint("\udcff"))


def test_tokens_equal_trims() -> None:
    assert tokens_equal(V1, f"{V1}\n")
    assert not tokens_equal(V1, V2)


@pytest.mark.parametrize("text", [V1, V2])
def test_mask_hides_secret(text: str) -> None:
    masked = mask_token(text)

    assert SECRET not in masked
    assert DIGEST not in masked
    assert masked.startswith(text[: text.index(DIGEST)] + DIGEST[:6])
    assert masked.endswith("•" * SECRET_LENGTH)


def test_mask_hides_invalid_text_whole() -> None:
    damaged = V1[:-2]

    masked = mask_token(damaged)

    assert set(masked) == {"•"}
    assert "SWMTKN" not in masked


@pytest.mark.parametrize(
    "token",
    [
        V1,
        V2,
        f"SWMTKN-2-0-{DIGEST}-{SECRET}",
        V1[:-5],
        f"SWMTKN-1-{DIGEST.upper()}-{SECRET}",
        f"SWMTKN-1-{SECRET}",
        f"SWMTKN-9-{DIGEST}-{SECRET}-extra",
    ],
)
def test_redact_catches_tokens(token: str) -> None:
    line = f'join failed: {{"token": "{token}", "at": "?token={token}&x=1"}}'

    cleaned = redact(line)

    assert "SWMTKN" not in cleaned
    assert SECRET[:-5] not in cleaned
    assert cleaned.count(f"<token {fingerprint(token)}>") == 2
    assert cleaned.startswith('join failed: {"token": "<token fp:')


@pytest.mark.parametrize("case", ["swmtkn", "prefix cut off"])
def test_redact_catches_token_variants(case: str) -> None:
    token = V1.lower() if case == "swmtkn" else f"{DIGEST}-{SECRET}"

    cleaned = redact(f"Failed to parse: '{token}:2375'")

    assert SECRET not in cleaned
    assert f"<token {fingerprint(token)}>" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        f"x_{DIGEST}-{SECRET}_y",
        f"{DIGEST.upper()}-{SECRET.upper()}",
        f"SWMTKN-1-{DIGEST}\u2010{SECRET}",
        f"SWMTKN-1-{DIGEST}\u2013{SECRET}",
        f"SWMTKN-1-{DIGEST} {SECRET}",
        f"SWMTKN-1-{DIGEST}\u00a0{SECRET}",
        f"SWMTKN-1-{DIGEST}/{SECRET}",
        f"SWMTKN-1-{DIGEST}.{SECRET}",
        f"SWMTKN-1-{DIGEST}\u00ad-{SECRET}",
        f"SWMTKN-1-{DIGEST}-\n{SECRET}",
        f"SWMTKN-1-{DIGEST[:10]}\u200b{DIGEST[10:]}-{SECRET}",
        f"SWMTKN-2-1-{DIGEST}\u2010{SECRET}",
    ],
    ids=[
        "underscores",
        "upper-case-body",
        "hyphen",
        "en-dash",
        "space",
        "no-break-space",
        "slash",
        "dot",
        "soft-hyphen",
        "line-break",
        "zero-width-in-digest",
        "version-2",
    ],
)
def test_redact_catches_broken_tokens(text: str) -> None:
    cleaned = redact(f"error: {text} end")

    assert SECRET not in cleaned
    assert SECRET.upper() not in cleaned
    assert "<token fp:" in cleaned
    assert cleaned.endswith(" end")


def wrapped(text: str, width: int, indent: str = "") -> str:
    """Return `text` cut into lines of `width` characters, as a terminal wraps."""
    lines = [text[start : start + width] for start in range(0, len(text), width)]
    return ("\n" + indent).join(lines)


@pytest.mark.parametrize(
    "text",
    [
        wrapped(V1, 40),
        wrapped(V1, 20),
        wrapped(V2, 30, indent="    "),
        wrapped(V1, 40, indent=" " * 24),
        wrapped(V1, 40, indent="\t\t\t"),
        wrapped(V1, 40).replace("\n", "\r\n"),
        f"SWMTKN-1-{DIGEST}-{SECRET[:12]}\n{SECRET[12:]}",
        f"SWMTKN-1-{DIGEST[:20]}\u200b{DIGEST[20:]}-{SECRET[:5]}\u00ad{SECRET[5:]}",
        f"swmtkn-1-{DIGEST}-\n  {SECRET}",
    ],
    ids=[
        "wrapped-40",
        "wrapped-20",
        "version-2-indented",
        "deep-indent",
        "tab-indent",
        "crlf",
        "break-in-secret",
        "breaks-in-both-parts",
        "lower-case-indented",
    ],
)
def test_redact_catches_wrapped_tokens(text: str) -> None:
    cleaned = redact(f"pasted: {text} end")

    assert cleaned == f"pasted: <token {fingerprint(text)}> end"


@pytest.mark.parametrize(
    "mark",
    [
        "%0A",
        "&#10;",
        "\x1b]8;;\x07",
        "x\x08",
        "%0D%0A",
        "<br>",
        " \x08",
        "_\x08",
        " \\b",
        "\x1b[1m\x08",
        ".\x08",
        "x\x1b[D",
        '<br class="a">',
        "\x1b]8;;https://" + "e" * 250 + "\x07",
        "%250A",
        "&amp;#10;",
        "x\x7f",
    ],
    ids=[
        "url-encoded",
        "html-entity",
        "osc-link",
        "backspace",
        "url-crlf",
        "html",
        "space-backspace",
        "nroff-underline",
        "written-backspace",
        "colour-then-backspace",
        "dot-backspace",
        "cursor-left",
        "tag-with-attribute",
        "long-osc-link",
        "url-encoded-twice",
        "entity-encoded-twice",
        "delete",
    ],
)
@pytest.mark.parametrize("position", [12, 14, 40, 59, 60, 70, 80])
def test_redact_catches_breaks_with_letters(mark: str, position: int) -> None:
    text = V1[:position] + mark + V1[position:]

    cleaned = redact(f"pasted: {text} end")

    assert cleaned == f"pasted: <token {fingerprint(text)}> end"


def test_redact_leaves_sentence_after_prefix() -> None:
    line = (
        "SWMTKN-1-abc is not a join token: its digest has 3 characters, and "
        "a digest has 50 letters and digits, followed by a secret of 25."
    )

    cleaned = redact(line)

    assert cleaned.endswith(
        " is not a join token: its digest has 3 characters, "
        "and a digest has 50 letters and digits, followed "
        "by a secret of 25."
    )


def test_redact_keeps_node_id_after_token() -> None:
    cleaned = redact(f"{V1} joined as node {SECRET[::-1]}")

    assert cleaned == f"<token {fingerprint(V1)}> joined as node {SECRET[::-1]}"


def test_redact_leaves_other_text() -> None:
    line = "rotated worker fp:abcd-efgh-ijkl on cluster 2bcwf95 at 10:00"

    assert redact(line) == line


def test_redact_leaves_node_ids() -> None:
    line = f"node {SECRET} and cluster {DIGEST[:25]} joined"

    assert redact(line) == line


# -- properties -----------------------------------------------------------

base36_text = st.text(alphabet=BASE36_ALPHABET, min_size=0, max_size=60)
token_like = st.builds(
    "-".join,
    st.lists(
        st.one_of(
            st.sampled_from(["SWMTKN", "1", "2", "0", "swmtkn", ""]),
            base36_text,
            st.text(min_size=0, max_size=8),
        ),
        min_size=0,
        max_size=6,
    ),
)


def check_parse_outcome(text: str) -> None:
    try:
        token = parse_token(text)
    except TokenFormatError as error:
        assert error.part
        assert str(error)
    else:
        assert isinstance(token, JoinToken)
        assert str(token) == clean_token_text(text)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    check_parse_outcome(text)


@settings(max_examples=400, deadline=None)
@given(token_like)
def test_token_like_text_parses_or_fails_cleanly(text: str) -> None:
    check_parse_outcome(text)


valid_tokens = st.builds(
    lambda version, fips, digest_value, secret_value: (
        f"SWMTKN-1-{to_base36(digest_value, DIGEST_LENGTH)}-"
        f"{to_base36(secret_value, SECRET_LENGTH)}"
        if version == 1
        else f"SWMTKN-2-{int(fips)}-{to_base36(digest_value, DIGEST_LENGTH)}-"
        f"{to_base36(secret_value, SECRET_LENGTH)}"
    ),
    st.sampled_from([1, 2]),
    st.booleans(),
    st.integers(min_value=0, max_value=2**256 - 1),
    st.integers(min_value=0, max_value=2**128 - 1),
)


@settings(max_examples=300, deadline=None)
@given(valid_tokens, st.sampled_from(["", " ", "\n", "\r\n", " \\", "\t \\\n"]))
def test_valid_token_round_trip(text: str, tail: str) -> None:
    token = parse_token(" " + text + tail)

    assert str(token) == text
    assert mask_token(text).count("•") == SECRET_LENGTH
    assert token.secret not in mask_token(text)
    assert token.secret not in repr(token)
    assert redact(f"x {text} y") == f"x <token {fingerprint(text)}> y"


@pytest.mark.parametrize(
    "write",
    [str, repr, lambda text: repr(repr(text)), ascii],
    ids=["raw", "repr", "repr-twice", "ascii"],
)
@pytest.mark.parametrize(
    "text",
    [
        f"SWMTKN-1-{DIGEST[:20]}\x1b[0m{DIGEST[20:]}-{SECRET}",
        f"SWMTKN-1-\x1b[33m{DIGEST}\x1b[0m-\x1b[31m{SECRET}\x1b[0m",
        f"\x1b[01;31m\x1b[KSWMTKN-1-\x1b[m\x1b[K{DIGEST}-{SECRET}",
        f"SWMTKN-1-{DIGEST}-{SECRET[:9]}\x1b[0m\n{SECRET[9:]}",
        f"SWMTKN-1-{DIGEST[:30]}\n{DIGEST[30:]}-{SECRET}",
    ],
    ids=["reset", "coloured-parts", "grep-colour", "colour-and-wrap", "wrapped"],
)
def test_redact_catches_coloured_tokens(text: str, write: Any) -> None:
    cleaned = redact(f"pasted: {write(text)} end")

    assert SECRET not in cleaned
    assert SECRET[:12] not in cleaned
    assert SECRET[-12:] not in cleaned
    assert "<token fp:" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        V1,
        f"{DIGEST}-{SECRET}",
        f"{DIGEST}-{SECRET}"[:-1],
        SECRET,
        f"token={SECRET}",
        "zQIAH9FNWiJI4m2LBAvHCtGT+8z8/Qx1abcdefghij",
    ],
    ids=["token", "body", "body-cut", "secret", "secret-after-name", "key-body"],
)
def test_secret_like_input_not_quoted(text: str) -> None:
    assert looks_secret(text)
    quoted = quote_input(text)
    assert quoted == f"(a text of {len(text)} characters that may hold a secret)"


@pytest.mark.parametrize(
    "text", ["10", "2.5", "2026-12-06T14:26:12Z", "2h", "demo-worker-9", "1e-3"]
)
def test_field_input_quoted(text: str) -> None:
    assert not looks_secret(text)
    assert quote_input(text) == repr(text)
