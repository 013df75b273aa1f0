"""Cloud-init rendered and validated: YAML, the runtime's own settings models (with real
certificates of a kit CA), Unbound's own config checker, shell and Python syntax."""

from __future__ import annotations

import configparser
import py_compile
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from plan.aws import fleet as planners
from plan.aws import cloud_init
from local.pki import LocalCa
from service.settings import CoordinatorSettings, PerspectiveSettings
from tests.aws.conftest import fleet


SOURCE = planners.WheelhouseSource(bucket="mpic-runtime-0123", region="us-east-1", prefix="runtime/0123456789abcdef",
                                   files=("mpic_fleet_runtime-0.1.0-py3-none-any.whl", "requirements.txt"))


def _perspective_doc():
    f = fleet(aws={"caaDomains": ["ca.example"]})
    p = planners.plan_hosts(f).perspectives[1]
    settings = planners.host_perspective_settings(f, p)
    text = cloud_init.perspective_cloud_init(region=p.code, settings=settings, ssm_prefix=p.ssm_prefix,
                                             runtime=SOURCE, health_port=f.aws.health_port,
                                             audit_group="/mpic/lab/audit")
    return f, p, text


def _files(text: str) -> dict[str, str]:
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    return {f["path"]: f["content"] for f in doc["write_files"]}


def _relocate(settings: dict, root: Path, ca: LocalCa, role: str) -> dict:
    """The settings file with its /etc/mpic paths moved under ``root`` and real PEM files there."""
    tls = root / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    if role == "perspective":
        cert, key = ca.issue_server("persp", dns_names=["localhost"])
    else:
        cert, key = ca.issue_client("coordinator")
    out = yaml.safe_load(yaml.safe_dump(settings).replace(planners.ETC, str(root)))
    names = ("server.crt", "server.key") if role == "perspective" else ("client.crt", "client.key")
    shutil.copy(cert, tls / names[0])
    shutil.copy(key, tls / names[1])
    shutil.copy(ca.cert_path, tls / "ca.crt")
    return out


def test_perspective_cloud_init_installs_runtime_and_own_resolver(tmp_path):
    f, p, text = _perspective_doc()
    doc = yaml.safe_load(text)
    assert {"python3.11", "unbound"} <= set(doc["packages"])
    install = ["/opt/mpic/bin/pip", "install", "--no-index", "--require-hashes", "--no-cache-dir", "--find-links",
               "/opt/mpic-wheelhouse", "-r", "/opt/mpic-wheelhouse/requirements.txt"]
    assert doc["runcmd"][:3] == [["/usr/local/sbin/mpic-fetch-runtime"], ["python3.11", "-m", "venv", "/opt/mpic"], install]
    runtime = _files(text)["/usr/local/sbin/mpic-fetch-runtime"]
    assert "aws s3 cp --only-show-errors --region us-east-1 " \
           "s3://mpic-runtime-0123/runtime/0123456789abcdef/requirements.txt /opt/mpic-wheelhouse/requirements.txt" in runtime
    assert "pip install mpic" not in text and "pypi" not in text.lower()  # never a public index at boot
    assert ["systemctl", "enable", "--now", "unbound", "mpic-perspective", "mpic-health-relay"] in doc["runcmd"]
    files = _files(text)
    settings = yaml.safe_load(files["/etc/mpic/perspective.yaml"])
    assert settings["code"] == "eu-west-1" and settings["rir"] == "RIPE NCC"
    assert settings["resolver"] == {"nameservers": ["127.0.0.1"], "port": 53}
    assert settings["listen_port"] == 8443 and settings["caa_domains"] == ["ca.example"]
    assert "DNS=127.0.0.1" in files["/etc/systemd/resolved.conf.d/mpic.conf"]
    fetch = files["/usr/local/sbin/mpic-fetch-secrets"]
    assert "--region eu-west-1" in fetch and f"{p.ssm_prefix}/tls-key" in fetch and "--with-decryption" in fetch
    # least privilege: the key is the runtime user's alone, written under umask 077
    assert "umask 077" in fetch and "chown mpic:mpic /etc/mpic/tls/server.key && chmod 0600" in fetch
    assert "chown root:mpic /etc/mpic/tls/server.crt && chmod 0640" in fetch
    unit = configparser.ConfigParser(strict=False)
    unit.read_string(files["/etc/systemd/system/mpic-perspective.service"])
    assert unit["Service"]["ExecStart"].endswith("-m service perspective --settings /etc/mpic/perspective.yaml")
    assert unit["Service"]["User"] == "mpic"


def test_host_perspective_settings_load_in_the_runtime(tmp_path):
    _, _, text = _perspective_doc()
    ca = LocalCa.load_or_create(tmp_path / "pki")
    raw = _relocate(yaml.safe_load(_files(text)["/etc/mpic/perspective.yaml"]), tmp_path / "etc", ca, "perspective")
    s = PerspectiveSettings(**raw)
    s.require_listener()
    assert s.effective_rir.value == "RIPE NCC" and s.resolver.nameservers == ["127.0.0.1"]


def test_host_coordinator_settings_load_in_the_runtime(tmp_path, monkeypatch):
    f = fleet()
    plan = planners.plan_hosts(f)
    targets = [{"code": p.code, "rir": p.rir, "url": planners.perspective_url(f"{p.code}.elb.test", 8443)}
               for p in plan.perspectives]
    settings = planners.host_coordinator_settings(f, targets)
    text = cloud_init.coordinator_cloud_init(region="us-east-1", settings=settings,
                                             ssm_prefix=plan.coordinators[0].ssm_prefix,
                                             secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x",
                                             runtime=SOURCE, audit_group="/mpic/lab/audit")
    files = _files(text)
    fetch = files["/usr/local/sbin/mpic-fetch-secrets"]
    assert "secretsmanager get-secret-value --region us-east-1 --secret-id" in fetch
    ca = LocalCa.load_or_create(tmp_path / "pki")
    raw = _relocate(yaml.safe_load(files["/etc/mpic/coordinator.yaml"]), tmp_path / "etc", ca, "coordinator")
    (tmp_path / "etc" / "api-keys").write_text("k1\n# comment\nk2\n")
    monkeypatch.setenv("MPIC_HASH_SECRET", "s" * 32)
    s = CoordinatorSettings(**raw)
    assert s.all_api_keys() == ["k1", "k2"] and s.tls is None and s.listen_port == 8080
    assert s.default_perspective_count == 5 and s.max_attempts == 2 and len(s.perspectives) == 5
    assert s.perspectives[0].url == "https://us-west-2.elb.test:8443"
    assert s.default_quorum_count is None and "default_quorum_count" not in raw  # mpic:quorum unset: core default
    strict = planners.host_coordinator_settings(fleet(quorum=5), targets)  # mpic:quorum 5 of 5
    assert strict["default_quorum_count"] == 5
    text = cloud_init.coordinator_cloud_init(region="us-east-1", settings=strict, ssm_prefix=plan.coordinators[0].ssm_prefix,
                                             secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x",
                                             runtime=SOURCE, audit_group="/mpic/lab/audit")
    raw = _relocate(yaml.safe_load(_files(text)["/etc/mpic/coordinator.yaml"]), tmp_path / "etc", ca, "coordinator")
    assert CoordinatorSettings(**raw).default_quorum_count == 5


@pytest.mark.skipif(shutil.which("unbound-checkconf") is None, reason="unbound-checkconf not installed")
def test_unbound_config_passes_unbound_checkconf(tmp_path):
    conf = _files(_perspective_doc()[2])["/etc/unbound/unbound.conf"]
    assert "forward-zone" not in conf and "auto-trust-anchor-file" in conf
    anchor = tmp_path / "root.key"
    anchor.write_text(". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n")
    path = tmp_path / "unbound.conf"
    local = f'server:\n    username: ""\n    chroot: ""\n    directory: "{tmp_path}"\n'
    path.write_text(conf.replace("/var/lib/unbound/root.key", str(anchor)) + local)
    out = subprocess.run(["unbound-checkconf", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_scripts_are_valid_shell_and_python(tmp_path):
    files = _files(_perspective_doc()[2])
    for name in ("mpic-fetch-secrets", "mpic-fetch-runtime"):
        script = tmp_path / f"{name}.sh"
        script.write_text(files[f"/usr/local/sbin/{name}"])
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    relay = tmp_path / "relay.py"
    relay.write_text(files["/usr/local/bin/mpic-health-relay"])
    py_compile.compile(str(relay), doraise=True)
    assert "/readyz" in files["/usr/local/bin/mpic-health-relay"]


def _ini(text: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(text)
    return unit


def test_hosts_write_the_audit_to_a_file_the_cloudwatch_agent_ships(tmp_path):
    import json

    from plan.audit import AGENT_CONFIG, HOST_AUDIT_FILE

    f, p, text = _perspective_doc()
    doc, files = yaml.safe_load(text), _files(text)
    assert "amazon-cloudwatch-agent" in doc["packages"]
    settings = yaml.safe_load(files["/etc/mpic/perspective.yaml"])
    assert settings["audit_log"] == HOST_AUDIT_FILE and settings["audit_site"] == p.code
    agent = json.loads(files[AGENT_CONFIG])
    [collected] = agent["logs"]["logs_collected"]["files"]["collect_list"]
    assert collected == {"file_path": HOST_AUDIT_FILE, "log_group_name": "/mpic/lab/audit",
                         "log_stream_name": f"{p.code}--{{instance_id}}", "retention_in_days": -1}
    assert agent["logs"]["force_flush_interval"] == 1
    # the replica name and the agent come before the runtime's first line
    start = doc["runcmd"].index(["systemctl", "enable", "--now", "unbound", "mpic-perspective", "mpic-health-relay"])
    assert doc["runcmd"].index(["/usr/local/sbin/mpic-audit-env"]) < start
    assert doc["runcmd"].index(["/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl", "-a", "fetch-config",
                                "-m", "ec2", "-s", "-c", f"file:{AGENT_CONFIG}"]) < start
    unit = files["/etc/systemd/system/mpic-perspective.service"]
    assert "After=amazon-cloudwatch-agent.service" in unit  # stopped before the agent: the last lines leave
    service = _ini(unit)["Service"]
    assert service["LogsDirectory"] == "mpic" and service["EnvironmentFile"] == "/etc/mpic/audit.env"
    relay = _ini(files["/etc/systemd/system/mpic-health-relay.service"])["Service"]
    assert "LogsDirectory" not in relay  # the relay writes no audit
    script = tmp_path / "audit-env.sh"
    script.write_text(files["/usr/local/sbin/mpic-audit-env"])
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "X-aws-ec2-metadata-token" in script.read_text()  # IMDSv2 only


def test_each_coordinator_site_writes_under_its_own_name():
    f = fleet()
    plan = planners.plan_hosts(f)
    for site in ("primary", "standby"):
        settings = planners.host_coordinator_settings(f, [], site)
        text = cloud_init.coordinator_cloud_init(region="us-east-1", settings=settings,
                                                 ssm_prefix=plan.coordinators[0].ssm_prefix,
                                                 secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:x",
                                                 runtime=SOURCE, audit_group="/mpic/lab/audit")
        files = _files(text)
        assert yaml.safe_load(files["/etc/mpic/coordinator.yaml"])["audit_site"] == site
        assert f'"log_stream_name": "{site}--{{instance_id}}"' in files[
            "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"]
        assert "EnvironmentFile=/etc/mpic/audit.env" in files["/etc/systemd/system/mpic-coordinator.service"]
