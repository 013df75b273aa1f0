"""The shared kit CA (components/pki.py) under Pulumi's mocks: names, uses, validity, secrets."""

from __future__ import annotations

import pulumi
import pulumi_tls as tls

from components import pki
from preview.mocks import ProgramRun, RecordingMocks, install_default_hooks, run_callable

TLS_TYPES = ("tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert",
             "tls:index/certRequest:CertRequest", "tls:index/locallySignedCert:LocallySignedCert")


def _run(args: pki.KitCaArgs) -> tuple[ProgramRun, dict]:
    seen: dict = {}

    def build():
        ca = pki.KitCa("kit-ca", args, opts=pulumi.ResourceOptions(providers=[tls.Provider("tls")]))
        seen["server"] = ca.server
        pulumi.export("ca", ca.cert_pem)
        pulumi.export("client", ca.client.cert_pem)
        pulumi.export("client_key", ca.client.key_pem)

    run = run_callable(build, mocks=install_default_hooks(RecordingMocks()))
    assert run.error is None and run.default_provider_uses() == []
    return run, seen


def _by_name(run: ProgramRun) -> dict:
    return {r.name: r for r in run.resources if r.type in TLS_TYPES}


def test_ca_and_coordinator_client_certificate_without_a_server_certificate():
    run, seen = _run({"common_name": "MPIC Fleet kit CA (t)"})
    (comp,) = run.by_type("mpic:tls:KitCa")
    res = _by_name(run)
    assert sorted(res) == ["kit-ca-cert", "kit-ca-client-cert", "kit-ca-client-csr", "kit-ca-client-key", "kit-ca-key"]
    assert {r.parent for r in res.values()} == {comp.urn}
    ca = res["kit-ca-cert"].inputs
    assert ca["isCaCertificate"] is True and ca["validityPeriodHours"] == pki.CA_VALIDITY_HOURS == 87600
    assert ca["subject"] == {"commonName": "MPIC Fleet kit CA (t)", "organization": "MPIC Fleet"}
    assert ca["allowedUses"] == ["cert_signing", "crl_signing", "digital_signature"]
    assert res["kit-ca-key"].inputs == {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
    client = res["kit-ca-client-cert"].inputs
    assert client["allowedUses"] == ["digital_signature", "key_encipherment", "client_auth"]
    assert client["validityPeriodHours"] == pki.LEAF_VALIDITY_HOURS == 397 * 24
    assert client["earlyRenewalHours"] == 30 * 24
    assert res["kit-ca-client-csr"].inputs["subject"]["commonName"] == "mpic-coordinator-client"
    assert seen["server"] is None
    assert set(run.outputs) == {"ca", "client", "client_key"}


def test_server_certificate_names_the_coordinator():
    names = ["mpic.example", "us-east-1.mpic.example"]
    run, seen = _run({"common_name": pki.CA_COMMON_NAME, "coordinator_dns_names": names})
    res = _by_name(run)
    csr = res["kit-ca-server-csr"].inputs
    assert csr["dnsNames"] == names and csr["subject"]["commonName"] == "mpic.example"
    assert res["kit-ca-server-cert"].inputs["allowedUses"] == ["digital_signature", "key_encipherment", "server_auth"]
    assert isinstance(seen["server"], pki.Leaf)
    assert res["kit-ca-cert"].inputs["subject"]["commonName"] == "MPIC Fleet kit CA"


def test_leaf_key_is_a_secret():
    def build():
        ca = pki.KitCa("kit-ca", {"common_name": "x"}, opts=pulumi.ResourceOptions(providers=[tls.Provider("tls")]))
        leaf = pki.issue_leaf(ca, "p", "perspective-x", ["p.example"], ca.cert_pem, ca.private_key_pem,
                              uses=["server_auth", "client_auth"])
        pulumi.export("secret", leaf.key_pem.is_secret())

    run = run_callable(build, mocks=install_default_hooks(RecordingMocks()))
    assert run.error is None and run.outputs["secret"] is True
    cert = _by_name(run)["p-cert"].inputs
    assert cert["allowedUses"] == ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
