"""The one renderer of runtime settings: what every target's coordinator and perspectives run with.

Every target — the local fleet, aws-hosts (cloud-init), aws-lambda (environment variables) and
k8s (ConfigMaps) — renders its settings here, so the behaviour a stack configures (cohort size,
quorum, attempts, timeouts, early quorum) is the same wherever it runs. What legitimately differs
by target is *placement*: listen address and port, file paths of the TLS material, where the
API keys come from, the resolver's address. Those are the keyword arguments; the behaviour comes
from the validated :class:`~config.model.StackConfig`.

The output is a plain dict with the keys of ``service.settings.CoordinatorSettings`` /
``PerspectiveSettings`` (the runtime validates it again at start), or, for Lambda, the same keys as
``MPIC_*`` environment variables (:func:`settings_env`). Values that are not set are left out, so
the runtime's own defaults apply.

Values only the Pulumi engine knows (function ARNs, API keys, the hash secret, a TSIG secret) are
*slots*: plain keyword arguments here, which a component fills with the engine's resolved values
inside ``apply`` (or, on Kubernetes, a Secret it creates). Where a target hands a secret to the
runtime as an environment variable, the variable's name comes from :func:`env_name` (the runtime's
own naming rule), never typed by hand: :data:`API_KEYS_ENV`, :data:`HASH_SECRET_ENV`,
:data:`PERSPECTIVES_ENV`, :data:`CANARY_API_KEY_ENV`, :data:`CANARY_TSIG_ENV`, :data:`AUDIT_REPLICA_ENV`.
"""

from __future__ import annotations

import json
from typing import Any

from config.model import StackConfig

AUDIT_TO_STDOUT = "-"
ENV_PREFIX = "MPIC_"
"""The runtime's environment prefix (``service.settings_common.ENV_PREFIX``; a test pins the two)."""
ENV_NESTED_DELIMITER = "__"
"""Between the keys of a nested setting (``service.settings_common``'s ``env_nested_delimiter``)."""


def env_name(key: str, *nested: str) -> str:
    """The environment variable the runtime reads setting ``key`` (``nested``: a key inside it) from:
    ``env_name("api_keys")`` is ``MPIC_API_KEYS``, ``env_name("dns", "key_secret")`` ``MPIC_DNS__KEY_SECRET``."""
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(k.upper() for k in (key, *nested))


API_KEYS_ENV = env_name("api_keys")
"""The coordinator's API keys (a JSON list): the Lambda function's environment, a k8s Secret."""
HASH_SECRET_ENV = env_name("hash_secret")
"""The coordinator's hash secret: the Lambda function's environment, a k8s Secret, a host's ``coordinator.env``."""
PERSPECTIVES_ENV = env_name("perspectives")
"""The coordinator's perspectives (a JSON list): on Lambda, their function ARNs."""
CANARY_API_KEY_ENV = env_name("api_key")
"""The API key the canary presents: its Lambda function's environment, its k8s Secret."""
CANARY_TSIG_ENV = env_name("dns", "key_secret")
"""The canary's TSIG secret (RFC 2136 on k8s): its k8s Secret."""
AUDIT_REPLICA_ENV = env_name("audit_replica")
"""The audit writer's replica, from the platform: the instance id on a host, the pod name on k8s."""


def _drop_unset(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}


def behaviour(fleet: StackConfig) -> dict[str, Any]:
    """The coordinator's behaviour, from the stack alone and the same on every target: cohort size,
    attempts, ``mpic:perspectiveTimeoutMs``, ``mpic:earlyQuorum`` and ``mpic:quorum`` (unset: the BR
    3.2.2.9 default the runtime computes), ``mpic:caa.allowLookupFailure`` and ``mpic:minChallengeLength``."""
    return _drop_unset({
        "default_perspective_count": fleet.cohort_size,
        "max_attempts": fleet.max_attempts,
        "perspective_timeout": fleet.perspective_timeout,
        "early_quorum": fleet.early_quorum,
        "default_quorum_count": fleet.quorum,
        "caa_allow_lookup_failure": fleet.caa.allow_lookup_failure,
        "min_challenge_length": fleet.min_challenge_length,
    })


def perspective_behaviour(fleet: StackConfig, code: str) -> dict[str, Any]:
    """A perspective's behaviour from the stack, the same on every target: its explicit proxy and
    ``mpic:caa.allowLookupFailure``."""
    return _drop_unset({"proxy_url": fleet.proxy_for(code), "caa_allow_lookup_failure": fleet.caa.allow_lookup_failure})


def coordinator_settings(fleet: StackConfig, *, perspectives: list[dict[str, Any]], client_tls: dict[str, str] | None,
                         listen_host: str | None = None, listen_port: int | None = None,
                         tls: dict[str, str] | None = None,
                         api_keys: list[str] | None = None, api_keys_file: str | None = None,
                         hash_secret: str | None = None, audit_log: str = AUDIT_TO_STDOUT,
                         log_level: str | None = None, internal_listen: tuple[str, int] | None = None,
                         audit: dict[str, str] | None = None, br_as_of: str | None = None) -> dict[str, Any]:
    """``service.settings.CoordinatorSettings`` of one coordinator.

    ``perspectives``: ``[{code, rir, url}]`` (``url`` ``https://HOST:PORT`` or ``lambda:<arn>``);
    ``client_tls``: its mTLS identity ``{cert, key, ca}`` (None for Lambda perspectives);
    ``listen_host``/``listen_port``: its listener (None for a Lambda function, which has none);
    ``tls``: its own server certificate when it terminates TLS itself (``{cert, key}``); the API
    keys and hash secret inline (local fleet, a Lambda function's slots), from a file, or from the
    environment (None here); ``internal_listen``: where ``/healthz`` and ``/metrics`` listen (never
    published; default the runtime's 127.0.0.1:9090); ``audit``: where its audit lines go and the
    writer's site and replica (``audit_log``, ``audit_site``, ``audit_replica``; overrides
    ``audit_log``); ``br_as_of``: the date (YYYY-MM-DD) whose BR 3.2.2.9 minimums apply, for a bench
    or lab only (unset: today's, as in production).
    """
    doc: dict[str, Any] = {
        "listen_host": listen_host,
        "listen_port": listen_port,
        "internal_listen_host": internal_listen[0] if internal_listen else None,
        "internal_listen_port": internal_listen[1] if internal_listen else None,
        "tls": tls,
        "api_keys": api_keys,
        "api_keys_file": api_keys_file,
        "hash_secret": hash_secret,
        **behaviour(fleet),
        "client_tls": client_tls,
        "perspectives": perspectives,
        "audit_log": audit_log,
        "log_level": log_level,
        "br_as_of": br_as_of,
        **(audit or {}),
    }
    return _drop_unset(doc)


def perspective_settings(fleet: StackConfig, code: str, rir: str, *, resolver: dict[str, Any],
                         listen_host: str | None = None,
                         listen_port: int | None = None, tls: dict[str, str] | None = None,
                         caa_domains: list[str] | tuple[str, ...] = (), verify_ssl: bool | None = True,
                         http_ca_file: str | None = None, http_timeout: float | None = None,
                         audit_log: str = AUDIT_TO_STDOUT, log_level: str | None = None,
                         allowed_reserved_networks: list[str] | None = None,
                         audit: dict[str, str] | None = None) -> dict[str, Any]:
    """``service.settings.PerspectiveSettings`` of one perspective.

    ``resolver``: its own recursive resolver ``{nameservers, port[, timeout, lifetime]}`` (BR
    3.2.2.9: the perspective's resolver, no shared cache); ``tls``: ``{cert, key, client_ca}``
    (None for a Lambda function, which has no listener); ``caa_domains``: the CA's CAA issuer
    domains (left out when empty); ``allowed_reserved_networks``: a lab's own mini-internet, the
    only reserved addresses its checks may reach (never set for a cloud target). Only the
    coordinator's client certificate (:data:`plan.pki.COORDINATOR_CLIENT_NAME`, the runtime's
    default ``allowed_clients``) may run checks, on every target.
    """
    doc: dict[str, Any] = {
        "code": code,
        "rir": rir,
        "listen_host": listen_host,
        "listen_port": listen_port,
        "tls": tls,
        "resolver": resolver,
        "caa_domains": list(caa_domains) or None,
        "verify_ssl": verify_ssl,
        "http_ca_file": http_ca_file,
        "http_timeout": http_timeout,
        "log_level": log_level,
        "audit_log": audit_log,
        "allowed_reserved_networks": allowed_reserved_networks,
        **perspective_behaviour(fleet, code),
        **(audit or {}),
    }
    return _drop_unset(doc)


def canary_settings(fleet: StackConfig, *, coordinator_url: str, dns: dict[str, Any], sink: dict[str, Any],
                    api_key: str | None = None, ca_file: str | None = None,
                    resolver: str | None = None) -> dict[str, Any]:
    """``service.settings.CanarySettings`` of the canary: the name and interval from
    ``mpic:canary``; placement (how its TXT is written, where results go, the API key inline or
    from the environment) from the target."""
    return _drop_unset({
        "stack": fleet.name,
        "coordinator_url": coordinator_url.rstrip("/"),
        "api_key": api_key,
        "ca_file": ca_file,
        "domain": fleet.canary_domain,
        "dns": _drop_unset(dns),
        "sink": _drop_unset(sink),
        "interval": float(fleet.canary.interval * 60),
        "resolver": resolver,
    })


def env_value(value: Any) -> str:
    """A setting's value as the runtime reads it from the environment: strings and numbers as
    text, booleans ``true``/``false``, lists and mappings as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value)


def settings_env(settings: dict[str, Any]) -> dict[str, str]:
    """The same settings as ``MPIC_*`` environment variables (how Lambda functions get them):
    each key's :func:`env_name`, each value's :func:`env_value`."""
    return {env_name(key): env_value(value) for key, value in settings.items()}
