"""Issue "Hardening" #2: perspectives never connect to reserved addresses.

Loopback, private, link-local, CGNAT, multicast, documentation and the other IANA special-purpose
ranges (IPv4, IPv6, IPv4-mapped and other embeddings) are refused on every resolved address and
every redirect hop, before connecting; only the lab's own hosts (``allowed_reserved_networks``)
are reachable. The "internal" web server of the test lab serves the same challenge files as the
public one, so a check that reached it would pass.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from open_mpic_core import CheckType
from service.perspective import PerspectiveRuntime
from tests.service import infra
from tests.service.conftest import ALPN_HASH, API_KEY, Env, http

REFUSED = [
    "0.0.0.0", "0.1.2.3", "10.1.2.3", "100.64.0.1", "100.127.255.254", "127.0.0.1", "127.255.255.254",
    "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1",
    "198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255",
    "::", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:0:10.0.0.1", "64:ff9b::a00:1",
    "64:ff9b:1::1", "100::1", "2001::1", "2001:2::1", "2001:db8::1", "2002:808:808::1", "3fff::1", "5f00::1",
    "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "ff0e::1",
]
ALLOWED = ["1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.32.0.1", "192.0.3.1",
           "198.20.0.1", "2606:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_reserved_addresses_are_refused(address: str) -> None:
    from service.addresses import AddressPolicy

    reason = AddressPolicy().refusal(ipaddress.ip_address(address))
    assert reason is not None and ("RFC" in reason or "IANA" in reason), reason


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    from service.addresses import AddressPolicy

    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_a_lab_allows_its_own_networks_only() -> None:
    from service.addresses import AddressPolicy

    lab = AddressPolicy([ipaddress.ip_network("127.1.2.80/31"), ipaddress.ip_network("fd00:1::/64")])
    for ok in ("127.1.2.80", "127.1.2.81", "::ffff:127.1.2.80", "fd00:1::5", "8.8.8.8"):
        assert lab.refusal(ipaddress.ip_address(ok)) is None, ok
    for bad in ("127.1.2.82", "127.0.0.1", "fd00:2::5", "10.0.0.1"):
        assert lab.refusal(ipaddress.ip_address(bad)) is not None, bad


def test_check_names_the_host_the_address_and_the_range() -> None:
    from service.addresses import AddressPolicy, ReservedAddressError

    policy = AddressPolicy()
    policy.check("example.test", ["93.184.216.34", "2606:2800::1"])
    with pytest.raises(ReservedAddressError, match=r"refused a.test resolves to 10.0.0.1: private \(RFC 1918\)"):
        policy.check("a.test", ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(ReservedAddressError, match="refused fe80::1%eth0: link-local"):
        policy.check("fe80::1%eth0", ["fe80::1%eth0"])
    with pytest.raises(ReservedAddressError, match="is not an IP address"):
        policy.check("a.test", ["not-an-address"])


# ----------------------------------------------------------------------------- real checks
def _runtime(env: Env, tmp_path: Any, last: int, **kw: Any) -> PerspectiveRuntime:
    return PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(last), audit_log=str(tmp_path / "a"), **kw))


def website(target: str, path: str = "tok1", scheme: str = "http") -> dict[str, Any]:
    return {"domain_or_ip_target": target, "dcv_check_parameters": {
        "validation_method": "website-change", "challenge_value": "web-challenge-0123456789", "http_token_path": path,
        "url_scheme": scheme}}


def acme_http(target: str, token: str = "tokA-0123456789abcdef") -> dict[str, Any]:
    return {"domain_or_ip_target": target, "dcv_check_parameters": {
        "validation_method": "acme-http-01", "token": token, "key_authorization": "tokA-0123456789abcdef.keyauth"}}


def alpn(target: str) -> dict[str, Any]:
    return {"domain_or_ip_target": target, "dcv_check_parameters": {
        "validation_method": "acme-tls-alpn-01", "key_authorization_hash": ALPN_HASH}}


def run(runtime: PerspectiveRuntime, payload: dict[str, Any]) -> Any:
    return asyncio.run(runtime.check(CheckType.DCV, payload))


def _refused(resp: Any, address: str) -> None:
    assert resp.check_completed is False and resp.check_passed is False, resp
    message = resp.errors[0].error_message
    assert "refused" in message and address in message, message
    assert resp.details.validation_method is not None
    assert getattr(resp.details, "response_page", None) is None  # nothing of the internal page comes back


def test_the_lab_targets_still_pass(env: Env, tmp_path: Any) -> None:
    runtime = _runtime(env, tmp_path, 100)
    assert run(runtime, website("web.mpic.test")).check_passed is True
    assert run(runtime, acme_http("web.mpic.test")).check_passed is True
    assert run(runtime, alpn("alpn.mpic.test")).check_passed is True


@pytest.mark.parametrize("payload,address", [
    (website("internal.mpic.test"), f".{infra.INTERNAL_HOST}"),  # a name pointing into the CA's network
    (acme_http("internal.mpic.test"), f".{infra.INTERNAL_HOST}"),
    (website("web.mpic.test", "tointernal"), f".{infra.INTERNAL_HOST}"),  # redirect hop into it
    (acme_http("web.mpic.test", "tointernal"), f".{infra.INTERNAL_HOST}"),
    (website("web.mpic.test", "toloop"), "127.0.0.1"),  # redirect to a loopback literal
    (website("loop.mpic.test"), "127.0.0.1"),
    (website("loop6.mpic.test"), "::1"),
    (website("mapped.mpic.test"), "127.0.0.1"),
    (website("mixed.mpic.test"), f".{infra.INTERNAL_HOST}"),  # one reserved address is enough
    (website("127.0.0.1"), "127.0.0.1"),  # literal targets
    (website("::1"), "::1"),
    (website("::ffff:127.0.0.1"), "127.0.0.1"),
    (website("internal.mpic.test", scheme="https"), f".{infra.INTERNAL_HOST}"),
    (alpn("alpn-internal.mpic.test"), f".{infra.INTERNAL_ALPN_HOST}"),
    (alpn("127.0.0.1"), "127.0.0.1"),
])
def test_reserved_destinations_are_refused_before_connecting(env: Env, tmp_path: Any, payload: dict[str, Any],
                                                             address: str) -> None:
    runtime = _runtime(env, tmp_path, 101, verify_ssl=False)
    _refused(run(runtime, payload), address)


def test_an_explicit_proxy_is_reached_and_its_targets_checked(env: Env, tmp_path: Any) -> None:
    """proxy_url is the operator's choice (exempt); the destinations sent to it are still checked
    (literals directly, names through the perspective's resolver) - the proxy resolves again, so
    it must refuse reserved destinations itself (see service/README.md)."""
    proxy = f"http://{env.ip(82)}:{env.nginx.proxy_port}"
    runtime = _runtime(env, tmp_path, 102, proxy_url=proxy)
    assert run(runtime, website("web.mpic.test")).check_passed is True
    _refused(run(runtime, website("internal.mpic.test")), f".{infra.INTERNAL_HOST}")
    _refused(run(runtime, website("web.mpic.test", "tointernal")), f".{infra.INTERNAL_HOST}")
    _refused(run(runtime, website("127.0.0.1")), "127.0.0.1")


def test_through_the_coordinator_nothing_of_the_internal_page_is_echoed(env: Env, coordinator: Any) -> None:
    base = coordinator(env.coordinator_settings(listen_port=8220, early_quorum=False))
    body = {"check_type": "dcv", "domain_or_ip_target": "internal.mpic.test", "dcv_check_parameters": {
        "validation_method": "website-change", "challenge_value": "web-challenge-0123456789", "http_token_path": "tok1"}}
    status, resp, _ = http("POST", base + "/mpic", body, headers={"x-api-key": API_KEY})
    assert status == 200 and resp["is_valid"] is False, resp
    for p in resp["perspectives"]:
        details = p["check_response"]["details"]
        assert details.get("response_page") is None and details.get("response_status_code") is None
        assert "refused" in p["check_response"]["errors"][0]["error_message"]
