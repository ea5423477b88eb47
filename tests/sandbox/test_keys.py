"""``python -m sandbox keygen``, the key pair configuration and ``GET /sandbox/certificate``."""

from __future__ import annotations

import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import DarajaTestClient

REPOSITORY = Path(__file__).resolve().parents[2]


def keygen(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sandbox", "keygen", *arguments]
    return subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=30)


def certificate_of(daraja: DarajaTestClient) -> requests.Response:
    return requests.get(f"{daraja.base_url}/sandbox/certificate", timeout=5)


def test_keygen_writes_a_private_key_and_a_matching_ten_year_certificate(tmp_path: Path) -> None:
    key_path, cert_path = tmp_path / "sandbox.key", tmp_path / "sandbox.crt"

    done = keygen("--key", str(key_path), "--cert", str(cert_path))

    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key_pem = key_path.read_bytes()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, not encrypted
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "M-Pesa sandbox")
    assert certificate.issuer == certificate.subject
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.public_numbers() == key.public_key().public_numbers()
    lifetime = certificate.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=3650) <= lifetime <= timedelta(days=3654)


def test_keygen_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    key_path, cert_path = tmp_path / "sandbox.key", tmp_path / "sandbox.crt"
    cert_path.write_text("keep me")
    arguments = ("--key", str(key_path), "--cert", str(cert_path))

    refused = keygen(*arguments)

    assert refused.returncode != 0
    assert "--force" in refused.stderr
    assert cert_path.read_text() == "keep me" and not key_path.exists()
    key_path.write_text("old key")
    key_path.chmod(0o644)
    forced = keygen(*arguments, "--force")
    assert forced.returncode == 0, forced.stderr
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert x509.load_pem_x509_certificate(cert_path.read_bytes())


def test_keygen_needs_both_paths() -> None:
    assert keygen("--key", "only.key").returncode == 2


def test_certificate_endpoint_serves_the_configured_certificate(
    daraja: DarajaTestClient,
) -> None:
    response = certificate_of(daraja)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/x-pem-file")
    assert daraja.config.cert_path is not None
    assert response.content == Path(daraja.config.cert_path).read_bytes()


def test_without_paths_each_sandbox_makes_its_own_key_pair(start_sandbox: StartSandbox) -> None:
    first = certificate_of(start_sandbox(key_path=None, cert_path=None)).content
    second = certificate_of(start_sandbox(key_path=None, cert_path=None)).content

    assert first != second
    for pem in (first, second):
        certificate = x509.load_pem_x509_certificate(pem)
        public_key = certificate.public_key()
        assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 2048


def test_a_key_path_without_a_cert_path_is_refused() -> None:
    with pytest.raises(ValueError):
        SandboxConfig.from_env({"SANDBOX_KEY_PATH": "/tmp/sandbox.key"})


def test_configured_files_must_exist(tmp_path: Path) -> None:
    config = SandboxConfig(key_path=str(tmp_path / "no.key"), cert_path=str(tmp_path / "no.crt"))

    with pytest.raises(ValueError, match="SANDBOX_KEY_PATH"):
        create_app(config)


def test_a_certificate_of_another_key_is_refused(
    tmp_path: Path, key_files: tuple[str, str]
) -> None:
    assert keygen("--key", str(tmp_path / "k"), "--cert", str(tmp_path / "c")).returncode == 0
    config = SandboxConfig(key_path=key_files[0], cert_path=str(tmp_path / "c"))

    with pytest.raises(ValueError, match="SANDBOX_CERT_PATH"):
        create_app(config)
