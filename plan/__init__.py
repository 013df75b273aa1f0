"""Pure planners: a validated stack config in, plans out (no Pulumi, no cloud SDK, no I/O).

- :mod:`plan.runtime` — the ONE renderer of the runtime's settings (coordinator, perspective),
  used by every target; :mod:`plan.resolver` — the one renderer of the perspectives' Unbound;
- :mod:`plan.aws.fleet`, :mod:`plan.aws.cloud_init` — the AWS targets (network slots, names, cloud-init);
- :mod:`plan.k8s.fleet`, :mod:`plan.k8s.objects` — the Kubernetes target's objects;
- :mod:`plan.local` — the local fleet's topology (namespaces, addresses, ports, WAN delays);
- :mod:`plan.pki` — the kit CA's policy; :mod:`plan.prices` — the dated price table;
- :mod:`plan.artifacts` — the built runtime artifacts and the check that they match the sources;
- :mod:`plan.suggest` — the best compliant region set (``mpic suggest``): request and answer
  (:mod:`plan.suggest.model`), refusals (:mod:`plan.suggest.checks`), the exact search
  (:mod:`plan.suggest.search`, :mod:`plan.suggest.band`), the closest compliant set to a config
  (:mod:`plan.suggest.repair`); :mod:`plan.geo_features` — a fleet as GeoJSON.

May import :mod:`config` only.
"""
