"""Cloud-init of the hosts (pure: plain values in, ``#cloud-config`` text out).

A perspective host installs the runtime from the built wheelhouse (``./scripts/mpic build``,
uploaded to the kit's private S3 bucket: ``pip install --no-index --require-hashes``) and its region's own validating Unbound
resolver (full recursion from the region, DNSSEC on, no forwarders, no shared cache), points the
OS resolver at it, fetches its TLS material from SSM Parameter Store (its instance role can read
only its own parameters) and starts ``python -m service perspective`` plus a local /readyz relay
for the load balancer's health checks (the mTLS listener cannot be probed without a client cert).

A coordinator host fetches its client certificate from SSM and its API keys and hash secret from
Secrets Manager, then starts ``python -m service coordinator`` (plain HTTP behind the ALB).

Both write their audit lines to :data:`plan.audit.HOST_AUDIT_FILE` as the writer ``<site>--<instance
id>`` (the instance id from IMDSv2, in ``/etc/mpic/audit.env``); the CloudWatch agent (an OS
package) ships each line to the region's audit log group within a second of its write
(docs/audit.md), so an instance the group replaces leaves its records behind in CloudWatch.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml

from plan.audit import AGENT_CONFIG, agent_config
from plan.aws.fleet import ETC, RUNTIME_DIR, WHEELHOUSE_DIR, WheelhouseSource
from plan.resolver import UnboundPlacement, unbound_conf
from plan.runtime import AUDIT_REPLICA_ENV, HASH_SECRET_ENV

UNBOUND_CONF = unbound_conf(UnboundPlacement(interfaces=("127.0.0.1@53",), threads=2,
                                             auto_trust_anchor_file="/var/lib/unbound/root.key"))
"""The perspective's own recursive resolver: validating, local only, no forward zones."""

RESOLVED_DROPIN = """[Resolve]
DNS=127.0.0.1
Domains=~.
DNSSEC=no
"""
"""OS lookups (HTTP checks use getaddrinfo) go through the same regional Unbound."""

HEALTH_RELAY = '''#!/usr/bin/env python3
"""GET /readyz on HEALTH_PORT -> the perspective's mTLS /readyz (load balancer health checks)."""
import http.server, ssl, sys, urllib.request

PORT, TARGET = int(sys.argv[1]), sys.argv[2]
CTX = ssl.create_default_context(cafile="{etc}/tls/ca.crt")
CTX.check_hostname = False
CTX.load_cert_chain("{etc}/tls/server.crt", "{etc}/tls/server.key")


class Relay(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/readyz":
            self.send_response(404)
            self.end_headers()
            return
        try:
            with urllib.request.urlopen(TARGET + "/readyz", context=CTX, timeout=4) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except OSError as exc:
            status, body = 503, str(exc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Relay).serve_forever()
'''.format(etc=ETC)


AGENT_UNIT = "amazon-cloudwatch-agent.service"
AUDIT_ENV = f"{ETC}/audit.env"
"""``MPIC_AUDIT_REPLICA=<instance id>`` (:data:`plan.runtime.AUDIT_REPLICA_ENV`): the writer's replica in
every audit line (from IMDSv2 at boot)."""
AUDIT_ENV_SCRIPT = f"""#!/bin/bash
set -euo pipefail
token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
id=$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
umask 022
echo "{AUDIT_REPLICA_ENV}=$id" > {AUDIT_ENV}
"""


def _unit(description: str, exec_start: str, after: str = "network-online.target",
          env_file: str | None = None, audit: bool = False) -> str:
    lines = ["[Unit]", f"Description={description}", f"After={after}", f"Wants={after}", "",
             "[Service]", "Type=simple", f"ExecStart={exec_start}", "Restart=always", "RestartSec=2",
             "User=mpic", "Group=mpic", "NoNewPrivileges=true", "ProtectSystem=strict", "ProtectHome=true",
             "PrivateTmp=true", "Environment=HTTP_PROXY= HTTPS_PROXY= NO_PROXY="]
    if audit:  # /var/log/mpic, the audit file's folder: the service's own (ProtectSystem leaves it writable)
        lines += ["LogsDirectory=mpic", "LogsDirectoryMode=0750", f"EnvironmentFile={AUDIT_ENV}"]
        # Started after the agent, so stopped before it: at shutdown the agent ships the last lines.
        lines.insert(4, f"After={AGENT_UNIT}")
    if env_file:
        lines.append(f"EnvironmentFile={env_file}")
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def _fetch_parameters(region: str, files: dict[str, str]) -> str:
    """Shell that writes each SSM SecureString parameter to its file: a private key 0600 owned by
    ``mpic`` (the runtime's user reads it, no one else), a certificate 0640 root:mpic; written
    under umask 077 so no key is ever readable by others, even for an instant."""
    out = ["#!/bin/bash", "set -euo pipefail", "umask 077", f"install -d -m 0750 -o root -g mpic {ETC}/tls"]
    for path, param in files.items():
        out.append(f"aws ssm get-parameter --region {shlex.quote(region)} --with-decryption "
                   f"--name {shlex.quote(param)} --query Parameter.Value --output text > {shlex.quote(path)}")
        owner, mode = ("mpic:mpic", "0600") if path.endswith(".key") else ("root:mpic", "0640")
        out.append(f"chown {owner} {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}")
    return "\n".join(out) + "\n"


def _document(write_files: list[dict[str, Any]], runcmd: list[Any], packages: list[str]) -> str:
    doc = {
        "package_update": True,
        "packages": packages,
        "users": ["default", {"name": "mpic", "system": True, "shell": "/sbin/nologin"}],
        "write_files": write_files,
        "runcmd": runcmd,
    }
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False, width=1000)


def _fetch_runtime(source: WheelhouseSource) -> str:
    """Shell that copies the built wheelhouse from the kit's S3 bucket (the role may read only
    its prefix) into :data:`WHEELHOUSE_DIR`."""
    out = ["#!/bin/bash", "set -euo pipefail", f"install -d -m 0755 {WHEELHOUSE_DIR}"]
    for name in source.files:
        out.append(f"aws s3 cp --only-show-errors --region {shlex.quote(source.region)} "
                   f"{shlex.quote(f's3://{source.bucket}/{source.prefix}/{name}')} {shlex.quote(f'{WHEELHOUSE_DIR}/{name}')}")
    return "\n".join(out) + "\n"


def _install_runtime() -> list[Any]:
    """The runtime exactly as built: no index, every file pinned by its sha256."""
    return [["/usr/local/sbin/mpic-fetch-runtime"],
            ["python3.11", "-m", "venv", RUNTIME_DIR],
            [f"{RUNTIME_DIR}/bin/pip", "install", "--no-index", "--require-hashes", "--no-cache-dir",
             "--find-links", WHEELHOUSE_DIR, "-r", f"{WHEELHOUSE_DIR}/requirements.txt"]]


def _runtime_file(source: WheelhouseSource) -> dict[str, Any]:
    return {"path": "/usr/local/sbin/mpic-fetch-runtime", "permissions": "0700", "content": _fetch_runtime(source)}


def _audit_files(group: str, site: str) -> list[dict[str, Any]]:
    """The instance-id script and the CloudWatch agent's configuration (the audit file, shipped)."""
    return [{"path": "/usr/local/sbin/mpic-audit-env", "permissions": "0700", "content": AUDIT_ENV_SCRIPT},
            {"path": AGENT_CONFIG, "permissions": "0644", "content": json.dumps(agent_config(group, site), indent=1)}]


AUDIT_RUNCMD: list[Any] = [
    ["/usr/local/sbin/mpic-audit-env"],
    ["/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl", "-a", "fetch-config", "-m", "ec2", "-s",
     "-c", f"file:{AGENT_CONFIG}"],
]
"""Before the runtime starts: its replica name, then the agent (it ships lines from the first one on)."""


def perspective_cloud_init(*, region: str, settings: dict[str, Any], ssm_prefix: str, runtime: WheelhouseSource,
                           health_port: int, audit_group: str) -> str:
    """The ``#cloud-config`` of a perspective host in ``region``."""
    port = settings["listen_port"]
    fetch = _fetch_parameters(region, {
        f"{ETC}/tls/server.crt": f"{ssm_prefix}/tls-cert",
        f"{ETC}/tls/server.key": f"{ssm_prefix}/tls-key",
        f"{ETC}/tls/ca.crt": f"{ssm_prefix}/ca-cert",
    })
    files = [
        {"path": "/etc/unbound/unbound.conf", "permissions": "0644", "content": UNBOUND_CONF},
        {"path": "/etc/systemd/resolved.conf.d/mpic.conf", "permissions": "0644", "content": RESOLVED_DROPIN},
        {"path": f"{ETC}/perspective.yaml", "permissions": "0644",
         "content": yaml.safe_dump(settings, sort_keys=False)},
        {"path": "/usr/local/sbin/mpic-fetch-secrets", "permissions": "0700", "content": fetch},
        _runtime_file(runtime),
        {"path": "/usr/local/bin/mpic-health-relay", "permissions": "0755", "content": HEALTH_RELAY},
        {"path": "/etc/systemd/system/mpic-perspective.service", "permissions": "0644",
         "content": _unit("MPIC perspective " + settings["code"],
                          f"{RUNTIME_DIR}/bin/python -m service perspective --settings {ETC}/perspective.yaml",
                          after="unbound.service", audit=True)},
        *_audit_files(audit_group, settings["audit_site"]),
        {"path": "/etc/systemd/system/mpic-health-relay.service", "permissions": "0644",
         "content": _unit("MPIC /readyz relay for the load balancer",
                          f"/usr/bin/python3 /usr/local/bin/mpic-health-relay {health_port} https://127.0.0.1:{port}",
                          after="mpic-perspective.service")},
    ]
    runcmd: list[Any] = [
        *_install_runtime(),
        ["/usr/local/sbin/mpic-fetch-secrets"],
        *AUDIT_RUNCMD,
        ["sh", "-c", "unbound-anchor -a /var/lib/unbound/root.key || true"],
        ["systemctl", "restart", "systemd-resolved"],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "unbound", "mpic-perspective", "mpic-health-relay"],
    ]
    return _document(files, runcmd, ["python3.11", "python3.11-pip", "unbound", "amazon-cloudwatch-agent"])


def coordinator_cloud_init(*, region: str, settings: dict[str, Any], ssm_prefix: str, secret_arn: str,
                           runtime: WheelhouseSource, audit_group: str) -> str:
    """The ``#cloud-config`` of a coordinator host in ``region``."""
    fetch = _fetch_parameters(region, {
        f"{ETC}/tls/client.crt": f"{ssm_prefix}/tls-cert",
        f"{ETC}/tls/client.key": f"{ssm_prefix}/tls-key",
        f"{ETC}/tls/ca.crt": f"{ssm_prefix}/ca-cert",
    })
    fetch += (f"aws secretsmanager get-secret-value --region {shlex.quote(region)} --secret-id {shlex.quote(secret_arn)} "
              f"--query SecretString --output text | python3 -c '{_SPLIT_SECRET}'\n")
    files = [
        {"path": f"{ETC}/coordinator.yaml", "permissions": "0644",
         "content": yaml.safe_dump(settings, sort_keys=False)},
        {"path": "/usr/local/sbin/mpic-fetch-secrets", "permissions": "0700", "content": fetch},
        _runtime_file(runtime),
        {"path": "/etc/systemd/system/mpic-coordinator.service", "permissions": "0644",
         "content": _unit("MPIC coordinator",
                          f"{RUNTIME_DIR}/bin/python -m service coordinator --settings {ETC}/coordinator.yaml",
                          env_file=f"{ETC}/coordinator.env", audit=True)},
        *_audit_files(audit_group, settings["audit_site"]),
    ]
    runcmd: list[Any] = [
        *_install_runtime(),
        ["/usr/local/sbin/mpic-fetch-secrets"],
        *AUDIT_RUNCMD,
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "mpic-coordinator"],
    ]
    return _document(files, runcmd, ["python3.11", "python3.11-pip", "amazon-cloudwatch-agent"])


_SPLIT_SECRET = (
    "import json, os, sys; s = json.load(sys.stdin); "
    f"open(\"{ETC}/api-keys\", \"w\").write(chr(10).join(s[\"api_keys\"]) + chr(10)); "
    f"open(\"{ETC}/coordinator.env\", \"w\").write(\"{HASH_SECRET_ENV}=\" + s[\"hash_secret\"] + chr(10)); "
    f"[os.chmod(p, 0o640) or os.system(\"chown root:mpic \" + p) for p in (\"{ETC}/api-keys\", \"{ETC}/coordinator.env\")]"
)
