"""The swarm's root CA: subject, fingerprint and expiry, read with `cryptography`.

The CA is public information; what matters to a token holder is that each
token's digest part is the SHA-256 of this CA's PEM. After a CA rotation the
engine issues tokens with the new digest, and old tokens stop working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from swarmtui.errors import CertificateError, SwarmTuiError
from swarmtui.models import Role, SwarmView
from swarmtui.tokens import ca_digest, parse_token


@dataclass(frozen=True, slots=True)
class CaInfo:
    """The root CA as shown to the user; `fingerprint` is SHA-256 of the DER."""

    subject: str
    issuer: str
    fingerprint: str
    not_before: datetime
    not_after: datetime
    token_digest: str

    def expires_in_days(self, now: datetime | None = None) -> float:
        now = now or datetime.now(UTC)
        return (self.not_after - now).total_seconds() / 86400


def describe_ca(pem: str, docker_cli: str = "docker") -> CaInfo:
    """Parse the first certificate of a PEM trust root.

    `docker_cli` is the docker CLI with the options that reach the swarm's
    engine, for the hint of the error.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise CertificateError(
            f"The swarm's root CA certificate could not be parsed ({error}).",
            f"Check '{docker_cli} info' for the swarm's CA.",
        ) from None
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    return CaInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        fingerprint=":".join(digest[index : index + 2] for index in range(0, 64, 2)),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        token_digest=ca_digest(pem),
    )


def mismatched_token_roles(view: SwarmView) -> tuple[Role, ...]:
    """Return the roles whose token digest does not match the current CA.

    A mismatch means the tokens were issued under another CA, which happens
    while a CA rotation is under way or when the tokens are stale.
    """
    if not view.ca_digest:
        return ()
    roles = []
    for role in Role:
        try:
            token = parse_token(view.token(role))
        except SwarmTuiError:
            roles.append(role)
            continue
        if token.digest != view.ca_digest:
            roles.append(role)
    return tuple(roles)
