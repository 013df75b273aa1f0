"""The local fleet's certificates (cryptography), one module: the kit CA and what the fleet issues with it.

The kit CA (:class:`LocalCa`) gives mutual TLS between the coordinator and its perspectives, with
the policy of the Pulumi component (:mod:`plan.pki`: curve, validity, names, usages). BR 3.2.2.9
requires traffic between the CA and each remote Network Perspective to be authenticated and
encrypted: perspectives present a server certificate (verified by the coordinator) and the
coordinator presents a client certificate (verified by the perspectives, which reject anything not
signed by this CA).

API of the CA (all files are PEM; keys are written 0600; every call is idempotent)::

    ca = LocalCa.load_or_create("state/pki")        # ca.cert_path, ca.key_path
    cert, key = ca.issue_server("persp-eu-west-1", dns_names=["localhost"], ips=["10.0.0.5"])
    cert, key = ca.issue_client("coordinator")
    ca = LocalCa.ephemeral("run/pki")               # the key stays in memory: never on disk

Re-running reuses existing files; a server certificate is re-issued only when the requested
names differ from the stored one, has expired, or was not signed by this CA. ``leaves`` puts the
issued certificates and keys in another directory than the CA's own (whose key no process but
the issuer may read).

The fleet's certificates (:func:`fleet_certificates`, at ``mpic up``) are the identities of a
cloud stack: a server certificate per perspective region naming ``perspective-<code>``
(:func:`plan.pki.perspective_cert_name`; its hosts share it, as an AWS region's hosts share the
name of their load balancer), the coordinator's client certificate
(:data:`plan.pki.COORDINATOR_CLIENT_NAME`), a certificate for the coordinator's load balancer and
one client certificate per region for its load balancer's health checks. Least privilege
(:data:`plan.privileges.KEY_OWNERS`): the kit CA signs them all in memory and its key is never
written, so no process can mint itself a certificate afterwards. The runtime's keys are issued
into ``private/issued/`` (root's alone); each runtime process gets a copy of the one it uses in its
own folder (:mod:`local.engine.private`, 0600, owned by ``mpic``); the load balancers' keys are
bundled for HAProxy (0600, ``haproxy``). The mini-internet's HTTPS certificate comes from a CA of
its own (:func:`web_certificate`), as the Web PKI is not the CA's mTLS CA: its key stays in a
root-only folder for ``mpic challenge`` to issue with.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import re
import shutil
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from local.engine import private
from local.engine.state import State
from local.engine.users import own
from plan.local import FleetPlan
from plan.pki import (
    CA_COMMON_NAME,
    CA_VALIDITY_DAYS,
    COORDINATOR_CLIENT_NAME,
    CURVE,
    EARLY_RENEWAL_DAYS,
    LEAF_VALIDITY_DAYS,
    ORGANIZATION,
    perspective_cert_name,
)
from plan.privileges import KEY_OWNERS

__all__ = ["LocalCa", "fleet_certificates", "web_ca_cert", "web_certificate"]

_CA_VALIDITY = _dt.timedelta(days=CA_VALIDITY_DAYS)
_LEAF_VALIDITY = _dt.timedelta(days=LEAF_VALIDITY_DAYS)
_RENEW_BEFORE = _dt.timedelta(days=EARLY_RENEWAL_DAYS)
_CURVES = {"P256": ec.SECP256R1}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class LocalCa:
    """A private CA kept in one directory: ``ca.crt`` + ``ca.key`` and the leaves it issued."""

    def __init__(self, directory: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                 leaves: Path | None = None):
        self.directory = directory
        self.leaves = leaves or directory
        self.leaves.mkdir(parents=True, exist_ok=True)
        self._key = key
        self.cert = cert

    @property
    def cert_path(self) -> Path:
        """PEM of the CA certificate: the trust anchor both sides configure."""
        return self.directory / "ca.crt"

    @property
    def key_path(self) -> Path:
        return self.directory / "ca.key"

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str], common_name: str = CA_COMMON_NAME,
                       leaves: str | os.PathLike[str] | None = None) -> "LocalCa":
        """Load the CA in ``directory`` or create it there (key + self-signed certificate)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        out = Path(leaves) if leaves is not None else None
        cert_file, key_file = path / "ca.crt", path / "ca.key"
        if cert_file.exists() and key_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_file}: the kit CA key must be an EC key")
            return cls(path, key, cert, out)
        ca = cls._new(path, common_name, out)
        _write_key(key_file, ca._key)
        return ca

    @classmethod
    def ephemeral(cls, directory: str | os.PathLike[str], common_name: str = CA_COMMON_NAME,
                  leaves: str | os.PathLike[str] | None = None) -> "LocalCa":
        """A new CA whose certificate is written to ``directory`` and whose key is never written:
        it signs while this object lives, then it is gone (no process can read it afterwards)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        return cls._new(path, common_name, Path(leaves) if leaves is not None else None)

    @classmethod
    def _new(cls, path: Path, common_name: str, leaves: Path | None) -> "LocalCa":
        key = ec.generate_private_key(_CURVES[CURVE]())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(now + _CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_cert(path / "ca.crt", cert)
        return cls(path, key, cert, leaves)

    # -- leaves -----------------------------------------------------------------------------
    def issue_server(
        self, name: str, dns_names: list[str] | tuple[str, ...] = (), ips: list[str] | tuple[str, ...] = ()
    ) -> tuple[Path, Path]:
        """A server certificate ``<name>.crt``/``<name>.key`` for the given DNS names and IPs.

        Returns (cert_path, key_path). At least one name or IP is required.
        """
        if not dns_names and not ips:
            raise ValueError(f"issue_server({name!r}): give at least one DNS name or IP address")
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        return self._issue(name, sans, ExtendedKeyUsageOID.SERVER_AUTH)

    def issue_client(self, name: str) -> tuple[Path, Path]:
        """A client certificate (CN = ``name``) for mTLS; returns (cert_path, key_path)."""
        return self._issue(name, [x509.DNSName(name)] if _is_dns_name(name) else [], ExtendedKeyUsageOID.CLIENT_AUTH)

    def _issue(self, name: str, sans: list[x509.GeneralName], usage: x509.ObjectIdentifier) -> tuple[Path, Path]:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"certificate name {name!r}: use letters, digits, '.', '_' or '-' (max 64)")
        cert_file, key_file = self.leaves / f"{name}.crt", self.leaves / f"{name}.key"
        if cert_file.exists() and key_file.exists() and self._reusable(cert_file, sans, usage):
            return cert_file, key_file
        key = ec.generate_private_key(_CURVES[CURVE]())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                                     x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(min(now + _LEAF_VALIDITY, self.cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        _write_key(key_file, key)
        _write_cert(cert_file, cert)
        return cert_file, key_file

    def _reusable(self, cert_file: Path, sans: list[x509.GeneralName], usage: x509.ObjectIdentifier) -> bool:
        try:
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
            cert.verify_directly_issued_by(self.cert)
        except Exception:  # noqa: BLE001 - unreadable, foreign or mismatched: re-issue
            return False
        if cert.not_valid_after_utc <= _now() + _RENEW_BEFORE:
            return False
        try:
            have = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            have = set()
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        return have == set(sans) and usage in eku


def _is_dns_name(name: str) -> bool:
    return bool(re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$", name))


# ----------------------------------------------------------------- the fleet's certificates
WEB_CA_NAME = "MPIC Fleet mini-internet web CA"


def pki_dir(state: State) -> Path:
    return state.workdir / "pki"


def _bundle(state: State, name: str, cert: Path, key: Path, owner: str) -> str:
    """cert + key in one 0600 PEM file in ``pki/`` (HAProxy's format); the issued files are removed."""
    pem = pki_dir(state) / f"{name}.pem"
    pem.write_text(cert.read_text() + key.read_text())
    key.unlink()
    cert.unlink()
    own(pem, owner, 0o600)
    return str(pem)


def fleet_certificates(state: State, plan: FleetPlan) -> dict[str, Any]:
    """Issue every mTLS certificate of the fleet with a new kit CA whose key is never written;
    return their paths (the runtime's in ``private/issued/``, root's alone)."""
    folder = pki_dir(state)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    ca = LocalCa.ephemeral(folder, leaves=private.folder(state, "issued"))
    os.chmod(ca.leaves, 0o700)
    out: dict[str, Any] = {"ca": str(ca.cert_path), "regions": {}, "web_ca": web_ca_cert(state)}
    ccert, ckey = ca.issue_client(COORDINATOR_CLIENT_NAME)
    out["client"] = [str(ccert), str(ckey)]
    for r in plan.regions:
        cert, key = ca.issue_server(perspective_cert_name(r.code), dns_names=["localhost", r.host],
                                    ips=[r.backbone_ip, "127.0.0.1", *(h.lan_ip for h in r.replicas)])
        hcert, hkey = ca.issue_client(f"lb-check-{r.code}")
        out["regions"][r.code] = {"cert": str(cert), "key": str(key),
                                  "check_pem": _bundle(state, f"lb-check-{r.code}", hcert, hkey, KEY_OWNERS["lb"])}
    names = ["localhost", "coordinator"] + ([plan.coordinator_name] if plan.coordinator_name else [])
    lcert, lkey = ca.issue_server("coordinator-lb", dns_names=names, ips=[site.ip for site in plan.sites])
    out["coordinator_lb_pem"] = _bundle(state, "coordinator-lb", lcert, lkey, KEY_OWNERS["lb"])
    return out


def _web_ca(state: State) -> LocalCa:
    folder = state.workdir / "web-ca"
    ca = LocalCa.load_or_create(folder, WEB_CA_NAME, leaves=pki_dir(state))
    os.chmod(folder, 0o700)  # its key: root's only (mpic challenge issues with it)
    return ca


def web_ca_cert(state: State) -> str:
    """The mini-internet's web CA certificate, readable by the perspectives (their ``http_ca_file``)."""
    path = pki_dir(state) / "web-ca.crt"
    if not path.exists():
        shutil.copyfile(_web_ca(state).cert_path, path)
        os.chmod(path, 0o644)
    return str(path)


def web_certificate(state: State, plan: FleetPlan, hosts: list[str]) -> tuple[Path, Path]:
    """The internet host's HTTPS certificate, for the test domain and every challenge host."""
    names = sorted({plan.test_domain, f"*.{plan.test_domain}", *hosts})
    cert, key = _web_ca(state).issue_server("internet-web", dns_names=names, ips=[plan.internet_ip])
    own(key, KEY_OWNERS["web"], 0o600)
    return cert, key
