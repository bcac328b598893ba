"""Certificates for the TLS engine tests, made with the `cryptography` package.

A `CertificateAuthority` signs server certificates for a daemon's loopback
address and client certificates for the CLI. Each set of files is written
under the names that the docker CLI expects in DOCKER_CERT_PATH: ``ca.pem``
(the CA that the peer's certificate must chain to), ``cert.pem`` and
``key.pem``.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Valid from an hour ago, so that a clock a little behind still accepts them.
VALIDITY_START = datetime.timedelta(hours=1)
VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class TlsFiles:
    """A CA certificate, a certificate signed by a CA and that certificate's key."""

    ca: Path
    cert: Path
    key: Path

    @property
    def directory(self) -> Path:
        """The folder that contains the three files, for DOCKER_CERT_PATH."""
        return self.cert.parent


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class CertificateAuthority:
    """A self-signed CA whose certificates and keys are written under `directory`."""

    def __init__(self, directory: Path, common_name: str) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._key = _new_key()
        self._name = _name(common_name)
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self._name)
            .issuer_name(self._name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - VALIDITY_START)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_pem = self.directory / "ca.pem"
        self.ca_pem.write_bytes(
            self.certificate.public_bytes(serialization.Encoding.PEM)
        )

    def server_files(self, address: str, *, expired: bool = False) -> TlsFiles:
        """Issue a server certificate for IP `address` and DNS name localhost.

        With `expired`, the certificate's validity ended a day ago.
        """
        alternative_names = x509.SubjectAlternativeName(
            [
                x509.IPAddress(ipaddress.ip_address(address)),
                x509.DNSName("localhost"),
            ]
        )
        return self._issue(
            self.directory / f"server-{address}{'-expired' if expired else ''}",
            common_name=address,
            usage=ExtendedKeyUsageOID.SERVER_AUTH,
            alternative_names=alternative_names,
            expired=expired,
        )

    def client_files(self, name: str = "client", *, expired: bool = False) -> TlsFiles:
        """Issue a client certificate, in a folder of its own named `name`.

        With `expired`, the certificate's validity ended a day ago.
        """
        return self._issue(
            self.directory / name,
            common_name=name,
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            alternative_names=None,
            expired=expired,
        )

    def _issue(
        self,
        folder: Path,
        common_name: str,
        usage: x509.ObjectIdentifier,
        alternative_names: x509.SubjectAlternativeName | None,
        expired: bool = False,
    ) -> TlsFiles:
        key = _new_key()
        now = datetime.datetime.now(datetime.UTC)
        if expired:
            now -= VALIDITY + datetime.timedelta(days=1)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - VALIDITY_START)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self._key.public_key()
                ),
                critical=False,
            )
        )
        if alternative_names is not None:
            builder = builder.add_extension(alternative_names, critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())

        folder.mkdir(parents=True, exist_ok=True)
        files = TlsFiles(
            ca=folder / "ca.pem", cert=folder / "cert.pem", key=folder / "key.pem"
        )
        files.ca.write_bytes(self.ca_pem.read_bytes())
        files.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        files.key.touch(mode=0o600)
        files.key.write_bytes(_key_pem(key))
        return files
