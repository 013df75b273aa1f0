"""The local fleet: a real Open MPIC deployment in network namespaces on one machine.

It carries out the topology planned by :mod:`plan.local` with real processes (see
``docs/local-fleet.md``):

- :mod:`local.lifecycle` — ``up`` / ``down`` / ``status`` (passes :func:`config.gate.compliance_gate` first);
- :mod:`local.state` — the JSON state file, written as things are created;
- :mod:`local.proc`, :mod:`local.supervisor`, :mod:`local.netns` — processes and namespaces;
- :mod:`local.certs`, :mod:`local.pki` — the kit CA (same policy as the Pulumi component);
- :mod:`local.dns` — Knot (fake root, TLDs, test zones, DNSSEC) and the regions' Unbound;
- :mod:`local.web` — the mini-internet's nginx; :mod:`local.lb` — HAProxy configs;
- :mod:`local.region`, :mod:`local.coordinator` — perspective regions and the coordinator site;
- :mod:`local.relay` — the user-space WAN-delay relay;
- :mod:`local.challenges` / :mod:`local.faults` — ``mpic challenge`` / ``mpic fault``;
- :mod:`local.client` — HTTP clients (curl in a namespace, the coordinator's API).
"""
