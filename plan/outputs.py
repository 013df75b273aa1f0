"""The one contract every target's outputs follow: the keys of ``mpic status --json``.

The Pulumi stack outputs of aws-hosts, aws-lambda and k8s and the local fleet's status carry the
same names, so the smoke suite (``./scripts/mpic smoke STACK``), EJBCA and a CA's own tooling read
any fleet the same way:

- ``coordinator_url``: the base URL, without ``/v1`` (the API is ``<base>/v1/mpic``; the kit's own
  coordinator also serves ``<base>/mpic``); ``api_paths`` lists the paths that exist;
- ``api_key`` (a secret output), ``ca_cert`` (the trust anchor of the coordinator's certificate:
  a PEM in stack outputs, a file path in the local status), ``test_domain``;
- ``perspectives``: ``[{code, rir, hosts}]``; ``hosts``: ``[{name, role, address, ...}]`` (how the
  smoke suite reaches each host);
- ``auth_failure_status``: what a request without a valid key gets (401 from the kit's coordinator,
  403 from API Gateway);
- ``ejbca_mpic_validator``: EJBCA's MPIC Validator settings (Open MPIC API 3.5).
"""

from __future__ import annotations

from typing import Any

KIT_API_PATHS: tuple[str, ...] = ("/v1/mpic", "/mpic")
"""The kit's coordinator serves both (EJBCA's path first)."""
GATEWAY_API_PATHS: tuple[str, ...] = ("/v1/mpic",)
"""API Gateway routes only stage ``v1``, resource ``/mpic``."""
OUTPUT_DOCS: dict[str, str] = {
    "stack": "the stack's name",
    "coordinator_url": "the coordinator's base URL, without `/v1` (the API is `<base>/v1/mpic`)",
    "api_key": "the first of `mpic:apiKeys` (a secret output)",
    "ca_cert": "trust anchor of the coordinator's certificate (PEM; the local status: a file path)",
    "test_domain": "`mpic:testDomain`: where the smoke suite writes challenges",
    "perspectives": "`[{code, rir, hosts}]`: every remote perspective and the hosts behind it",
    "hosts": "`[{name, role, address, ...}]`: how the smoke suite reaches each host",
    "auth_failure_status": "what a request without a valid API key gets: 401 (the kit's coordinator), 403 (API Gateway)",
    "api_paths": "the API paths that exist: `/v1/mpic` everywhere, `/mpic` on the kit's coordinator",
    "ejbca_mpic_validator": "EJBCA's MPIC Validator settings: `{url, apiKeyHeader, apiSpecVersion, method}`",
}
STATUS_KEYS: tuple[str, ...] = tuple(OUTPUT_DOCS)
"""Every target's outputs (and ``mpic status --json``) carry at least these."""
OPTIONAL_DOCS: dict[str, str] = {
    "challenge_hosts": "`{http, tls_alpn}`: the addresses where the target answers HTTP and TLS-ALPN-01 "
                       "challenges (the local fleet's internet host; deployed stacks publish none, so their "
                       "smoke run skips those methods)",
    "client_resolver": "the DNS server a client resolves `coordinator_url`'s name through (the local fleet "
                       "with a standby site: its failed-over name lives in the fleet's own DNS)",
    "coordinator_sites": "`{name, active, sites: {primary, standby}}`: the failover health checker's view "
                         "(the local fleet; deployed stacks: Route53 health checks)",
    "canary": "`{last, alarms, runs, interval_minutes, record}`: the canary's last result and the alarms set "
              "now (the local fleet; deployed stacks alarm in CloudWatch or Prometheus: docs/canary.md)",
}
"""Keys a target may add; the smoke suite skips what needs a key the target does not publish."""


def ejbca_mpic_validator(coordinator_url: str) -> dict[str, Any]:
    """What EJBCA's MPIC Validator needs (Open MPIC API 3.5, ``POST <url>``, header ``x-api-key``)."""
    return {"url": f"{coordinator_url.rstrip('/')}/v1/mpic", "apiKeyHeader": "x-api-key", "apiSpecVersion": "3.5",
            "method": "POST", "apiKey": "the api_key output (secret)"}


def status(*, stack: str, coordinator_url: str, ca_cert: str, test_domain: str, perspectives: list[dict],
           hosts: list[dict], auth_failure_status: int, api_paths: tuple[str, ...]) -> dict[str, Any]:
    """The status contract without ``api_key`` (each target adds it: a secret output, or the local
    fleet's own key)."""
    base = coordinator_url.rstrip("/").removesuffix("/v1")
    return {"stack": stack, "coordinator_url": base, "ca_cert": ca_cert, "test_domain": test_domain,
            "perspectives": perspectives, "hosts": hosts, "auth_failure_status": auth_failure_status,
            "api_paths": list(api_paths), "ejbca_mpic_validator": ejbca_mpic_validator(base)}
