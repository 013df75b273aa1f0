"""The local fleet: a real Open MPIC deployment in network namespaces on one machine.

Layout (see ``docs/local-fleet.md``):

- :mod:`scripts.fleet.plan` — pure topology planner (names, addresses, ports, WAN delays);
- :mod:`scripts.fleet.state` — the JSON state file written as things are created;
- :mod:`scripts.fleet.proc` / :mod:`scripts.fleet.netns` — processes and namespaces;
- :mod:`scripts.fleet.dns` — Knot (fake root, TLDs, test zones, DNSSEC) and Unbound configs;
- :mod:`scripts.fleet.lb` — HAProxy and nginx configs;
- :mod:`scripts.fleet.relay` — the user-space WAN-delay relay;
- :mod:`scripts.fleet.fleet` — ``up`` / ``down`` / ``status``;
- :mod:`scripts.fleet.challenges` / :mod:`scripts.fleet.faults` — ``mpic challenge`` / ``mpic fault``.
"""
