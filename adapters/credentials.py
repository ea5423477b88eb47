"""Daraja's SecurityCredential: the initiator password encrypted with M-Pesa's certificate."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.settings import Settings


def security_credential(password: str, certificate_pem: bytes) -> str:
    """base64(RSA PKCS#1 v1.5 encryption of the raw password bytes); PEM or DER certificate."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        certificate = x509.load_der_x509_certificate(certificate_pem)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the M-Pesa certificate must hold an RSA key")
    return base64.b64encode(key.encrypt(password.encode(), padding.PKCS1v15())).decode()


def credential_for(settings: Settings) -> str:
    """The configured credential, or one made from the password and the certificate."""
    if settings.mpesa_security_credential:
        return settings.mpesa_security_credential
    if not settings.mpesa_certificate_path:
        raise RuntimeError("set MPESA_SECURITY_CREDENTIAL, or MPESA_INITIATOR_PASSWORD with "
                           "MPESA_CERTIFICATE_PATH, to send B2C payouts")
    pem = Path(settings.mpesa_certificate_path).read_bytes()
    return security_credential(settings.mpesa_initiator_password, pem)
