"""Settings: file + env (env wins), and every fail-fast rule with its message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.__main__ import main
from service.settings import CoordinatorSettings, PerspectiveSettings, SettingsError, load_settings
from tests.service.conftest import Env

ROOT = Path(__file__).resolve().parents[2]


def coordinator_dict(env: Env, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "api_keys": ["k1"], "hash_secret": "s", "default_perspective_count": 3, "br_as_of": "2026-03-15",
        "client_tls": {"cert": str(env.pki.client[0]), "key": str(env.pki.client[1]), "ca": str(env.pki.ca.cert_path)},
        "perspectives": [{"code": "us-east-1", "url": "https://10.0.0.1:8443"},
                         {"code": "eu-west-1", "url": "https://10.0.0.2:8443"},
                         {"code": "ap-northeast-1", "url": "https://10.0.0.3:8443"}],
    }
    data.update(kw)
    return data


def perspective_dict(env: Env, **kw: Any) -> dict[str, Any]:
    cert, key = env.pki.server("settings-p", "127.0.0.1")
    data: dict[str, Any] = {
        "code": "eu-west-1", "listen_host": "127.0.0.1", "listen_port": 9443,
        "tls": {"cert": str(cert), "key": str(key), "client_ca": str(env.pki.ca.cert_path)},
        "resolver": {"nameservers": ["127.0.0.53"], "port": 53},
    }
    data.update(kw)
    return data


def write(tmp_path: Path, data: Any, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_perspective_from_file_with_defaults(env: Env, tmp_path: Path) -> None:
    s = load_settings(PerspectiveSettings, write(tmp_path, perspective_dict(env)))
    assert s.effective_rir.value == "RIPE NCC"
    assert (s.verify_ssl, s.proxy_url, s.audit_log, s.resolver.port, s.resolver.timeout) == (True, None, "-", 53, 2.0)
    assert (s.allowed_clients, s.allowed_reserved_networks, s.max_body_bytes) == (
        ["mpic-coordinator-client"], [], 1_048_576)
    c = load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env), "c.yaml"))
    assert (c.internal_listen_host, c.internal_listen_port, c.allow_cohort_selection) == ("127.0.0.1", 9090, False)


def test_env_wins_over_the_file(env: Env, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("MPIC_LISTEN_PORT", "9555")
    monkeypatch.setenv("MPIC_RESOLVER__PORT", "5353")
    monkeypatch.setenv("MPIC_CAA_DOMAINS", '["ca.example"]')
    s = load_settings(PerspectiveSettings, write(tmp_path, perspective_dict(env)))
    assert s.listen_port == 9555 and s.resolver.port == 5353 and s.resolver.nameservers == ["127.0.0.53"]
    assert s.caa_domains == ["ca.example"]


def test_coordinator_from_env_only(env: Env, monkeypatch: Any) -> None:
    import json

    for k, v in coordinator_dict(env).items():
        monkeypatch.setenv(f"MPIC_{k.upper()}", v if isinstance(v, str) else json.dumps(v))
    s = load_settings(CoordinatorSettings, None)
    assert s.all_api_keys() == ["k1"] and s.perspectives_by_rir() == {"APNIC": 1, "ARIN": 1, "RIPE NCC": 1}


def test_api_keys_file_merges_with_the_list(env: Env, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# rotation\nnew-key\n\n  old-key  \n")
    s = CoordinatorSettings(**coordinator_dict(env, api_keys_file=str(keys)))
    assert s.all_api_keys() == ["k1", "new-key", "old-key"]
    s = CoordinatorSettings(**coordinator_dict(env, api_keys=[]))
    with pytest.raises(SettingsError, match="api_keys: none configured"):
        s.require_api_keys()


COORDINATOR_ERRORS = [
    ({"hash_secret": None}, "hash_secret: missing"),
    ({"hash_secret": ""}, "hash_secret: missing"),
    ({"default_perspective_count": 4}, "default_perspective_count: 4 but 3 perspectives"),
    ({"default_perspective_count": 1}, "use 2..3"),
    ({"perspectives": [{"code": "us-east-1", "url": "https://a:1"}, {"code": "us-west-2", "url": "https://b:1"}],
      "default_perspective_count": 2}, "all in ARIN"),
    ({"perspectives": [{"code": "mars-1", "url": "https://a:1"}, {"code": "eu-west-1", "url": "https://b:1"}],
      "default_perspective_count": 2}, "unknown perspective code 'mars-1'"),
    ({"perspectives": [{"code": "us-east-1", "rir": "APNIC", "url": "https://a:1"},
                       {"code": "eu-west-1", "url": "https://b:1"}], "default_perspective_count": 2},
     "contradicts the catalog"),
    ({"perspectives": [{"code": "us-east-1", "url": "http://a:1"}, {"code": "eu-west-1", "url": "https://b:1"}],
      "default_perspective_count": 2}, "authenticated and encrypted"),
    ({"perspectives": [{"code": "us-east-1"}, {"code": "eu-west-1", "url": "https://b:1"}],
      "default_perspective_count": 2}, "exactly one of url or function_arn"),
    ({"perspectives": [{"code": "us-east-1", "url": "https://a:1"}, {"code": "us-east-1", "url": "https://b:1"},
                       {"code": "eu-west-1", "url": "https://c:1"}]}, "listed twice"),
    ({"client_tls": None}, "client_tls: missing"),
    ({"client_tls": {"cert": "/nonexistent.crt", "key": "/nonexistent.key", "ca": "/nonexistent.ca"}},
     "client_tls.cert: Path does not point to a file"),
    ({"perspectives": [{"code": "us-east-1", "url": "https://a:1", "too_close_codes": ["eu-west-1"]},
                       {"code": "eu-west-1", "url": "https://b:1", "too_close_codes": ["us-east-1"]},
                       {"code": "us-west-2", "url": "https://c:1", "too_close_codes": ["eu-west-1"]}]},
     "no cohort of 3"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"default_quorum_count": 4}, "default_quorum_count: 4 but default_perspective_count is 3"),
    ({"default_quorum_count": 1}, "default_quorum_count: 1 of 3 lets 2 perspectives fail; BR 3.2.2.9 allows 1"),
    ({"default_quorum_count": 0}, "default_quorum_count: Input should be greater than or equal to 1"),
    ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    # BR 3.2.2.9 as of the date: EJBCA's requests carry no parameters, so the default must comply
    ({"br_as_of": "2026-06-15"}, "default_perspective_count: 3 but BR 3.2.2.9 requires 4 remote perspectives as "
                                 "of 2026-06-15 (5 from 2026-12-15); add 1 perspective(s) in other regions and set "
                                 "default_perspective_count: 4"),
    ({"br_as_of": "2026-12-15", "default_perspective_count": 2}, "requires 5 remote perspectives as of 2026-12-15;"),
    ({"br_as_of": "not-a-date"}, "br_as_of"),
    ({"internal_listen_port": 8080}, "internal_listen_port: 8080 is also listen_port"),
    ({"internal_listen_port": 0}, "internal_listen_port"),
]


def test_default_quorum_count_accepts_the_br_range(env: Env, tmp_path: Path, monkeypatch: Any) -> None:
    assert CoordinatorSettings(**coordinator_dict(env)).default_quorum_count is None
    for quorum in (2, 3):  # 3 perspectives: BR minimum 2 .. all 3
        s = load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env, default_quorum_count=quorum)))
        assert s.default_quorum_count == quorum
    monkeypatch.setenv("MPIC_DEFAULT_QUORUM_COUNT", "3")  # the Lambda coordinator gets it this way
    assert load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env))).default_quorum_count == 3


def test_br_minimum_quorum_is_the_compliance_rule() -> None:
    """The runtime's copy of the BR 3.2.2.9 table (its images ship no config.compliance) is the
    table the config-time rules R3/R4 use, and the quorum the core applies by default."""
    import datetime as dt

    from config import compliance
    from open_mpic_core import MpicCoordinator
    from service import rules
    from service.settings import br_minimum_quorum

    sizes = range(0, 31)
    assert rules.MIN_REMOTE_PHASES == compliance.MIN_REMOTE_PHASES
    assert [rules.allowed_non_corroborations(n) for n in sizes] == [compliance.allowed_non_corroborations(n)
                                                                     for n in sizes]
    assert [br_minimum_quorum(n) for n in sizes] == [compliance.required_quorum(n) for n in sizes]
    assert [br_minimum_quorum(n) for n in range(2, 31)] == [
        MpicCoordinator.determine_required_quorum_count(None, n) for n in range(2, 31)]
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=d) for d in range(0, 800, 7)]
    assert [rules.min_remote_perspectives(d) for d in days] == [compliance.min_remote_perspectives(d) for d in days]


def test_the_copies_of_the_evidence_rules_agree() -> None:
    """The runtime's copies (its images ship no config/ and no plan/): the Random Value floor and
    the name of a perspective's certificate."""
    from config import br
    from config.model import StackConfig
    from plan.pki import perspective_cert_name
    from service import challenge, identity

    assert challenge.RANDOM_VALUE_MIN_CHARS == br.RANDOM_VALUE_MIN_CHARS == 19
    assert StackConfig.model_fields["min_challenge_length"].default == br.RANDOM_VALUE_MIN_CHARS
    assert [identity.cert_name(c) for c in ("us-east-1", "my-dc")] == [perspective_cert_name(c)
                                                                        for c in ("us-east-1", "my-dc")]


def test_the_br_date_defaults_to_today(env: Env, tmp_path: Path) -> None:
    from service import rules

    minimum = rules.min_perspective_count(rules.today_utc())
    with pytest.raises(SettingsError, match=f"as of {rules.today_utc().isoformat()}"):
        load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env, br_as_of=None,
                                                                            default_perspective_count=minimum - 1)))


@pytest.mark.parametrize("change,message", COORDINATOR_ERRORS)
def test_coordinator_misconfiguration_fails_fast(env: Env, tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env, **change)))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_certificate_content_is_reported(env: Env, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    tls = {"cert": str(junk), "key": str(junk), "ca": str(junk)}
    with pytest.raises(SettingsError, match="client_tls: cannot load certificate"):
        load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env, client_tls=tls)))
    tls = {"cert": str(env.pki.client[0]), "key": str(env.pki.client[1]), "ca": str(junk)}
    with pytest.raises(SettingsError, match="client_tls.ca: cannot load CA certificate"):
        load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env, client_tls=tls)))
    with pytest.raises(SettingsError, match="tls: cannot load certificate"):
        load_settings(CoordinatorSettings, write(tmp_path, coordinator_dict(env, tls={"cert": str(junk), "key": str(junk)})))


PERSPECTIVE_ERRORS = [
    ({"code": "nowhere-9"}, "unknown perspective code 'nowhere-9'"),
    ({"resolver": {"nameservers": ["dns.example"]}}, "is not an IP address"),
    ({"resolver": {"nameservers": []}}, "resolver.nameservers"),
    ({"resolver": None}, "resolver"),
    ({"proxy_url": "socks5://x:1"}, "proxy_url"),
    ({"listen_port": 0}, "listen_port"),
    ({"allowed_clients": []}, "allowed_clients"),
    ({"allowed_clients": [" "]}, "an empty name"),
    ({"allowed_reserved_networks": ["10.1.2.3/24"]}, "not a network in CIDR notation"),
    ({"allowed_reserved_networks": ["0.0.0.0/0"]}, "every reserved address"),
    ({"max_body_bytes": 10}, "max_body_bytes"),
]


@pytest.mark.parametrize("change,message", PERSPECTIVE_ERRORS)
def test_perspective_misconfiguration_fails_fast(env: Env, tmp_path: Path, change: dict[str, Any], message: str) -> None:
    data = perspective_dict(env, **change)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(SettingsError, match=message):
        load_settings(PerspectiveSettings, write(tmp_path, data))


def test_custom_site_with_explicit_rir(env: Env) -> None:
    s = PerspectiveSettings(**perspective_dict(env, code="dc-frankfurt", rir="RIPE NCC"))
    assert s.effective_rir.value == "RIPE NCC"


def test_listener_requires_tls(env: Env) -> None:
    data = perspective_dict(env)
    del data["tls"]
    with pytest.raises(SettingsError, match="mutual TLS"):
        PerspectiveSettings(**data).require_listener()


@pytest.mark.parametrize("content,message", [
    ("a: [unclosed", "not valid YAML"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_file_problems(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(PerspectiveSettings, write(tmp_path, content))
    with pytest.raises(SettingsError, match="No such file"):
        load_settings(PerspectiveSettings, tmp_path / "absent.yaml")


def test_main_exits_2_with_one_line(env: Env, tmp_path: Path, capsys: Any) -> None:
    path = write(tmp_path, coordinator_dict(env, hash_secret=None))
    assert main(["coordinator", "--settings", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mpic-service: error: settings ") and "hash_secret: missing" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["perspective", "--settings", str(write(tmp_path, {"code": "x"}, "p.yaml"))]) == 2
    data = perspective_dict(env)
    del data["tls"]
    assert main(["perspective", "--settings", str(write(tmp_path, data, "p2.yaml"))]) == 2
    assert "mutual TLS" in capsys.readouterr().err


def test_main_check_mode(env: Env, tmp_path: Path, capsys: Any) -> None:
    assert main(["coordinator", "--check", "--settings", str(write(tmp_path, coordinator_dict(env)))]) == 0
    assert main(["perspective", "--check", "--settings", str(write(tmp_path, perspective_dict(env), "p.yaml"))]) == 0
    assert "settings OK" in capsys.readouterr().err


def test_real_process_exit_code_2(env: Env, tmp_path: Path) -> None:
    path = write(tmp_path, coordinator_dict(env, default_perspective_count=9))
    proc = subprocess.run([sys.executable, "-m", "service", "coordinator", "--settings", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "default_perspective_count: 9 but 3 perspectives" in proc.stderr


def test_example_settings_files_are_valid(env: Env, tmp_path: Path) -> None:
    examples = ROOT / "service" / "examples"
    p = yaml.safe_load((examples / "perspective.yaml").read_text())
    cert, key = env.pki.server("example-p", "10.0.1.10")
    p["tls"] = {"cert": str(cert), "key": str(key), "client_ca": str(env.pki.ca.cert_path)}
    p["audit_log"] = str(tmp_path / "p.jsonl")
    assert load_settings(PerspectiveSettings, write(tmp_path, p, "p.yaml")).effective_rir.value == "RIPE NCC"
    c = yaml.safe_load((examples / "coordinator.yaml").read_text())
    keys = tmp_path / "keys"
    keys.write_text("k\n")
    c["api_keys_file"] = str(keys)
    c["client_tls"] = {"cert": str(env.pki.client[0]), "key": str(env.pki.client[1]), "ca": str(env.pki.ca.cert_path)}
    s = load_settings(CoordinatorSettings, write(tmp_path, c, "c.yaml"))
    assert len(s.perspectives_by_rir()) == 5 and s.all_api_keys() == ["k"]
