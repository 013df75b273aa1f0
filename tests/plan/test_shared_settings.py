"""One stack, four targets: the runtime settings they render agree on everything the stack decides."""

from __future__ import annotations

import json

import yaml

from config.model import StackConfig
from plan.aws import fleet as planners
from plan.k8s import fleet as k8s_plan
from plan import runtime
from plan.local import plan_from_config

PERSPECTIVES = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]
K8S = {"hubEgressCidrs": ["198.51.100.16/28"], "perspectiveDomain": "p.example.net",
       "image": "ghcr.io/example-ca/mpic-fleet:0.1.0"}
CANARY = {"dns": {"server": "192.0.2.53", "zone": "fleet-test.example"}}
"""k8s: where the canary writes its TXT (required with the canary on, as it is by default)."""
SHARED_COORDINATOR = ("default_perspective_count", "max_attempts", "perspective_timeout", "early_quorum",
                      "default_quorum_count")


def fleet(target: str, **keys) -> StackConfig:
    raw = {"target": target, "perspectives": PERSPECTIVES, "maxAttempts": 2, "quorum": 5, "earlyQuorum": False,
           "perspectiveTimeoutMs": 2500, "proxy": {"eu-west-1": "http://proxy.ca.example:3128"}, "k8s": K8S, "canary": CANARY,
           **keys}
    return StackConfig.from_config(raw, name="same")


def _env_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def test_every_target_renders_the_same_behaviour():
    """local, aws-hosts (cloud-init), aws-lambda (environment), k8s (ConfigMap): same cohort, quorum,
    attempts, timeout, early quorum and per-perspective proxy."""
    hosts = planners.host_coordinator_settings(fleet("aws-hosts"), [])
    lam_plan = planners.plan_lambda(fleet("aws-lambda"))
    lam_env = planners.LambdaCoordinatorEnv(fleet("aws-lambda"), lam_plan.perspectives).fill(
        function_arns=[f"arn:aws:lambda:{p.code}:0:function:p" for p in lam_plan.perspectives], api_keys=["k"],
        hash_secret="h")
    lam = {k.removeprefix("MPIC_").lower(): _env_value(v) for k, v in lam_env.items()}
    k8s = yaml.safe_load(k8s_plan.plan_fleet(fleet("k8s")).coordinators[0].objects["settings"]["data"]["settings.yaml"])
    local_cfg = fleet("local")
    local = runtime.coordinator_settings(local_cfg, listen_host="127.0.0.1", listen_port=8001, perspectives=[],
                                         client_tls=None)
    expected = {"default_perspective_count": 5, "max_attempts": 2, "perspective_timeout": 2.5,
                "early_quorum": False, "default_quorum_count": 5}
    for name, doc in (("aws-hosts", hosts), ("aws-lambda", lam), ("k8s", k8s), ("local", local)):
        assert {k: doc.get(k) for k in SHARED_COORDINATOR} == expected, name
    persp = {
        "aws-hosts": planners.host_perspective_settings(fleet("aws-hosts"), planners.plan_hosts(fleet("aws-hosts")).perspectives[1]),
        "aws-lambda": {k.removeprefix("MPIC_").lower(): _env_value(v) for k, v in planners.lambda_perspective_env(
            fleet("aws-lambda"), planners.plan_lambda(fleet("aws-lambda")).perspectives[1]).items()},
        "k8s": yaml.safe_load(k8s_plan.plan_fleet(fleet("k8s")).perspectives[1].objects["settings"]["data"]["settings.yaml"]),
        "local": runtime.perspective_settings(local_cfg, "eu-west-1", "RIPE NCC", resolver={"nameservers": ["127.0.0.1"]}),
    }
    for name, doc in persp.items():
        assert (doc["code"], doc.get("proxy_url")) == ("eu-west-1", "http://proxy.ca.example:3128"), name
    other = runtime.perspective_settings(local_cfg, "us-west-2", "ARIN", resolver={"nameservers": ["127.0.0.1"]})
    assert "proxy_url" not in other  # the map names eu-west-1 only
    assert plan_from_config(local_cfg).regions[1].code == "eu-west-1"


def test_defaults_are_production_behaviour():
    cfg = StackConfig.from_config({"perspectives": PERSPECTIVES})
    assert runtime.behaviour(cfg) == {"default_perspective_count": 5, "max_attempts": 1, "perspective_timeout": 5.0,
                                      "early_quorum": True, "caa_allow_lookup_failure": False,
                                      "min_challenge_length": 19}
    one = StackConfig.from_config({"perspectives": PERSPECTIVES, "proxy": "https://proxy:3128"})
    assert all(one.proxy_for(c) == "https://proxy:3128" for c in PERSPECTIVES)
