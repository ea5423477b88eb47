"""The sandbox's RSA key and certificate, and SecurityCredential decryption (daraja.md 11).

Safaricom's private key is not available, so the sandbox has its own key pair: it publishes the
certificate (``GET /sandbox/certificate``), the client encrypts the initiator password with it
(RSA, PKCS#1 v1.5, then base64) and the sandbox decrypts with its private key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from sandbox.config import SandboxConfig

KEY_SIZE = 2048
CERTIFICATE_NAME = "M-Pesa sandbox"
CERTIFICATE_VALIDITY = timedelta(days=3653)  # ten years, leap days included
KEY_FILE_MODE = 0o600
CERTIFICATE_FILE_MODE = 0o644


@dataclass(frozen=True)
class KeyPair:
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def private_key_pem(self) -> bytes:
        """PKCS#8, unencrypted."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def decrypt_credential(self, credential: object) -> bytes | None:
        """The plaintext of a SecurityCredential; None if it is not base64 or not decryptable.

        A ciphertext of the right length made with another key is not detected: OpenSSL's
        implicit rejection turns it into random bytes, which then fail the password comparison.
        """
        if not isinstance(credential, str):
            return None
        try:
            ciphertext = base64.b64decode(credential.strip(), validate=True)
            return self.private_key.decrypt(ciphertext, padding.PKCS1v15())
        except (binascii.Error, ValueError):
            return None


def generate_key_pair(now: datetime | None = None) -> KeyPair:
    """A new 2048-bit key and a self-signed certificate (CN "M-Pesa sandbox", ten years)."""
    now = now or datetime.now(UTC)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERTIFICATE_NAME)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return KeyPair(private_key, certificate)


def load_key_pair(key_path: str | Path, cert_path: str | Path) -> KeyPair:
    """Read a PEM RSA private key and the PEM certificate of its public key."""
    try:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        message = f"SANDBOX_KEY_PATH: cannot load a PEM private key from {key_path}: {exc}"
        raise ValueError(message) from exc
    try:
        certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except (OSError, ValueError) as exc:
        message = f"SANDBOX_CERT_PATH: cannot load a PEM certificate from {cert_path}: {exc}"
        raise ValueError(message) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"SANDBOX_KEY_PATH: {key_path} is not an RSA private key")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or (
        public_key.public_numbers() != key.public_key().public_numbers()
    ):
        raise ValueError(f"SANDBOX_CERT_PATH: {cert_path} does not hold the key's public key")
    return KeyPair(key, certificate)


def key_pair_for(config: SandboxConfig) -> KeyPair:
    """The configured key pair, or a new one made in memory when no paths are configured."""
    if config.key_path is not None and config.cert_path is not None:
        key_path, cert_path = Path(config.key_path), Path(config.cert_path)
        return _load_unchanged(key_path, cert_path, _version(key_path), _version(cert_path))
    return generate_key_pair()


@functools.lru_cache(maxsize=8)
def _load_unchanged(
    key_path: Path, cert_path: Path, _key_version: object, _cert_version: object
) -> KeyPair:
    """Loading validates the key (~35 ms); reuse it while neither file has changed."""
    return load_key_pair(key_path, cert_path)


def _version(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None  # load_key_pair reports it
    return status.st_mtime_ns, status.st_size


def write_key_pair(pair: KeyPair, key_path: Path, cert_path: Path, force: bool = False) -> None:
    """Write the key (mode 0600) and the certificate; FileExistsError unless ``force``."""
    if key_path.resolve() == cert_path.resolve():
        raise ValueError("the key and the certificate need two different files")
    if not force:
        existing = [str(path) for path in (key_path, cert_path) if path.exists()]
        if existing:
            raise FileExistsError(f"will not overwrite {', '.join(existing)}")
    _write(key_path, pair.private_key_pem, KEY_FILE_MODE, force)
    _write(cert_path, pair.certificate_pem, CERTIFICATE_FILE_MODE, force)


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Create (or, with ``force``, truncate) ``path``, set ``mode`` before writing any data."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    descriptor = os.open(path, flags, mode)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), mode)
        file.write(data)
