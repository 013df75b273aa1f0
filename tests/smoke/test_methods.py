"""Every validation method of open-mpic-core and both CAA profiles, end to end through the
fleet's coordinator: a passing case and failing cases each (wrong value, wrong record type,
missing record, wrong certificate), plus a zone whose chain of trust is broken.

Challenges are set through ``target.challenges`` (``mpic challenge`` locally, Route53 on deployed
stacks); methods that need the target's web or TLS-ALPN host run where the target publishes one
(``challenge_hosts``). The table in docs/methods.md lists these tests (tests/test_docs.py compares).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from pathlib import Path

import pytest

from tests.smoke.conftest import answered, corroborated, refused, unique

CA = "ca.fleet.example"
LOOKUP = "mpic_error:dcv_checker:lookup"


def _settle() -> None:
    time.sleep(0.05)


def _dcv(domain: str, method: str, **params) -> dict:
    return {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": method, **params}}


def _caa(domain: str, cert_type: str = "tls-server") -> dict:
    return {"check_type": "caa", "domain_or_ip_target": domain,
            "caa_check_parameters": {"caa_domains": [CA], "certificate_type": cert_type}}


def _domain(target, prefix: str) -> str:
    return f"{unique(prefix)}.{target.test_domain}"


def _challenge_host(target, kind: str) -> str:
    hosts = target.status.get("challenge_hosts") or {}
    if kind not in hosts:
        pytest.skip(f"the target publishes no {kind} challenge host (challenge_hosts)")
    return hosts[kind]


def _errors(responses: list[dict]) -> set[str]:
    return {e["error_type"] for r in responses for e in r.get("errors") or []}


# ----------------------------------------------------------------------------- dns-change
def test_method_dns_change_txt(target):
    domain, value = _domain(target, "dc-txt"), secrets.token_hex(12)
    target.challenges.set_txt(f"_dnsauth.{domain}", value)
    _settle()
    corroborated(target, target.mpic(_dcv(domain, "dns-change", dns_name_prefix="_dnsauth",
                                          dns_record_type="TXT", challenge_value=value)))
    refused(target.mpic(_dcv(domain, "dns-change", dns_name_prefix="_dnsauth", dns_record_type="TXT",
                             challenge_value="not-" + value)), seen=value)
    refused(target.mpic(_dcv(domain, "dns-change", dns_name_prefix="_dnsauth", dns_record_type="CNAME",
                             challenge_value=value)), seen=None)  # wrong record type: no CNAME there


def test_method_dns_change_cname(target):
    domain = _domain(target, "dc-cname")
    target.challenges.set_cname(f"_dnsauth.{domain}", f"landing.{domain}")
    target.challenges.set_txt(f"landing.{domain}", "the CNAME target exists")
    _settle()
    corroborated(target, target.mpic(_dcv(domain, "dns-change", dns_name_prefix="_dnsauth",
                                          dns_record_type="CNAME", challenge_value=f"landing.{domain}")))
    refused(target.mpic(_dcv(domain, "dns-change", dns_name_prefix="_dnsauth", dns_record_type="CNAME",
                             challenge_value=f"elsewhere.{domain}")), seen=f"landing.{domain}.")


def test_method_dns_change_caa(target):
    domain, value = _domain(target, "dc-caa"), secrets.token_hex(16)
    target.challenges.set_caa(domain, f'0 issue "{CA}; token={value}"')
    _settle()
    corroborated(target, target.mpic(_dcv(domain, "dns-change", dns_record_type="CAA", challenge_value=value)))
    refused(target.mpic(_dcv(domain, "dns-change", dns_record_type="CAA", challenge_value="not-" + value)),
            seen=f"{CA}; token={value}")


# ----------------------------------------------------------------------------- ACME DNS
def test_method_acme_dns_01(target):
    domain = _domain(target, "dns01")
    key_auth_hash = secrets.token_urlsafe(32)[:43]
    target.challenges.set_txt(f"_acme-challenge.{domain}", key_auth_hash)
    _settle()
    corroborated(target, target.mpic(_dcv(domain, "acme-dns-01", key_authorization_hash=key_auth_hash)))
    refused(target.mpic(_dcv(domain, "acme-dns-01", key_authorization_hash=key_auth_hash.swapcase())),
            seen=key_auth_hash)  # ACME DNS-01 is case-sensitive
    missing = refused(target.mpic(_dcv(_domain(target, "dns01-none"), "acme-dns-01",
                                       key_authorization_hash=key_auth_hash)))
    assert LOOKUP in _errors(missing)  # NXDOMAIN: completed, with the lookup error


# ------------------------------------------------------------------------- dns-persistent
def test_method_dns_persistent(target):
    domain, account = _domain(target, "persist"), f"https://{CA}/acme/acct/{secrets.randbelow(10**6)}"
    rec = target.challenges.set_persistent(domain, CA, account)
    expired = _domain(target, "persist-old")
    target.challenges.set_persistent(expired, CA, account, int(time.time()) - 3600)
    _settle()

    def ask(name: str, issuers: list[str], uri: str) -> dict:
        return target.mpic(_dcv(name, "dns-persistent", issuer_domain_names=issuers, expected_account_uri=uri))

    corroborated(target, ask(domain, ["other-ca.example", CA], account))
    seen = rec.data.strip('"')
    refused(ask(domain, [CA], account + "9"), seen=seen)  # another account
    refused(ask(domain, ["other-ca.example"], account), seen=seen)  # another CA
    refused(ask(expired, [CA], account))  # persistUntil has passed


# ------------------------------------------------------------------------ contact methods
@pytest.mark.parametrize("kind,value", [("email", "admin@example.org"), ("phone", "+1 555 0100")])
def test_method_contact_txt(target, kind, value):
    domain = _domain(target, f"contact-{kind}")
    target.challenges.set_contact(domain, kind, value, "txt")
    _settle()
    corroborated(target, target.mpic(_dcv(domain, f"contact-{kind}-txt", challenge_value=value)))
    refused(target.mpic(_dcv(domain, f"contact-{kind}-txt", challenge_value="x" + value)), seen=value)
    other = "phone" if kind == "email" else "email"  # the other method's prefix has no record
    refused(target.mpic(_dcv(domain, f"contact-{other}-txt", challenge_value=value)))


@pytest.mark.parametrize("kind,value", [("email", "admin@example.org"), ("phone", "+1 555 0100")])
def test_method_contact_caa(target, kind, value):
    parent = _domain(target, f"contact-caa-{kind}")
    target.challenges.set_contact(parent, kind, value, "caa")
    _settle()
    child = f"www.{parent}"  # the CAA contact methods climb the tree, like CAA itself
    corroborated(target, target.mpic(_dcv(child, f"contact-{kind}-caa", challenge_value=value)))
    refused(target.mpic(_dcv(child, f"contact-{kind}-caa", challenge_value="x" + value)), seen=value)
    other = "phone" if kind == "email" else "email"  # a contactemail tag is no contactphone
    resp = refused(target.mpic(_dcv(child, f"contact-{other}-caa", challenge_value=value)))
    assert all(r["details"]["records_seen"] == [] for r in resp)


# ------------------------------------------------------------------------------ ip-address
@pytest.mark.parametrize("address,other", [("192.0.2.10", "192.0.2.11"), ("2001:db8::10", "2001:db8::11")])
def test_method_ip_address(target, address, other):
    domain = _domain(target, "ipaddr")
    rtype = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
    target.challenges.set_address(domain, address)
    _settle()
    corroborated(target, target.mpic(_dcv(domain, "ip-address", dns_record_type=rtype, challenge_value=address)))
    refused(target.mpic(_dcv(domain, "ip-address", dns_record_type=rtype, challenge_value=other)), seen=address)
    wrong_type = "AAAA" if rtype == "A" else "A"
    refused(target.mpic(_dcv(domain, "ip-address", dns_record_type=wrong_type, challenge_value=address)))


# --------------------------------------------------------------------- reverse lookup (PTR)
def _public_address(version: int) -> str:
    """An address outside the RFC 6303 ranges a resolver answers locally (as real resolvers do)."""
    if version == 4:
        return f"45.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    return f"2a05:d0{secrets.randbelow(90) + 10}::{secrets.token_hex(2)}"


@pytest.mark.parametrize("version", [4, 6])
def test_method_reverse_address_lookup(local_target, version):
    address, host = _public_address(version), _domain(local_target, "ptr") + "."
    local_target.challenges.set_reverse(address, host)
    _settle()
    pointer = ipaddress.ip_address(address).reverse_pointer
    # the core compares the PTR target exactly, as the answer has it: absolute, with the final dot
    corroborated(local_target, local_target.mpic(_dcv(pointer, "reverse-address-lookup", challenge_value=host)))
    refused(local_target.mpic(_dcv(pointer, "reverse-address-lookup", challenge_value=host.rstrip("."))), seen=host)
    refused(local_target.mpic(_dcv(pointer, "reverse-address-lookup", challenge_value="other." + host)), seen=host)
    unset = ipaddress.ip_address(address) + 1
    refused(local_target.mpic(_dcv(unset.reverse_pointer, "reverse-address-lookup", challenge_value=host)))


# ---------------------------------------------------------------------------- HTTP methods
def _http_status(responses: list[dict]) -> set[int]:
    """The HTTP status each perspective got, from its ``mpic_error:http`` error."""
    out = set()
    for r in responses:
        for e in r.get("errors") or []:
            if e["error_type"] == "mpic_error:http":
                out.add(int(e["error_message"].split("Response status ")[1].split(",")[0]))
    assert len(out) >= 1, responses
    return out


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_method_website_change(target, scheme):
    _challenge_host(target, "http")
    host, value = _domain(target, "web"), secrets.token_hex(10)
    target.challenges.set_http(host, ".well-known/pki-validation/fleet.txt", value)
    _settle()

    def ask(path: str, expect: str) -> dict:
        return target.mpic(_dcv(host, "website-change", http_token_path=path, challenge_value=expect,
                                url_scheme=scheme))

    corroborated(target, ask("fleet.txt", value))
    refused(ask("fleet.txt", "not-" + value))
    assert _http_status(refused(ask("absent.txt", value))) == {404}


def test_method_acme_http_01(target):
    _challenge_host(target, "http")
    host, token = _domain(target, "http01"), secrets.token_urlsafe(32)
    key_auth = f"{token}.{secrets.token_urlsafe(32)}"
    target.challenges.set_http(host, f".well-known/acme-challenge/{token}", key_auth)
    _settle()
    corroborated(target, target.mpic(_dcv(host, "acme-http-01", token=token, key_authorization=key_auth)))
    refused(target.mpic(_dcv(host, "acme-http-01", token=token, key_authorization=key_auth + "x")))
    missing = refused(target.mpic(_dcv(host, "acme-http-01", token=token + "x", key_authorization=key_auth)))
    assert _http_status(missing) == {404}


# -------------------------------------------------------------------------------- TLS-ALPN
def _hash() -> str:
    return hashlib.sha256(secrets.token_bytes(16)).hexdigest()


def test_method_acme_tls_alpn_01_name(target):
    _challenge_host(target, "tls_alpn")
    name, digest = _domain(target, "alpn"), _hash()
    target.challenges.set_tls_alpn(name, digest)
    _settle()
    corroborated(target, target.mpic(_dcv(name, "acme-tls-alpn-01", key_authorization_hash=digest)))
    refused(target.mpic(_dcv(name, "acme-tls-alpn-01", key_authorization_hash=_hash())))  # wrong digest
    other = _domain(target, "alpn-none")  # served by the responder, but its certificate is for no such name
    target.challenges.set_address(other, _challenge_host(target, "tls_alpn"))
    _settle()
    resp = refused(target.mpic(_dcv(other, "acme-tls-alpn-01", key_authorization_hash=digest)))
    assert "mpic_error:dcv_checker:tls_alpn:certificate:san_not_hostname" in _errors(resp)


def test_method_acme_tls_alpn_01_ip(target):
    address, digest = _challenge_host(target, "tls_alpn"), _hash()
    target.challenges.set_tls_alpn(address, digest)
    _settle()
    corroborated(target, target.mpic(_dcv(address, "acme-tls-alpn-01", key_authorization_hash=digest)))
    refused(target.mpic(_dcv(address, "acme-tls-alpn-01", key_authorization_hash=_hash())))
    target.challenges.clear(address)
    resp = refused(target.mpic(_dcv(address, "acme-tls-alpn-01", key_authorization_hash=digest)))
    assert "mpic_error:dcv_checker:tls_alpn:certificate:san_type_not_match" in _errors(resp)  # no IP SAN


# ---------------------------------------------------------------------------------- DNSSEC
def _zone(folder: Path, origin: str, value: str) -> Path:
    path = folder / f"{origin}zone"
    path.write_text(f"$ORIGIN {origin}\n$TTL 1\n@ 60 SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 1\n"
                    f"@ 60 NS ns.{origin}\nns 60 A @INTERNET_IP@\n_dnsauth 1 TXT \"{value}\"\n"
                    f"@ 1 CAA 0 issue \"{CA}\"\n")
    return path


def test_method_dnssec_bogus_zone_is_refused(local_target, tmp_path):
    """A record in a zone whose chain of trust is broken (its DS matches no key) is accepted by no
    perspective: every resolver validates and answers SERVFAIL; the same zone, intact, passes."""
    value = secrets.token_hex(16)
    good = _domain(local_target, "signed") + "."
    bad = _domain(local_target, "bogus") + "."
    local_target.challenges.load_zone(str(_zone(tmp_path, good, value)))
    local_target.challenges.load_zone(str(_zone(tmp_path, bad, value)), break_dnssec=True)
    time.sleep(1.1)  # negative answers cached before the loads expire (TTL 1)
    body = dict(dns_name_prefix="_dnsauth", dns_record_type="TXT", challenge_value=value)
    signed = local_target.mpic(_dcv(good.rstrip("."), "dns-change", **body))
    corroborated(local_target, signed)
    assert all(r["details"]["ad_flag"] is True for r in answered(signed)), signed  # validated answers
    resp = refused(local_target.mpic(_dcv(bad.rstrip("."), "dns-change", **body)), completed=False)
    assert _errors(resp) == {LOOKUP} and all(r["details"]["records_seen"] in (None, []) for r in resp), resp
    corroborated(local_target, local_target.mpic(_caa(good.rstrip("."))))
    caa = refused(local_target.mpic(_caa(bad.rstrip("."))), completed=False)  # no CAA answer: no issuance
    assert _errors(caa) == {"mpic_error:caa_checker:lookup"}, caa
    local_target.challenges.clear(bad.rstrip("."))
    local_target.challenges.clear(good.rstrip("."))


# ------------------------------------------------------------------------------------- CAA
def test_method_caa_tls_server(target):
    ok, deny, wild = _domain(target, "caa-ok"), _domain(target, "caa-deny"), _domain(target, "caa-wild")
    target.challenges.set_caa(ok, f'0 issue "{CA}"')
    target.challenges.set_caa(deny, '0 issue "other-ca.example"')
    target.challenges.set_caa(wild, '0 issue ";"')
    target.challenges.set_caa(wild, f'0 issuewild "{CA}"')
    _settle()
    corroborated(target, target.mpic(_caa(ok)))
    corroborated(target, target.mpic(_caa(f"sub.{ok}")))  # inherited from the parent
    refused(target.mpic(_caa(deny)))
    corroborated(target, target.mpic(_caa(_domain(target, "caa-none"))))  # no CAA at all: issuance may proceed
    corroborated(target, target.mpic(_caa(f"*.{wild}")))
    refused(target.mpic(_caa(wild)))


def test_method_caa_smime(target):
    permit, deny, absent = _domain(target, "mail-ok"), _domain(target, "mail-deny"), _domain(target, "mail-none")
    target.challenges.set_caa(permit, f'0 issuemail "{CA}"')
    target.challenges.set_caa(permit, '0 issue "other-ca.example"')  # issue does not govern S/MIME
    target.challenges.set_caa(deny, '0 issuemail "other-ca.example"')
    target.challenges.set_caa(deny, f'0 issue "{CA}"')
    target.challenges.set_caa(absent, '0 issue "other-ca.example"')
    _settle()
    corroborated(target, target.mpic(_caa(permit, "s-mime")))
    refused(target.mpic(_caa(deny, "s-mime")))
    corroborated(target, target.mpic(_caa(absent, "s-mime")))  # no issuemail: S/MIME unrestricted
    # a TLS server certificate ignores issuemail: issue alone decides
    corroborated(target, target.mpic(_caa(deny, "tls-server")))
    refused(target.mpic(_caa(permit, "tls-server")))
