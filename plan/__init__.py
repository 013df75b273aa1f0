"""Pure planners: a validated stack config in, plans out (no Pulumi, no cloud SDK, no I/O).

- :mod:`plan.runtime` — the ONE renderer of the runtime's settings (coordinator, perspective),
  used by every target; :mod:`plan.resolver` — the one renderer of the perspectives' Unbound;
- :mod:`plan.aws` — the AWS targets (network slots, names, settings, cloud-init, the canary);
- :mod:`plan.k8s` — the Kubernetes target (clusters, objects, the audit shipper, the canary);
- :mod:`plan.local` — the local fleet's topology (namespaces, addresses, ports, WAN delays);
- :mod:`plan.pki` — the kit CA's policy; :mod:`plan.prices` — the cost estimate over
  :mod:`plan.price_table` (AWS list prices per service and region, dated) and the usage of
  :mod:`plan.usage`; :mod:`plan.cost_diff` — the cost difference of two plans;
- :mod:`plan.artifacts` — what the built runtime artifacts are called and which each target deploys
  (reading and checking ``dist/`` is :mod:`artifacts.dist`); :mod:`plan.manifest` — the fleet
  manifest every target records for the policy pack;
- :mod:`plan.suggest` — the best compliant region set (``mpic suggest``): request and answer
  (:mod:`plan.suggest.model`), refusals (:mod:`plan.suggest.checks`), the exact search
  (:mod:`plan.suggest.search`, :mod:`plan.suggest.band`), the closest compliant set to a config
  (:mod:`plan.suggest.repair`); :mod:`plan.geo_features` — a fleet as GeoJSON.

May import :mod:`config` only.
"""
