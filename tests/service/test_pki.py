"""The kit CA (local/pki.py): idempotent, chains verify, mTLS usages are right."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from local.pki import LocalCa


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_ca_and_leaves_are_reused_and_verify(tmp_path: Path) -> None:
    ca = LocalCa.load_or_create(tmp_path)
    assert ca.cert_path == tmp_path / "ca.crt" and stat.S_IMODE(ca.key_path.stat().st_mode) == 0o600
    cert, key = ca.issue_server("p1", dns_names=["p1.local"], ips=["10.0.0.5"])
    first = cert.read_bytes()
    again = LocalCa.load_or_create(tmp_path)
    assert again.cert_path.read_bytes() == ca.cert_path.read_bytes()
    assert again.issue_server("p1", dns_names=["p1.local"], ips=["10.0.0.5"])[0].read_bytes() == first
    leaf = load(cert)
    leaf.verify_directly_issued_by(load(ca.cert_path))
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["p1.local"]
    assert [str(i) for i in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    assert ExtendedKeyUsageOID.SERVER_AUTH in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # different names -> re-issued
    assert again.issue_server("p1", ips=["10.0.0.6"])[0].read_bytes() != first
    client, _ = ca.issue_client("coordinator")
    eku = load(client).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku and ExtendedKeyUsageOID.SERVER_AUTH not in eku


def test_foreign_or_broken_leaves_are_replaced(tmp_path: Path) -> None:
    ca = LocalCa.load_or_create(tmp_path / "a")
    other = LocalCa.load_or_create(tmp_path / "b")
    cert, _ = other.issue_client("c1")
    (tmp_path / "a" / "c1.crt").write_bytes(cert.read_bytes())
    (tmp_path / "a" / "c1.key").write_text("x")
    new, _ = ca.issue_client("c1")
    load(new).verify_directly_issued_by(load(ca.cert_path))
    (tmp_path / "a" / "c1.crt").write_text("garbage")
    load(ca.issue_client("c1")[0]).verify_directly_issued_by(load(ca.cert_path))


def test_bad_inputs(tmp_path: Path) -> None:
    ca = LocalCa.load_or_create(tmp_path)
    with pytest.raises(ValueError, match="at least one DNS name"):
        ca.issue_server("x")
    with pytest.raises(ValueError, match="certificate name"):
        ca.issue_client("../etc/passwd")
