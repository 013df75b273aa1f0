"""The production canary: does MPIC corroborate right now, with how much to spare?

One run (``python -m service canary --settings FILE --once``, the Lambda handler
``service.lambda_handler.canary_handler``, or the local fleet's ``mpic canary``: the same code):

1. writes a fresh token as TXT ``_mpic-canary.DOMAIN`` (Route53, or RFC 2136 with TSIG);
2. asks the coordinator for dns-change with that token, waiting for every perspective of the
   cohort (``X-MPIC-Await-All``): expects valid; the margin is perspectives passed minus quorum;
3. asks with a wrong token: expects invalid (the fleet can still say no);
4. asks for CAA on DOMAIN: expects valid.

The result goes to a sink: CloudWatch metrics (embedded metric format on stdout: no API call, no
IAM permission), a Prometheus Pushgateway, or a JSON-lines file (the local fleet). Alarms are
evaluated where the results land (CloudWatch alarms, PrometheusRules, ``mpic status``), all with
the rules of one planner (``plan/canary.py``).
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import ssl
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from service import AWAIT_ALL_HEADER
from service.settings_canary import CanaryDnsSettings, CanarySettings, CanarySinkSettings

RECORD_LABEL = "_mpic-canary"
METRIC_NAMESPACE = "MPIC/Canary"

Post = Callable[[dict[str, Any], bool], dict[str, Any]]
"""(request body, await every perspective) -> the coordinator's 200 response; raises on anything else."""


class CanaryError(RuntimeError):
    """The canary could not complete a run (the coordinator or the DNS writer failed)."""


class TxtWriter(Protocol):
    def set_txt(self, name: str, value: str) -> None: ...


@dataclass
class CanaryResult:
    at: float
    """Unix time the run started."""
    domain: str
    ok: bool = False
    """The three checks gave the expected verdicts."""
    valid: bool | None = None
    """The right token was valid."""
    rejected: bool | None = None
    """The wrong token was invalid."""
    caa_valid: bool | None = None
    quorum: int | None = None
    passed: int | None = None
    margin: int | None = None
    """Perspectives passed minus quorum required (0: one more failure and issuance stops)."""
    latency_ms: dict[str, float] = field(default_factory=dict)
    """Per perspective: when its answer arrived, from the start of the request."""
    duration_ms: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------- one run
def _dns_change(domain: str, token: str) -> dict[str, Any]:
    return {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": "dns-change", "dns_name_prefix": RECORD_LABEL,
                                     "dns_record_type": "TXT", "challenge_value": token,
                                     "require_exact_match": True}}


def run_once(domain: str, writer: TxtWriter, post: Post, *, clock: Callable[[], float] = time.time) -> CanaryResult:
    """One canary run; never raises (a failure is a result with ``ok`` false and ``error``)."""
    result = CanaryResult(at=clock(), domain=domain)
    started = time.perf_counter()
    try:
        token, wrong = secrets.token_hex(16), secrets.token_hex(16)
        writer.set_txt(f"{RECORD_LABEL}.{domain}", token)
        sent = time.time_ns()
        right = post(_dns_change(domain, token), True)
        result.valid = right.get("is_valid") is True
        params = right.get("actual_orchestration_parameters") or {}
        result.quorum = params.get("quorum_count")
        perspectives = right.get("perspectives") or []
        result.passed = sum(1 for p in perspectives if p["check_response"].get("check_passed"))
        result.margin = None if result.quorum is None else result.passed - result.quorum
        for p in perspectives:
            stamp = p["check_response"].get("timestamp_ns")
            if stamp:
                result.latency_ms[p["perspective_code"]] = round(max(stamp - sent, 0) / 1e6, 1)
        result.rejected = post(_dns_change(domain, wrong), False).get("is_valid") is False
        result.caa_valid = post({"check_type": "caa", "domain_or_ip_target": domain}, False).get("is_valid") is True
        result.ok = bool(result.valid and result.rejected and result.caa_valid)
        if not result.ok:
            failed = [n for n, good in (("right token valid", result.valid), ("wrong token invalid", result.rejected),
                                        ("CAA valid", result.caa_valid)) if not good]
            result.error = "expected " + ", ".join(failed)
    except Exception as exc:  # noqa: BLE001 - every failure is a result the alarms see
        result.ok = False
        result.error = f"{type(exc).__name__}: {exc}"
    result.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return result


# ------------------------------------------------------------------------------------ the HTTP side
def coordinator_post(url: str, api_key: str, ca_file: str | None, timeout: float, resolver: str | None = None) -> Post:
    """POST to ``<url>/v1/mpic`` with the API key (and ``X-MPIC-Await-All`` when asked). ``resolver``:
    resolve the coordinator's name through that DNS server on every request (a lab whose name
    the system resolver does not know); default: the system's resolver."""
    parts = urllib.parse.urlsplit(url.rstrip("/") + "/v1/mpic")
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=ca_file)

    def post(body: dict[str, Any], await_all: bool) -> dict[str, Any]:
        headers = {"content-type": "application/json", "x-api-key": api_key}
        if await_all:
            headers[AWAIT_ALL_HEADER] = "true"
        conn = _Connection(host, port, _address(host, resolver), timeout=timeout, context=context)
        try:
            conn.request("POST", parts.path, body=json.dumps(body).encode(), headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise CanaryError(f"{url}: HTTP {resp.status}: {raw[:200].decode(errors='replace')}")
        return json.loads(raw)

    return post


def _address(host: str, resolver: str | None) -> str:
    if resolver is None:
        return host
    import dns.resolver

    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [resolver]
    return str(r.resolve(host, "A")[0])


class _Connection(http.client.HTTPSConnection):
    """HTTPS to ``address``, with SNI, certificate check and Host header for ``host``."""

    def __init__(self, host: str, port: int, address: str, **kwargs: Any):
        super().__init__(host, port, **kwargs)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------ DNS writers
class Rfc2136Writer:
    """TXT replaced by an RFC 2136 update signed with TSIG (Knot, BIND, PowerDNS, ...)."""

    def __init__(self, settings: CanaryDnsSettings, timeout: float = 10.0):
        import dns.tsigkeyring

        assert settings.server and settings.key_name and settings.key_secret
        self.settings, self.timeout = settings, timeout
        self.keyring = dns.tsigkeyring.from_text({settings.key_name: settings.key_secret.get_secret_value()})

    def set_txt(self, name: str, value: str) -> None:
        import dns.query
        import dns.rcode
        import dns.tsig
        import dns.update

        s = self.settings
        update = dns.update.UpdateMessage(s.zone, keyring=self.keyring, keyname=s.key_name, keyalgorithm=s.algorithm)
        update.replace(name.rstrip(".") + ".", 1, "TXT", f'"{value}"')
        try:
            response = dns.query.tcp(update, s.server, port=s.port, timeout=self.timeout)
        except dns.tsig.PeerError as exc:  # a server refusing the key or the name answers with a TSIG error
            raise CanaryError(f"RFC 2136 update of {name} at {s.server}:{s.port}: refused "
                              f"({type(exc).__name__}: {exc})") from None
        if response.rcode() != dns.rcode.NOERROR:
            raise CanaryError(f"RFC 2136 update of {name} at {s.server}:{s.port}: {dns.rcode.to_text(response.rcode())}")


class Route53Writer:
    """TXT upserted in a Route53 hosted zone (TTL 1), waited for until the change is in sync."""

    def __init__(self, settings: CanaryDnsSettings, client: Any = None):
        if client is None:
            import boto3
            client = boto3.client("route53")
        assert settings.zone_id
        self.client, self.zone_id = client, settings.zone_id

    def set_txt(self, name: str, value: str) -> None:
        change = self.client.change_resource_record_sets(
            HostedZoneId=self.zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": name.rstrip(".") + ".", "Type": "TXT", "TTL": 1, "ResourceRecords": [{"Value": f'"{value}"'}]}}]})
        self.client.get_waiter("resource_record_sets_changed").wait(
            Id=change["ChangeInfo"]["Id"], WaiterConfig={"Delay": 2, "MaxAttempts": 45})


def writer_for(settings: CanaryDnsSettings) -> TxtWriter:
    return Route53Writer(settings) if settings.provider == "route53" else Rfc2136Writer(settings)


# ------------------------------------------------------------------------------------------ sinks
def emf(result: CanaryResult, stack: str) -> dict[str, Any]:
    """The run as one CloudWatch embedded-metric-format record (``Valid``, ``Margin``, ``Runs``,
    ``DurationMs``; per perspective ``LatencyMs``), dimension ``Stack``."""
    metrics = [{"Name": "Valid", "Unit": "Count"}, {"Name": "Runs", "Unit": "Count"},
               {"Name": "DurationMs", "Unit": "Milliseconds"}]
    doc: dict[str, Any] = {"Stack": stack, "Valid": 1 if result.ok else 0, "Runs": 1, "DurationMs": result.duration_ms,
                           "canary": result.to_json()}
    if result.margin is not None:
        metrics.append({"Name": "Margin", "Unit": "Count"})
        doc["Margin"] = result.margin
    doc["_aws"] = {"Timestamp": int(result.at * 1000), "CloudWatchMetrics": [
        {"Namespace": METRIC_NAMESPACE, "Dimensions": [["Stack"]], "Metrics": metrics}]}
    return doc


def prometheus_text(result: CanaryResult, stack: str) -> str:
    """The run in the Prometheus text format (what the Pushgateway stores for the rules)."""
    lines = [
        "# TYPE mpic_canary_ok gauge", f'mpic_canary_ok{{stack="{stack}"}} {1 if result.ok else 0}',
        "# TYPE mpic_canary_last_run_timestamp_seconds gauge",
        f'mpic_canary_last_run_timestamp_seconds{{stack="{stack}"}} {result.at:.3f}',
        "# TYPE mpic_canary_duration_seconds gauge",
        f'mpic_canary_duration_seconds{{stack="{stack}"}} {result.duration_ms / 1000:.3f}',
    ]
    if result.margin is not None:
        lines += ["# TYPE mpic_canary_margin gauge", f'mpic_canary_margin{{stack="{stack}"}} {result.margin}']
    if result.latency_ms:
        lines.append("# TYPE mpic_canary_perspective_latency_seconds gauge")
        lines += [f'mpic_canary_perspective_latency_seconds{{stack="{stack}",perspective="{code}"}} {ms / 1000:.3f}'
                  for code, ms in sorted(result.latency_ms.items())]
    return "\n".join(lines) + "\n"


def publish(result: CanaryResult, sink: CanarySinkSettings, stack: str) -> None:
    if sink.kind == "emf":
        print(json.dumps(emf(result, stack)), flush=True)
    elif sink.kind == "pushgateway":
        assert sink.url
        url = f"{sink.url.rstrip('/')}/metrics/job/{sink.job}/stack/{stack}"
        req = urllib.request.Request(url, data=prometheus_text(result, stack).encode(), method="PUT")
        req.add_header("content-type", "text/plain; version=0.0.4")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10):
            pass
    else:
        assert sink.path
        path = Path(sink.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(result.to_json()) + "\n")


def run(settings: CanarySettings, *, writer: TxtWriter | None = None, post: Post | None = None) -> CanaryResult:
    """One run with the configured writer and coordinator, published to the configured sink."""
    writer = writer or writer_for(settings.dns)
    post = post or coordinator_post(settings.coordinator_url, settings.api_key.get_secret_value(),
                                    str(settings.ca_file) if settings.ca_file else None, settings.timeout,
                                    settings.resolver)
    result = run_once(settings.domain, writer, post)
    publish(result, settings.sink, settings.stack)
    return result
